import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/app/config.js';
import { LogCapture, startConfiguredBridge } from '../helpers/bridge.js';
import { getJson, WsClient } from '../helpers/clients.js';
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
  it('serve equal documents, and an edge client follows every change', async () => {
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
    await client.close();
  });
});
