import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publisherOptionsOf } from '../../src/app/cluster.js';
import { resolveConfig } from '../../src/app/config.js';
import { openRedis } from '../../src/cluster/connect.js';
import { clusterCounters } from '../../src/cluster/counters.js';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { ClusterPublisher } from '../../src/cluster/publisher.js';
import { readTop } from '../../src/cluster/remote-state.js';
import type { PatchOperation } from '../../src/model/patch.js';
import { Contribution } from '../../src/state/contribution.js';
import { Store } from '../../src/state/store.js';
import { LogCapture } from '../helpers/bridge.js';
import { RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

/** What an ingest writes for commits made faster than Redis answers: every version still rebuilds the ingest's document. */

const SYMBOL = 'EURUSD';
const T0 = 1_763_640_000_000;
const CONFIG = resolveConfig({ port: 0, sources: [] });

let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await RedisServer.start();
  redis = openRedis(server.url, 'publisher-test');
  redis.on('error', () => undefined);
});
afterAll(async () => {
  await redis.quit();
  await server.close();
});

const opsOf = (message: string): PatchOperation[] => (JSON.parse(message) as { ops: PatchOperation[] }).ops;

/** A store fed by ticks of SYMBOL, and a publisher of it to namespace `prefix`. */
async function ingest(prefix: string) {
  const store = new Store({ journalSize: 64, epoch: 'local' });
  const ticks = new Contribution('mt5-ticks', 'auto', { M1: 5 });
  store.setContribution(SYMBOL, 'f', ticks);
  const keys = new ClusterKeys(prefix);
  const counters = clusterCounters();
  const publisher = new ClusterPublisher(redis, keys, store, new LogCapture('warn').logger, publisherOptionsOf(CONFIG, 'ingest-t'), counters);
  await publisher.synced;
  let time = T0;
  /** `count` commits in this turn, each a tick that moves the quote. */
  const commit = (count: number): void => {
    for (let i = 0; i < count; i++) {
      time += 1000;
      ticks.applyTick({ time, bid: 1 + time / 1e13, ask: 2 + time / 1e13 });
      store.commit(SYMBOL);
    }
  };
  const topDocument = async (): Promise<unknown> => (await readTop(redis, keys, SYMBOL, publisherOptionsOf(CONFIG, 'ingest-t').limits))?.document;
  return { store, keys, counters, publisher, commit, topDocument };
}

describe('ClusterPublisher', () => {
  it("sends the commits of one turn as one version of each commit's ops in order, and more than 8 of them as their diff", async () => {
    const { store, keys, counters, publisher, commit, topDocument } = await ingest('pub1');
    const commitOps: PatchOperation[][] = [];
    store.onCommit((event) => commitOps.push([...(event.ops ?? [])]));
    const lastVersion = async (): Promise<{ seq: number; ops: PatchOperation[] }> => {
      const [entry] = await redis.xrevrange(keys.log(SYMBOL), '+', '-', 'COUNT', 1);
      const message = entry?.[1][1] ?? '';
      return { seq: (JSON.parse(message) as { seq: number }).seq, ops: opsOf(message) };
    };

    commit(1);
    await waitFor('the whole document', () => counters.published.value === 1);
    commitOps.length = 0;
    commit(3);
    await waitFor('the three commits', () => counters.published.value === 2);
    expect(await lastVersion()).toEqual({ seq: 2, ops: commitOps.flat() });
    expect(await topDocument()).toEqual(store.get(SYMBOL)?.document);

    commitOps.length = 0;
    commit(9);
    await waitFor('the nine commits', () => counters.published.value === 3);
    const diffed = await lastVersion();
    expect(diffed.seq).toBe(3);
    // Nine quote replaces and bar changes, against the one quote and bar the diff ends at.
    expect(diffed.ops.length).toBeLessThan(commitOps.flat().length);
    expect(await topDocument()).toEqual(store.get(SYMBOL)?.document);
    expect(counters.publishErrors.value).toBe(0);
    await publisher.close();
  });

  it('goes on when Redis lost its script cache (SCRIPT FLUSH): the version refused with NOSCRIPT is sent again', async () => {
    const { store, counters, publisher, commit, topDocument } = await ingest('pub2');
    commit(1);
    await waitFor('the whole document', () => counters.published.value === 1);
    await redis.script('FLUSH');
    commit(2);
    await waitFor('the refusal', () => counters.publishErrors.value > 0);
    await waitFor('the next version', () => counters.published.value === 2);
    expect(await topDocument()).toEqual(store.get(SYMBOL)?.document);
    commit(1);
    await waitFor('one more', () => counters.published.value === 3);
    expect(await topDocument()).toEqual(store.get(SYMBOL)?.document);
    await publisher.close();
  });
});
