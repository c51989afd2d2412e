import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { EPOCH_PATTERN } from '../model/wire.js';
import type { ClusterKeys } from './keys.js';
import { ClusterDataError } from './remote-state.js';

/**
 * The namespace's epoch, made by the first node to find none (an empty Redis, or one
 * restarted without its data, begins a new lifetime of every symbol).
 */
export async function namespaceEpoch(redis: Redis, keys: ClusterKeys): Promise<string> {
  await redis.set(keys.epoch, randomBytes(6).toString('base64url'), 'NX');
  const epoch = await redis.get(keys.epoch);
  if (epoch === null || !EPOCH_PATTERN.test(epoch)) throw new ClusterDataError(keys.epoch, `holds ${JSON.stringify(epoch)}, not an epoch (${EPOCH_PATTERN})`);
  return epoch;
}
