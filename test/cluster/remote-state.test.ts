import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { readTop } from '../../src/cluster/remote-state.js';
import { patchMessage, snapshotMessage } from '../../src/model/wire.js';
import { RedisServer } from '../helpers/redis-server.js';

/**
 * Reading a symbol's top version while an ingest publishes: the meta hash and the stream are
 * read one after the other, so a version published in between is in the stream but not in
 * the seq read (the soak through Redis met it). Written here by hand in that state.
 */

const EPOCH = 'e1';
const SYMBOL = 'XAUUSD';
const document = { symbol: SYMBOL, sources: ['json'], quote: { bid: 1, ask: 2 }, bars: {}, fields: {} };

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await RedisServer.start();
  redis = new Redis(server.url);
});
afterAll(async () => {
  await redis.quit();
  await server.close();
});

async function namespace(prefix: string, metaSeq: number, streamSeqs: number): Promise<ClusterKeys> {
  const keys = new ClusterKeys(prefix);
  await redis.hset(keys.meta(SYMBOL), 'epoch', EPOCH, 'seq', metaSeq, 'node', 'test');
  await redis.xadd(keys.log(SYMBOL), '1-0', 'm', snapshotMessage(JSON.stringify(SYMBOL), EPOCH, 1, JSON.stringify(document)));
  for (let seq = 2; seq <= streamSeqs; seq++)
    await redis.xadd(keys.log(SYMBOL), `${seq}-0`, 'm', patchMessage(SYMBOL, EPOCH, seq, seq - 1, [{ op: 'replace', path: '/quote/bid', value: seq }]));
  return keys;
}

describe('the top version of a symbol in Redis', () => {
  it('is the stream’s when a version was published after the meta hash was read', async () => {
    const top = await readTop(redis, await namespace('r1', 2, 3), SYMBOL, 1_000_000);
    expect(top).toMatchObject({ epoch: EPOCH, seq: 3, document: { quote: { bid: 3 } } });
  });

  it('is bad data when the stream is behind the meta hash', async () => {
    await expect(readTop(redis, await namespace('r2', 4, 3), SYMBOL, 1_000_000)).rejects.toThrow(
      /r2:\{XAUUSD\}:meta: says version 4, the document and stream give 3/,
    );
  });
});
