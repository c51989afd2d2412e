import { createHash } from 'node:crypto';
import type { ChainableCommander, Redis, Result } from 'ioredis';
import type { SymbolKeys } from './keys.js';

/**
 * One version of one symbol, atomically: checked against the writer's lease and the top
 * version, then the meta hash bumped, the message appended to the capped stream, the document
 * stored when given, and the message published. A `reset` (a whole document) starts the
 * symbol's history at seq 1 of a new epoch, or continues it in the same one.
 *
 * KEYS: meta, log, doc, lease. ARGV: node, epoch, seq, message, document ('' for none),
 * stream length, channel, kind ('patch' or 'reset').
 * Answers {'OK'}, {'NOTOWNER', owner}, or {'STALE', epoch, seq} (the top version held).
 */
const PUBLISH = `
local owner = redis.call('GET', KEYS[4])
if owner ~= ARGV[1] then return {'NOTOWNER', owner or ''} end
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
local seq = tonumber(ARGV[3])
local same = meta[1] == ARGV[2]
if ARGV[8] == 'patch' or same then
  if not same or tonumber(meta[2]) ~= seq - 1 then return {'STALE', meta[1] or '', meta[2] or '0'} end
else
  if seq ~= 1 then return {'STALE', meta[1] or '', meta[2] or '0'} end
  redis.call('DEL', KEYS[2], KEYS[3])
end
redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'seq', seq, 'node', ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], seq .. '-0', 'm', ARGV[4])
if ARGV[5] ~= '' then redis.call('SET', KEYS[3], ARGV[5]) end
redis.call('PUBLISH', ARGV[7], ARGV[4])
return {'OK'}
`;

/** PUBLISH is sent by its SHA1 alone (EVALSHA), once loadPublish put it in Redis's script cache. */
const PUBLISH_SHA = createHash('sha1').update(PUBLISH).digest('hex');

/**
 * Loads PUBLISH into Redis's script cache: before the first version on each connection (Redis
 * may have restarted empty), and again after a NOSCRIPT reply (someone ran SCRIPT FLUSH).
 */
export async function loadPublish(redis: Redis): Promise<void> {
  await redis.script('LOAD', PUBLISH);
}

/** What PUBLISH takes besides the symbol's keys. */
export interface PublishArgs {
  readonly node: string;
  readonly epoch: string;
  readonly seq: number;
  readonly message: string;
  /** '' for none. */
  readonly document: string;
  readonly streamLength: number;
  readonly kind: 'patch' | 'reset';
}

/**
 * Queues one version on `pipeline`, as EVALSHA: the hot path of an ingest, one per symbol and
 * turn, so it skips the wrapper a defined command adds (its own promise and NOSCRIPT retry).
 * A reply NOSCRIPT means nothing was written.
 */
export function queuePublish(pipeline: ChainableCommander, keys: SymbolKeys, args: PublishArgs): void {
  pipeline.evalsha(
    PUBLISH_SHA,
    4,
    keys.meta,
    keys.log,
    keys.doc,
    keys.lease,
    args.node,
    args.epoch,
    args.seq,
    args.message,
    args.document,
    args.streamLength,
    keys.channel,
    args.kind,
  );
}

/** Takes or renews the lease (KEYS: lease; ARGV: node, ms): 1 when this node holds it now, else 0. */
const LEASE = `
local owner = redis.call('GET', KEYS[1])
if owner == false or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

/** Gives the lease up if this node holds it (KEYS: lease; ARGV: node): a standby takes over at once. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tbLease(lease: string, node: string, ms: number): Result<number, Context>;
    tbRelease(lease: string, node: string): Result<number, Context>;
  }
}

/** Defines the scripts as commands (ioredis sends EVALSHA, and the script again after NOSCRIPT). */
export function defineScripts(redis: Redis): void {
  redis.defineCommand('tbLease', { numberOfKeys: 1, lua: LEASE });
  redis.defineCommand('tbRelease', { numberOfKeys: 1, lua: RELEASE });
}
