import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/app/config.js';
import { ClusterKeys } from '../../src/cluster/keys.js';
import type { PatchOperation } from '../../src/model/patch.js';
import { patchMessage, snapshotMessage } from '../../src/model/wire.js';
import { LogCapture, startConfiguredBridge } from '../helpers/bridge.js';
import { getJson, WsClient } from '../helpers/clients.js';
import { redisForTests } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

/**
 * An edge node against a namespace this test writes by hand, the way ingest nodes write it
 * (scripts.ts): versions missed on the channel are filled from the stream, a gap the stream
 * no longer holds becomes a fresh snapshot, and bad data is reported with its key and skipped.
 */

const EPOCH = 'e1';
const SYMBOL = 'XAUUSD';

const local = redisForTests();
let prefixes = 0;

/** A namespace as an ingest leaves it: the epoch, the symbol, and version `seq` of it. */
class Namespace {
  readonly keys = new ClusterKeys(`m${++prefixes}`);
  seq = 0;
  document: Record<string, unknown> = { symbol: SYMBOL, sources: ['json'], quote: { bid: 1, ask: 2 }, bars: {}, fields: {} };

  async create(): Promise<void> {
    await local.redis.set(this.keys.epoch, EPOCH);
    await local.redis.sadd(this.keys.symbols, SYMBOL);
    this.seq = 1;
    await this.#write(snapshotMessage(JSON.stringify(SYMBOL), EPOCH, 1, JSON.stringify(this.document)), true);
  }

  /** The next version: the bid moves to `bid`; published on the channel unless `silent`. */
  async next(bid: number, { silent = false, storeDocument = false } = {}): Promise<void> {
    const ops: PatchOperation[] = [{ op: 'replace', path: '/quote/bid', value: bid }];
    this.document = { ...this.document, quote: { ...(this.document.quote as object), bid } };
    this.seq++;
    await this.#write(patchMessage(SYMBOL, EPOCH, this.seq, this.seq - 1, ops), !silent, storeDocument);
  }

  async #write(message: string, publish: boolean, storeDocument = false): Promise<void> {
    await local.redis.hset(this.keys.meta(SYMBOL), 'epoch', EPOCH, 'seq', this.seq, 'node', 'test');
    await local.redis.xadd(this.keys.log(SYMBOL), `${this.seq}-0`, 'm', message);
    if (storeDocument) await local.redis.set(this.keys.doc(SYMBOL), JSON.stringify({ seq: this.seq, data: this.document }));
    if (publish) await local.redis.publish(this.keys.channel(SYMBOL), message);
  }
}

const logs = new LogCapture('warn');
afterEach(() => void logs.lines.splice(0));

async function edgeOf(namespace: Namespace): Promise<{ url: string; client: WsClient }> {
  const edge = await startConfiguredBridge(resolveConfig({ port: 0, cluster: { redis: local.url, prefix: namespace.keys.prefix, nodeId: 'edge-t' } }), {
    logger: logs.logger,
  });
  const client = await WsClient.connect(edge.url);
  client.subscribe([SYMBOL]);
  await waitFor('the snapshot', () => client.document(SYMBOL));
  return { url: edge.url, client };
}

const bidOf = (client: WsClient): unknown => (client.document(SYMBOL)?.data as { quote: { bid: number } } | undefined)?.quote.bid;

describe('an edge node following a namespace', () => {
  it('fills a gap on the channel from the stream before applying what follows it, with no snapshot', async () => {
    const namespace = new Namespace();
    await namespace.create();
    const { url, client } = await edgeOf(namespace);
    await namespace.next(3, { silent: true });
    await namespace.next(4, { silent: true });
    await namespace.next(5);
    await waitFor('version 4 applied', () => client.document(SYMBOL)?.seq === 4);
    expect(client.of('patch').map((message) => message.seq)).toEqual([2, 3, 4]);
    expect(client.of('snapshot')).toHaveLength(1);
    expect(bidOf(client)).toBe(5);
    const body = (await getJson<{ seq: number; data: unknown }>(`${url}/v1/symbols/${SYMBOL}`)).body;
    expect(body).toMatchObject({ seq: 4, data: namespace.document });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^tapebridge_cluster_gaps_filled_total 1$/m);
  });

  it('a gap the stream no longer holds becomes a fresh snapshot, of the stored document, and the patches after it', async () => {
    const namespace = new Namespace();
    await namespace.create();
    const { client } = await edgeOf(namespace);
    await namespace.next(3, { silent: true });
    await namespace.next(4, { silent: true, storeDocument: true });
    // The stream was trimmed past version 2: only the stored document (3) and what follows it remain.
    await local.redis.xtrim(namespace.keys.log(SYMBOL), 'MINID', '4-0');
    await namespace.next(6);
    await waitFor('the top version', () => client.document(SYMBOL)?.seq === 4);
    // The snapshot is of the stored document, and the stream's versions after it follow as patches.
    expect(client.of('snapshot').map((message) => message.seq)).toEqual([1, 3]);
    expect(client.of('patch').map((message) => message.seq)).toEqual([4]);
    expect(bidOf(client)).toBe(6);
    expect(client.mirror.violations).toEqual([]);
  });

  it('bad data on the channel and in the stream is logged with its key and skipped; the symbol goes on', async () => {
    const namespace = new Namespace();
    await namespace.create();
    const { client } = await edgeOf(namespace);
    const channel = namespace.keys.channel(SYMBOL);
    await local.redis.publish(channel, 'not json');
    await local.redis.publish(channel, JSON.stringify({ type: 'patch', symbol: 'OTHER', epoch: EPOCH, seq: 2, base: 1, ops: [] }));
    await local.redis.publish(
      channel,
      JSON.stringify({ type: 'patch', symbol: SYMBOL, epoch: EPOCH, seq: 2, base: 1, ops: [{ op: 'move', from: '/a', path: '/b' }] }),
    );
    await waitFor('three errors', () => logs.lines.filter((line) => line.event === 'cluster_bad_data').length >= 3);
    const reasons = logs.lines.filter((line) => line.event === 'cluster_bad_data').map((line) => line.reason as string);
    expect(reasons[0]).toMatch(new RegExp(`^channel ${channel}: not JSON`));
    expect(reasons[1]).toMatch(/names symbol "OTHER"/);
    expect(reasons[2]).toMatch(/op 0 is not an add, remove or replace/);
    // A patch that does not apply to the document held: reported, then the stream's top is read.
    await local.redis.publish(channel, patchMessage(SYMBOL, EPOCH, 2, 1, [{ op: 'replace', path: '/quote/nothing', value: 1 }]));
    await waitFor('the bad patch reported', () => logs.lines.some((line) => String(line.reason).includes('version 2 does not apply')));
    await namespace.next(7);
    await waitFor('the next good version', () => bidOf(client) === 7);
    expect(client.mirror.violations).toEqual([]);
  });

  it('a namespace listing more symbols than document.maxSymbols is reported, and no more than that mirrored', async () => {
    const namespace = new Namespace();
    await namespace.create();
    // Names that hold no data: only the count matters.
    await local.redis.sadd(namespace.keys.symbols, 'ZZ1', 'ZZ2', 'ZZ3');
    const config = resolveConfig({ port: 0, document: { maxSymbols: 2 }, cluster: { redis: local.url, prefix: namespace.keys.prefix, nodeId: 'edge-t' } });
    const edge = await startConfiguredBridge(config, { logger: logs.logger });
    const reported = logs.lines.find((line) => line.event === 'cluster_bad_data' && line.key === namespace.keys.symbols);
    expect(reported?.reason).toMatch(/holds more than document\.maxSymbols \(2\) symbols/);
    expect([...edge.store.symbols()].length).toBeLessThanOrEqual(2);
  });
});
