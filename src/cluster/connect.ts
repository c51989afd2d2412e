import { Redis } from 'ioredis';
import { defineScripts } from './scripts.js';

/** Reconnect delays: doubling from 100 ms, at most 5 s. */
function reconnectDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 6), 5000);
}

/**
 * A connection to `url` (`redis://` or `rediss://`, credentials in the URL) that reconnects
 * with backoff for ever. Commands made while it is down fail at once instead of queueing
 * (enableOfflineQueue off): what they were for is caught up on reconnect, and a queue would
 * grow without bound through an outage. The caller attaches its error handler at once.
 */
export function openRedis(url: string, name: string): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelay,
    connectTimeout: 5000,
  });
  defineScripts(redis);
  return redis;
}
