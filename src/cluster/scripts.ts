import type { Redis, Result } from 'ioredis';

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
    tbPublish(meta: string, log: string, doc: string, lease: string, ...args: (string | number)[]): Result<string[], Context>;
    tbLease(lease: string, node: string, ms: number): Result<number, Context>;
    tbRelease(lease: string, node: string): Result<number, Context>;
  }
}

/** Defines the scripts as commands (ioredis sends EVALSHA, and the script again after NOSCRIPT). */
export function defineScripts(redis: Redis): void {
  redis.defineCommand('tbPublish', { numberOfKeys: 4, lua: PUBLISH });
  redis.defineCommand('tbLease', { numberOfKeys: 1, lua: LEASE });
  redis.defineCommand('tbRelease', { numberOfKeys: 1, lua: RELEASE });
}
