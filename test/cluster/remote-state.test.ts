import { describe, expect, it } from 'vitest';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { readTop } from '../../src/cluster/remote-state.js';
import { patchMessage, snapshotMessage } from '../../src/model/wire.js';
import { redisForTests } from '../helpers/redis-server.js';

/**
 * Reading a symbol's top version while an ingest publishes: the meta hash and the stream are
 * read one after the other, so a version published in between is in the stream but not in
 * the seq read (the soak through Redis met it). Written here by hand in that state.
 */

const EPOCH = 'e1';
const SYMBOL = 'XAUUSD';
const document = { symbol: SYMBOL, sources: ['json'], quote: { bid: 1, ask: 2 }, bars: {}, fields: {} };

const LIMITS = { maxBytes: 1_000_000, maxEntries: 10 };

const local = redisForTests();

async function namespace(prefix: string, metaSeq: number, streamSeqs: number): Promise<ClusterKeys> {
  const keys = new ClusterKeys(prefix);
  await local.redis.hset(keys.meta(SYMBOL), 'epoch', EPOCH, 'seq', metaSeq, 'node', 'test');
  await local.redis.xadd(keys.log(SYMBOL), '1-0', 'm', snapshotMessage(JSON.stringify(SYMBOL), EPOCH, 1, JSON.stringify(document)));
  for (let seq = 2; seq <= streamSeqs; seq++)
    await local.redis.xadd(keys.log(SYMBOL), `${seq}-0`, 'm', patchMessage(SYMBOL, EPOCH, seq, seq - 1, [{ op: 'replace', path: '/quote/bid', value: seq }]));
  return keys;
}

describe('the top version of a symbol in Redis', () => {
  it('is the stream’s when a version was published after the meta hash was read', async () => {
    const top = await readTop(local.redis, await namespace('r1', 2, 3), SYMBOL, LIMITS);
    expect(top).toMatchObject({ epoch: EPOCH, seq: 3, document: { quote: { bid: 3 } } });
  });

  it('is bad data when the stream is behind the meta hash', async () => {
    await expect(readTop(local.redis, await namespace('r2', 4, 3), SYMBOL, LIMITS)).rejects.toThrow(
      /r2:\{XAUUSD\}:meta: says version 4, the document and stream give 3/,
    );
  });

  it('is bad data, naming the key, when what is stored does not add up', async () => {
    const stored = await namespace('r3', 3, 3);
    await local.redis.set(stored.doc(SYMBOL), '{"seq": 2, "data": ');
    await expect(readTop(local.redis, stored, SYMBOL, LIMITS)).rejects.toThrow(/^r3:\{XAUUSD\}:doc: not JSON/);

    const misnumbered = await namespace('r4', 3, 2);
    await local.redis.xadd(misnumbered.log(SYMBOL), '7-0', 'm', patchMessage(SYMBOL, EPOCH, 3, 2, [{ op: 'replace', path: '/quote/bid', value: 3 }]));
    await expect(readTop(local.redis, misnumbered, SYMBOL, LIMITS)).rejects.toThrow(/^r4:\{XAUUSD\}:log 7-0: entry id does not match its seq 3/);

    const gap = await namespace('r5', 4, 2);
    await local.redis.xadd(gap.log(SYMBOL), '4-0', 'm', patchMessage(SYMBOL, EPOCH, 4, 3, [{ op: 'replace', path: '/quote/bid', value: 4 }]));
    await expect(readTop(local.redis, gap, SYMBOL, LIMITS)).rejects.toThrow(/^r5:\{XAUUSD\}:log: has no version 3 \(next is 4\)/);

    const long = await namespace('r6', 12, 12);
    await expect(readTop(local.redis, long, SYMBOL, LIMITS)).rejects.toThrow(/^r6:\{XAUUSD\}:log: holds more than 10 entries/);
  });
});
