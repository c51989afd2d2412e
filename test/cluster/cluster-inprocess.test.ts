import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('an ingest node and an edge node through Redis', () => {
  it('serve equal documents, an edge client follows every change, and goes on with patches when the ingest restarts', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const logs = new LogCapture('warn');
    const cluster = { redis: redis.url, prefix: 'inproc', leaseMs: 1000 };
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

  it('an edge restarted under the same node id gives an SSE cursor of its previous process fresh snapshots, not a gap', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const logs = new LogCapture('warn');
    const cluster = { redis: redis.url, prefix: 'inproc-sse', leaseMs: 1000 };
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
    expect(after.events.filter((event) => event.event === 'snapshot')).toHaveLength(TerminalFiles.symbols.length);
    after.close();
  });
});
