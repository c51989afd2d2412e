import { createParser } from 'eventsource-parser';
import { describe, expect, it } from 'vitest';
import { summaryRow, UpdateRates } from '../../src/transports/dashboard-summary.js';
import type { Bar, InstrumentDocument } from '../../src/model/document.js';
import { SymbolState } from '../../src/state/symbol-state.js';
import { startTestBridge } from '../helpers/bridge.js';
import { getJson } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';

interface Summary {
  type: string;
  epoch: string;
  time: number;
  intervalMs: number;
  staleAfterMs: number;
  health: { status: string; components: Record<string, { status: string }> };
  symbols: { symbol: string; seq: number; last?: number; bid?: number; ask?: number; change?: number; updatedAt: number; updatesPerSecond?: number }[];
}

/** Reads `summary` events from /v1/dashboard/sse as they come. */
async function readSummaries(url: string) {
  const controller = new AbortController();
  const response = await fetch(`${url}/v1/dashboard/sse`, { signal: controller.signal });
  const summaries: Summary[] = [];
  const parser = createParser({ onEvent: (event) => event.event === 'summary' && summaries.push(JSON.parse(event.data) as Summary) });
  const reading = (async () => {
    const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(value);
    }
  })().catch(() => undefined);
  return { response, summaries, close: () => controller.abort(), reading };
}

const bar = (t: number, c: number): Bar => ({ t, o: c, h: c, l: c, c, v: 1 });

function stateWith(document: Partial<InstrumentDocument>): SymbolState {
  const state = new SymbolState({ symbol: 'X' }, { journalSize: 10 });
  state.advance({ symbol: 'X', sources: [], quote: {}, bars: {}, fields: {}, ...document }, 1);
  return state;
}

describe('GET /v1/dashboard/sse', () => {
  it('follows a live change of dashboard.intervalMs (PATCH /v1/config)', async () => {
    const dir = await tempDir();
    await new TerminalFiles(dir).create();
    const bridge = await startTestBridge([dir], { dashboard: { intervalMs: 60_000 } });
    const stream = await readSummaries(bridge.url);
    await waitFor('the first summary', () => stream.summaries[0]);
    const patched = await fetch(`${bridge.url}/v1/config`, {
      method: 'PATCH',
      body: JSON.stringify({ dashboard: { intervalMs: 100 } }),
      headers: { 'content-type': 'application/json' },
    });
    expect(patched.status).toBe(200);
    const next = await waitFor('a summary at the new interval', () => stream.summaries[1]);
    expect(next.intervalMs).toBe(100);
    stream.close();
    await stream.reading;
  });

  it('sends a summary at once, then one per interval: a row per symbol and the health', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const bridge = await startTestBridge([dir], { dashboard: { intervalMs: 100, staleAfterMs: 4000 } });
    const stream = await readSummaries(bridge.url);
    expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const first = await waitFor('the first summary', () => stream.summaries[0]);
    expect(first).toMatchObject({ type: 'summary', epoch: bridge.store.epoch, intervalMs: 100, staleAfterMs: 4000, health: { status: 'HEALTHY' } });
    expect(Object.keys(first.health.components)).toEqual(expect.arrayContaining(['hub', 'sources', 'eventLoop', 'memory']));
    expect(first.symbols.map((row) => row.symbol)).toEqual(['ESZ25_FUT_CME', 'EURUSD', 'XAUUSD']);
    for (const row of first.symbols) {
      const state = bridge.store.get(row.symbol);
      expect(row).toEqual(summaryRow(state as SymbolState, undefined));
      expect(row.bid).toBe(state?.document.quote.bid);
      expect(row.updatedAt).toBe(state?.updatedAt);
    }
    expect(first.symbols[0]?.last).toBe(bridge.store.get('ESZ25_FUT_CME')?.document.quote.last);
    expect(first.symbols[1]?.last).toBeUndefined(); // an FX tick export has no trades

    const seq = bridge.store.get('XAUUSD')?.seq as number;
    for (let i = 0; i < 4; i++) {
      await files.writeJson('rewrite');
      await waitFor('a commit', () => (bridge.store.get('XAUUSD')?.seq ?? 0) > seq + i);
    }
    const later = await waitFor('a summary with the new seq and a rate', () =>
      stream.summaries.find((summary) => summary.symbols.find((row) => row.symbol === 'XAUUSD' && row.seq === seq + 4 && (row.updatesPerSecond ?? 0) > 0)),
    );
    expect(later.time).toBeGreaterThan(first.time);
    stream.close();
    await stream.reading;
  });
});

describe('summary rows', () => {
  it('change is the last price minus the previous M1 close, or the latest close when there are no trades', () => {
    const bars = { M1: [bar(0, 100.5), bar(60_000, 101.25), bar(120_000, 101)] };
    expect(summaryRow(stateWith({ quote: { bid: 100.75, ask: 101.25, last: 101.75 }, bars }), 2.5)).toMatchObject({
      last: 101.75,
      bid: 100.75,
      ask: 101.25,
      change: 0.5,
      updatesPerSecond: 2.5,
    });
    expect(summaryRow(stateWith({ quote: { bid: 1.08421 }, bars: { M1: [bar(0, 1.08421), bar(60_000, 1.08446)] } }), undefined)).toEqual({
      symbol: 'X',
      seq: 1,
      updatedAt: expect.any(Number) as number,
      bid: 1.08421,
      change: 0.00025,
    });
    expect(summaryRow(stateWith({ quote: { last: 5 }, bars: { M1: [bar(0, 5)] } }), undefined).change).toBeUndefined();
  });

  it('updates per second come from seq deltas over a window of samples', () => {
    const rates = new UpdateRates(1000);
    const state = stateWith({});
    expect(rates.sample(0, [state])).toEqual(new Map()); // one sample: no rate yet
    for (let i = 0; i < 5; i++) state.advance(state.document, 2 + i);
    expect(rates.sample(500, [state]).get('X')).toBe(10);
    for (let i = 0; i < 5; i++) state.advance(state.document, 10 + i);
    // Over the whole window (0 ms to 1000 ms): 10 commits.
    expect(rates.sample(1000, [state]).get('X')).toBe(10);
    // The 0 ms sample has left the window; from 500 ms: 5 commits in 1 s.
    expect(rates.sample(1500, [state]).get('X')).toBe(5);
  });
});

describe('the dashboard page', () => {
  it('is served at / with the SDK and its dependencies; the JSON index moved to /v1', async () => {
    const dir = await tempDir();
    const bridge = await startTestBridge([dir]);
    const page = await fetch(`${bridge.url}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('"fast-json-patch": "./vendor/fast-json-patch/index.mjs"');
    expect(html).toContain('"lightweight-charts": "./vendor/lightweight-charts/lightweight-charts.standalone.production.mjs"');
    for (const path of [
      '/app.js',
      '/chart.js',
      '/style.css',
      '/client/index.js',
      '/derive/indicators/ema.js',
      '/vendor/fast-json-patch/index.mjs',
      '/vendor/eventsource-parser/index.js',
      '/vendor/lightweight-charts/lightweight-charts.standalone.production.mjs',
    ]) {
      const response = await fetch(`${bridge.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toMatch(/^(application|text)\/(javascript|css)/);
    }
    for (const path of [
      '/client/index.d.ts',
      '/vendor/fast-json-patch/package.json',
      '/vendor/eventsource-parser/index.cjs',
      '/vendor/lightweight-charts/lightweight-charts.development.mjs',
      '/derive/indicators/catalog.js',
      '/derive/cache.js',
      '/../package.json',
    ]) {
      expect((await fetch(`${bridge.url}${path}`)).status, path).toBe(404);
    }
    const index = await getJson<{ name: string; routes: string[] }>(`${bridge.url}/v1`);
    expect(index.body.name).toBe('tapebridge');
    expect(index.body.routes).toContain('/v1/dashboard/sse');
    expect(index.body.routes).toContain('/v1/sources');
  });
});
