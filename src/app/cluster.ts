import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { ClusterKeys } from '../cluster/keys.js';
import { openRedis } from '../cluster/connect.js';
import type { ClusterCounters } from '../cluster/counters.js';
import { ClusterMirror } from '../cluster/mirror.js';
import { CursorLog } from '../cluster/cursor-log.js';
import { ClusterPublisher, type PublisherOptions } from '../cluster/publisher.js';
import type { RemoteLimits } from '../cluster/remote-state.js';
import type { ComponentHealth } from '../core/health.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../state/store.js';
import type { RelayedResume } from '../model/wire.js';
import type { Config } from './config.js';

/** What a node is in the cluster (PROTOCOL.md §7): an ingest reads files and publishes, an edge serves what is published. */
export type ClusterRole = 'ingest' | 'edge';

/** The role `config` gives: none without cluster.redis; an edge when no folder is watched. */
export function clusterRoleOf(config: Config): ClusterRole | null {
  if (config.cluster.redis === null) return null;
  return config.sources.length === 0 ? 'edge' : 'ingest';
}

/** cluster.nodeId, else this host's name with a random suffix (two nodes on one host stay apart). */
export function nodeIdOf(config: Config): string {
  if (config.cluster.nodeId !== null) return config.cluster.nodeId;
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .slice(0, 48) || 'node';
  return `${host}-${randomBytes(3).toString('hex')}`;
}

/** Versions each symbol's stream keeps: what a client may resume from, and at least two stored documents apart. */
function streamLengthOf(config: Config): number {
  return Math.max(config.journal.size, 2 * config.cluster.documentEvery);
}

/** What a node takes from Redis at most. */
function limitsOf(config: Config): RemoteLimits {
  // Trimming is approximate (MAXLEN ~): Redis keeps up to a radix node more, 100 entries by default.
  return { maxBytes: config.cluster.maxMessageBytes, maxEntries: 2 * streamLengthOf(config) + 1000 };
}

/** How an ingest node named `node` publishes, as `config` says. */
export function publisherOptionsOf(config: Config, node: string): PublisherOptions {
  return { node, leaseMs: config.cluster.leaseMs, streamLength: streamLengthOf(config), documentEvery: config.cluster.documentEvery, limits: limitsOf(config) };
}

/** A node's part in the cluster, running. */
export interface ClusterNode {
  readonly role: ClusterRole;
  /** Resolves once the node reached Redis the first time: an edge has read every symbol, an ingest holds its leases. */
  readonly synced: Promise<void>;
  health(): ComponentHealth;
  /** What the client of another edge's SSE cursor holds (an edge; an ingest resolves none). */
  resolveCursor(id: string): Promise<RelayedResume | null>;
  /** Publishes what is pending (ingest), stops, and closes the connections. Memoised. */
  close(): Promise<void>;
}

/** Who a node is: its role, its id, and (an edge) the scope of its SSE cursors (Hub cursorScope). */
export interface ClusterIdentity {
  readonly role: ClusterRole;
  readonly node: string;
  readonly cursorScope: string | null;
}

/**
 * Joins the cluster `config.cluster` names: an ingest publishes the store's commits, an edge's
 * store follows Redis and logs its commit order for its SSE cursors. Connections reconnect by
 * themselves; until they do, health says so.
 */
export function joinCluster(
  config: Config,
  { role, node, cursorScope }: ClusterIdentity,
  store: Store,
  logger: Logger,
  counters: ClusterCounters,
): ClusterNode {
  const url = config.cluster.redis as string;
  const keys = new ClusterKeys(config.cluster.prefix);
  const redis = openRedis(url, `tapebridge:${node}`);
  const connections: Redis[] = [redis];
  let part: ClusterPublisher | ClusterMirror;
  let cursors: CursorLog | null = null;
  if (role === 'ingest') {
    part = new ClusterPublisher(redis, keys, store, logger, publisherOptionsOf(config, node), counters);
  } else {
    const subscriber = openRedis(url, `tapebridge:${node}:sub`);
    connections.push(subscriber);
    const limits = limitsOf(config);
    const maxSymbols = config.document.maxSymbols;
    part = new ClusterMirror(redis, subscriber, keys, store, logger, { limits, maxSymbols }, counters);
    cursors = new CursorLog(redis, keys, store, logger, { scope: cursorScope ?? node, limits, maxSymbols }, counters);
  }
  let closing: Promise<void> | null = null;
  return {
    role,
    synced: part.synced,
    health: () => ({ ...part.health(), node }),
    resolveCursor: (id) => cursors?.resolve(id) ?? Promise.resolve(null),
    close: () =>
      (closing ??= Promise.resolve(cursors?.close())
        .then(() => part.close())
        .finally(() => Promise.all(connections.map((connection) => connection.quit().catch(() => connection.disconnect()))))
        .then(() => undefined)),
  };
}
