import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { resolveConfig } from '../../src/app/config.js';
import { LogCapture, startConfiguredBridge } from '../helpers/bridge.js';
import { getJson, SseClient, WsClient } from '../helpers/clients.js';
import { RedisServer } from '../helpers/redis-server.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(async () => {
  await redis.close();
});

interface SymbolBody {
  symbol: string;
  epoch: string;
  seq: number;
  data: unknown;
}

/** Terminal files in a folder, a log, and the cluster settings of namespace `prefix`. */
async function namespace(
  prefix: string,
): Promise<{ dir: string; files: TerminalFiles; logs: LogCapture; cluster: { redis: string; prefix: string; leaseMs: number } }> {
  const dir = await tempDir();
  const files = new TerminalFiles(dir);
  await files.create();
  return { dir, files, logs: new LogCapture('warn'), cluster: { redis: redis.url, prefix, leaseMs: 1000 } };
}

describe('an ingest node and an edge node through Redis', () => {
  it('serve equal documents, an edge client follows every change, and goes on with patches when the ingest restarts', async () => {
    const { dir, files, logs, cluster } = await namespace('inproc');
    const ingest = await startConfiguredBridge(resolveConfig({ port: 0, sources: [{ path: dir }], cluster: { ...cluster, nodeId: 'ingest-1' } }), {
      logger: logs.logger,
    });
    const edge = await startConfiguredBridge(resolveConfig({ port: 0, cluster: { ...cluster, nodeId: 'edge-1' } }), { logger: logs.logger });
    const client = await WsClient.connect(edge.url);
    expect(client.hello?.node).toBe('edge-1');
    client.subscribe(['*']);
    for (let round = 0; round < 10; round++) await files.step();
    await waitFor('the ingest read every round', () => files.hasRead(ingest.store.get('XAUUSD')?.document));
    for (const symbol of TerminalFiles.symbols) {
      await waitFor(`${symbol} equal on the edge`, async () => {
        const local = await getJson<SymbolBody>(`${ingest.url}/v1/symbols/${symbol}`);
        const remote = await getJson<SymbolBody>(`${edge.url}/v1/symbols/${symbol}`);
        const mirrored = client.document(symbol);
        return (
          local.status === 200 &&
          JSON.stringify(remote.body.data) === JSON.stringify(local.body.data) &&
          JSON.stringify(mirrored?.data) === JSON.stringify(local.body.data)
        );
      });
    }
    expect(client.mirror.violations).toEqual([]);
    expect(client.mirror.patches).toBeGreaterThan(0);
    expect(logs.lines.filter((line) => (line.level as number) >= 50)).toEqual([]);

    // The ingest restarted (a new process would do the same): it goes on from Redis's epoch and seq.
    await ingest.close();
    const seqs = new Map(TerminalFiles.symbols.map((symbol) => [symbol, client.document(symbol)?.seq ?? 0]));
    const again = await startConfiguredBridge(resolveConfig({ port: 0, sources: [{ path: dir }], cluster: { ...cluster, nodeId: 'ingest-2' } }), {
      logger: logs.logger,
    });
    for (let round = 0; round < 3; round++) await files.step();
    await waitFor('the new ingest read every round', () => files.hasRead(again.store.get('XAUUSD')?.document));
    for (const symbol of TerminalFiles.symbols) {
      await waitFor(`${symbol} equal after the restart`, () => JSON.stringify(client.document(symbol)?.data) === again.store.get(symbol)?.documentJson());
      expect(client.document(symbol)?.seq).toBeGreaterThan(seqs.get(symbol) ?? 0);
    }
    expect(client.of('snapshot')).toHaveLength(TerminalFiles.symbols.length);
    expect(client.mirror.violations).toEqual([]);
    await client.close();
  });

  it("applies each node's tokens alike: an edge shows a token only its symbols", async () => {
    const { dir, logs, cluster } = await namespace('auth');
    const auth = {
      tokens: [
        { name: 'fx-bot', token: 'fx-bot-token-0123456789', symbols: ['EURUSD'] },
        { name: 'ops', token: 'ops-token-0123456789ab', admin: true },
      ],
    };
    await startConfiguredBridge(resolveConfig({ port: 0, sources: [{ path: dir }], auth, cluster: { ...cluster, nodeId: 'ingest-1' } }), {
      logger: logs.logger,
    });
    const edge = await startConfiguredBridge(resolveConfig({ port: 0, auth, cluster: { ...cluster, nodeId: 'edge-1' } }), { logger: logs.logger });
    await waitFor('every symbol on the edge', () => TerminalFiles.symbols.every((symbol) => edge.store.get(symbol)));
    const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
    const listed = await getJson<{ symbols: { symbol: string }[] }>(`${edge.url}/v1/symbols`, bearer('fx-bot-token-0123456789'));
    expect(listed.body.symbols.map((entry) => entry.symbol)).toEqual(['EURUSD']);
    expect((await getJson(`${edge.url}/v1/symbols/XAUUSD`, bearer('fx-bot-token-0123456789'))).status).toBe(403);
    expect((await getJson(`${edge.url}/v1/symbols`)).status).toBe(401);
    const client = await WsClient.connect(edge.url, '/v1/ws', bearer('fx-bot-token-0123456789'));
    client.subscribe(['*']);
    await waitFor('EURUSD', () => client.document('EURUSD'));
    client.subscribe(['XAUUSD']);
    await waitFor('FORBIDDEN', () => client.of('error').find((message) => message.code === 'FORBIDDEN'));
    expect(client.of('snapshot').map((message) => message.symbol)).toEqual(['EURUSD']);
    await client.close();
  });

  it('the stored document lags the top by documentEvery to 2 × documentEvery versions, counted in Redis: also when the ingest restarts more often than that', async () => {
    const { dir, files, logs, cluster } = await namespace('inproc-doc');
    const every = 4;
    const config = resolveConfig({ port: 0, sources: [{ path: dir }], cluster: { ...cluster, nodeId: 'ingest-1', documentEvery: every } });
    const keys = new ClusterKeys(cluster.prefix);
    const connection = new Redis(cluster.redis);
    /** Per symbol: versions in Redis after the stored document. */
    const lags = async (): Promise<number[]> =>
      Promise.all(
        TerminalFiles.symbols.map(async (symbol) => {
          const top = Number(await connection.hget(keys.meta(symbol), 'seq'));
          const stored = JSON.parse((await connection.get(keys.doc(symbol))) ?? '{"seq":0}') as { seq: number };
          return top - stored.seq;
        }),
      );
    const live = async (rounds: number): Promise<void> => {
      const ingest = await startConfiguredBridge(config, { logger: logs.logger });
      for (let round = 0; round < rounds; round++) await files.step();
      await waitFor('the ingest read every round', () => files.hasRead(ingest.store.get('XAUUSD')?.document));
      await ingest.close();
    };
    try {
      // Lives of fewer versions than documentEvery: the stored document still keeps up.
      for (let life = 0; life < 5; life++) await live(2);
      for (const lag of await lags()) expect(lag).toBeLessThanOrEqual(2 * every);
      // A long life: an edge starting now rebuilds at least documentEvery versions of history.
      await live(3 * every);
      for (const lag of await lags()) {
        expect(lag).toBeGreaterThanOrEqual(every);
        expect(lag).toBeLessThanOrEqual(2 * every);
      }
    } finally {
      await connection.quit();
    }
  });

  it('an edge restarted under the same node id resumes an SSE cursor of its previous process (from that process’s log in Redis) with exactly the missed patches, not a gap', async () => {
    const { dir, files, logs, cluster } = await namespace('inproc-sse');
    const ingest = await startConfiguredBridge(resolveConfig({ port: 0, sources: [{ path: dir }], cluster: { ...cluster, nodeId: 'ingest-1' } }), {
      logger: logs.logger,
    });
    const edgeConfig = resolveConfig({ port: 0, cluster: { ...cluster, nodeId: 'edge-same' } });
    const equalToIngest = (client: SseClient) => (): boolean =>
      TerminalFiles.symbols.every((symbol) => JSON.stringify(client.mirror.documents.get(symbol)?.data) === ingest.store.get(symbol)?.documentJson());
    const first = await startConfiguredBridge(edgeConfig, { logger: logs.logger });
    const before = await SseClient.connect(first.url, 'symbols=*');
    for (let round = 0; round < 5; round++) await files.step();
    await waitFor('the first edge client equal to the ingest', equalToIngest(before));
    before.close();
    await first.close();
    // Versions made while no edge ran: the restarted edge's commit counter starts again below the cursor.
    for (let round = 0; round < 3; round++) await files.step();
    await waitFor('the ingest read every round', () => files.hasRead(ingest.store.get('XAUUSD')?.document));
    const again = await startConfiguredBridge(edgeConfig, { logger: logs.logger });
    const after = await SseClient.connect(again.url, 'symbols=*', { 'last-event-id': before.lastEventId ?? '' }, before.mirror.documents);
    for (let round = 0; round < 2; round++) await files.step();
    await waitFor('the client of the restarted edge equal to the ingest', equalToIngest(after));
    expect(after.mirror.violations).toEqual([]);
    expect(after.events.filter((event) => event.event === 'snapshot')).toEqual([]);
    const missed = TerminalFiles.symbols.reduce(
      (sum, symbol) => sum + (again.store.get(symbol)?.seq ?? 0) - (before.mirror.documents.get(symbol)?.seq ?? 0),
      0,
    );
    expect(missed).toBeGreaterThan(0);
    expect(after.events.filter((event) => event.event === 'patch')).toHaveLength(missed);
    after.close();
  });
});
