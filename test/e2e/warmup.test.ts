import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Bridge } from '../../src/app/bridge.js';
import type { BridgeWarmup } from '../../src/app/sources.js';
import { RandomMarket } from '../../src/sim/random.js';
import { ScidWriter, scidTickRecord } from '../../src/sim/scid-writer.js';
import { LogCapture, startTestBridge } from '../helpers/bridge.js';
import { getJson, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A cold start (no checkpoint) serves every symbol from the tails of its files first, then
 * reads the history behind them in the background: /v1/stats, /health and /metrics show the
 * warm-up, clients subscribed meanwhile get the history as ordinary patches, and the
 * documents end as a start that reads every file whole makes them.
 */

const SYMBOLS = ['ESZ25_FUT_CME', 'NQZ25_FUT_CME', 'CLF26_FUT_NYM'];
const RECORDS = 60_000;
const WARM = {
  watch: { tailFirstBytes: 64 * 1024, chunkBytes: 64 * 1024 },
  document: { bars: { M1: 200, M5: 100, H1: 48 }, indicators: { M5: ['rsi14', 'ema20'], H1: ['macd'] } },
};

async function folderOfHistory(): Promise<string> {
  const dir = await tempDir();
  const end = Date.now() - 60_000;
  await Promise.all(
    SYMBOLS.map((symbol, index) => {
      const market = new RandomMarket({ start: 1000 * (index + 1), tickSize: 0.25, spreadTicks: 1, tradeShare: 0.8, seed: index + 1 });
      const records = Array.from({ length: RECORDS }, (_, i) => scidTickRecord(market.next(end - (RECORDS - i) * 2000)));
      return new ScidWriter(join(dir, `${symbol}.scid`)).create(records);
    }),
  );
  return dir;
}

const documents = (bridge: Bridge): Record<string, unknown> =>
  Object.fromEntries(SYMBOLS.map((symbol) => [symbol, JSON.parse(bridge.store.get(symbol)?.documentJson() ?? 'null')]));

interface Stats {
  warmup: BridgeWarmup;
  sources: { folders: { bytesRead: number }[] };
}

interface Health {
  components: Record<string, { status: string; warmup?: { filesDone: number; filesLeft: number; bytesLeft: number } }>;
}

describe('a cold start', () => {
  it('serves every quote from the tails first, shows the warm-up, and back-fills every window to a full read, clients following by patches', async () => {
    const dir = await folderOfHistory();
    const logs = new LogCapture('info');
    const bridge = await startTestBridge([dir], WARM, logs);
    // Served at once: every symbol's quote, from the tail of its file.
    for (const symbol of SYMBOLS) expect(bridge.store.get(symbol)?.document.quote.time, symbol).toBeGreaterThan(0);
    const client = await WsClient.connect(bridge.url);
    client.subscribe(SYMBOLS);
    await waitFor('the snapshots', () => SYMBOLS.every((symbol) => client.document(symbol)));
    const during = (await getJson<Stats>(`${bridge.url}/v1/stats`)).body.warmup;
    const health = (await getJson<Health>(`${bridge.url}/health`)).body;
    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    const shortH1 = SYMBOLS.some((symbol) => (bridge.store.get(symbol)?.document.bars.H1?.length ?? 0) < 30);

    await waitFor('the warm-up to end', () => bridge.warmup().done, 30_000);
    const after = (await getJson<Stats>(`${bridge.url}/v1/stats`)).body;
    await waitFor('the client to follow', () => SYMBOLS.every((symbol) => client.document(symbol)?.seq === bridge.store.get(symbol)?.seq));

    // The warm-up as it ran: files with history left, per file, with their bytes.
    expect(during.done).toBe(false);
    expect(during.filesLeft).toBeGreaterThan(0);
    expect(during.bytesLeft).toBeGreaterThan(0);
    expect(during.files.map((file) => file.path).every((path) => path.startsWith(dir))).toBe(true);
    for (const file of during.files) expect(file.bytesLeft).toBeLessThanOrEqual(file.bytesTotal);
    const folder = Object.entries(health.components).find(([name]) => name.startsWith('source:'))?.[1];
    expect(folder?.status).toBe('HEALTHY');
    expect((folder?.warmup?.filesDone ?? 0) + (folder?.warmup?.filesLeft ?? 0)).toBe(SYMBOLS.length);
    expect(metrics).toMatch(/^tapebridge_warmup_bytes_left \d+/m);
    expect(shortH1).toBe(true);

    // Done: every file whole, the time it took, and one log line saying so.
    expect(after.warmup).toMatchObject({ done: true, filesDone: SYMBOLS.length, filesLeft: 0, bytesLeft: 0, files: [] });
    expect(after.warmup.tookMs).toBeGreaterThanOrEqual(0);
    expect(logs.find((line) => line.event === 'warmup_done')).toMatchObject({ files: SYMBOLS.length, tookMs: after.warmup.tookMs });

    // The client, from its snapshots and the patches since, holds the bridge's documents.
    expect(client.mirror.violations).toEqual([]);
    for (const symbol of SYMBOLS) expect(client.document(symbol)?.data, symbol).toEqual(JSON.parse(bridge.store.get(symbol)?.documentJson() ?? 'null'));
    const warmed = documents(bridge);
    await client.close();
    await bridge.close();

    const whole = await startTestBridge([dir], { ...WARM, watch: { ...WARM.watch, tailFirstBytes: 0 } });
    expect(whole.warmup()).toMatchObject({ done: true, filesDone: 0, filesLeft: 0 });
    expect(warmed).toEqual(documents(whole));
  });
});
