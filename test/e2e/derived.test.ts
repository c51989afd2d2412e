import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { barClock } from '../../src/derive/bar-clock.js';
import { seriesOf, specOf } from '../../src/derive/indicators/catalog.js';
import type { Bar, InstrumentDocument } from '../../src/model/document.js';
import { Mt5BarWriter } from '../../src/sim/mt5-writer.js';
import type { MarketTick } from '../../src/sim/random.js';
import { ScidWriter, scidTickRecord } from '../../src/sim/scid-writer.js';
import { startTestBridge } from '../helpers/bridge.js';
import { getJson, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { sleep, waitFor } from '../helpers/wait.js';

/**
 * Derived data end to end: a Sierra Chart tick file of four hours of ES trades, read by a
 * real bridge; subscribers get the bars of every timeframe and the indicators in their
 * documents, and the on-demand routes answer through the shared cache.
 */

const T0 = Date.UTC(2026, 10, 20, 10);
const ES = 'ESZ25_FUT_CME';
const HISTORY = 480; // a trade every 30 s: 10:00:00 to 13:59:30

function trade(i: number): MarketTick {
  const last = 6000 + 0.25 * Math.round(8 * Math.sin(i / 7) + (i % 5));
  return { time: T0 + i * 30_000, bid: last - 0.25, ask: last, last, size: 1 + (i % 4), side: i % 3 === 0 ? 'sell' : 'buy' };
}

async function esFolder(): Promise<{ dir: string; scid: ScidWriter }> {
  const dir = await tempDir();
  const scid = new ScidWriter(join(dir, `${ES}.scid`));
  await scid.create(Array.from({ length: HISTORY }, (_, i) => scidTickRecord(trade(i))));
  return { dir, scid };
}

interface ErrorBody {
  error: { code: string; message: string };
}
interface BarsAnswer {
  symbol: string;
  epoch: string;
  seq: number;
  tf: string;
  builtFrom?: string;
  bars: Bar[];
}
interface IndicatorsAnswer {
  symbol: string;
  seq: number;
  tf: string;
  builtFrom?: string;
  bars: number;
  indicators: Record<string, unknown>;
  missing?: Record<string, string>;
}
interface CacheSection {
  hits: number;
  misses: number;
  coalesced: number;
  hitRate: number | null;
  entries: number;
  bytes: number;
  evictions: number;
  expirations: number;
  kinds: Record<'bars' | 'indicators', { hits: number; misses: number; hitRate: number | null }>;
}

const cacheStats = async (url: string): Promise<CacheSection> => (await getJson<{ cache: CacheSection }>(`${url}/v1/stats`)).body.cache;

describe('derived data for every consumer', () => {
  it('a subscriber gets the bars of every timeframe and the indicators; a tick changes the last bars, a new bar is one add and one remove per timeframe', async () => {
    const { dir, scid } = await esFolder();
    const bridge = await startTestBridge([dir], {
      document: { bars: { M1: 20, M5: 10, M15: 5, H1: 3 }, indicators: { M1: ['sma5', 'ema5'], M5: ['rsi3', 'bb5'], M15: ['atr3'], H1: ['ema2', 'vwap'] } },
    });
    const client = await WsClient.connect(bridge.url);
    client.subscribe([ES]);
    await waitFor('the snapshot', () => client.document(ES));
    const snapshot = client.document(ES)?.data as InstrumentDocument;
    expect(Object.fromEntries(Object.entries(snapshot.bars).map(([tf, bars]) => [tf, bars.length]))).toEqual({ M1: 20, M5: 10, M15: 5, H1: 3 });
    expect(snapshot.bars.H1?.map((bar) => bar.t)).toEqual([11, 12, 13].map((hour) => Date.UTC(2026, 10, 20, hour)));
    expect(Object.keys(snapshot.indicators ?? {})).toEqual(['M1', 'M5', 'M15', 'H1']);
    expect(Object.keys(snapshot.indicators?.M5 ?? {})).toEqual(['rsi3', 'bb5']);
    // The published values are those of the window (the states were built from it at the first read).
    const m1 = snapshot.bars.M1 as Bar[];
    expect(snapshot.indicators?.M1?.sma5).toBeCloseTo(seriesOf(specOf('sma', 5), m1, barClock('D1')).at(-1) as number, 4);

    // A trade within the last bar of every timeframe: only replaces, each of a last bar or a value.
    const seq = client.document(ES)?.seq as number;
    await scid.append([scidTickRecord({ ...trade(HISTORY - 1), time: T0 + (HISTORY - 1) * 30_000 + 15_000, last: 6010, size: 7 })]);
    await waitFor('the tick patch', () => (client.document(ES)?.seq ?? 0) > seq);
    const tickOps = client.of('patch').at(-1)?.ops ?? [];
    expect(tickOps.every((op) => op.op === 'replace')).toBe(true);
    const barPaths = tickOps.map((op) => op.path).filter((path) => path.startsWith('/bars/'));
    expect(barPaths).toEqual(['/bars/M1/19', '/bars/M5/9', '/bars/M15/4', '/bars/H1/2']);
    expect(tickOps.some((op) => op.path.startsWith('/indicators/'))).toBe(true);
    // The quote, four bars and seven values: about 1 KB, whatever the windows hold.
    expect(JSON.stringify(tickOps).length).toBeLessThan(1200);

    // 14:00:00 opens a new bar in every timeframe: the windows are full, so each rolls.
    const before = client.document(ES)?.seq as number;
    await scid.append([scidTickRecord(trade(HISTORY))]);
    await waitFor('the new-bar patch', () => (client.document(ES)?.seq ?? 0) > before);
    const newBarOps = client.of('patch').at(-1)?.ops ?? [];
    for (const [tf, size] of [
      ['M1', 20],
      ['M5', 10],
      ['M15', 5],
      ['H1', 3],
    ] as const) {
      const ops = newBarOps.filter((op) => op.path.startsWith(`/bars/${tf}/`));
      expect(
        ops.map(({ op, path }) => ({ op, path })),
        tf,
      ).toEqual([
        { op: 'remove', path: `/bars/${tf}/0` },
        { op: 'add', path: `/bars/${tf}/${size - 1}` },
      ]);
    }
    expect(client.document(ES)?.data).toEqual(bridge.store.get(ES)?.document);
    expect(client.mirror.violations).toEqual([]);
    await client.close();
  });

  it('GET /bars and /indicators: from the windows, built from finer bars, any period; errors name the parameter', async () => {
    const { dir } = await esFolder();
    const bridge = await startTestBridge([dir]);
    const document = bridge.store.get(ES)?.document as InstrumentDocument;
    const seq = bridge.store.get(ES)?.seq;

    const m5 = await getJson<BarsAnswer>(`${bridge.url}/v1/symbols/${ES}/bars?tf=M5&count=3`);
    expect(m5.status).toBe(200);
    expect(m5.body).toEqual({ symbol: ES, epoch: bridge.store.epoch, seq, tf: 'M5', bars: document.bars.M5?.slice(-3) });
    expect((await getJson<BarsAnswer>(`${bridge.url}/v1/symbols/${ES}/bars?tf=M1`)).body.bars).toHaveLength(200);

    // M30 is not kept: built from the finer window spanning the longest time (M15: 4 hours).
    const m30 = (await getJson<BarsAnswer>(`${bridge.url}/v1/symbols/${ES}/bars?tf=M30`)).body;
    expect(m30.builtFrom).toBe('M15');
    expect(m30.bars.map((bar) => bar.t)).toEqual(Array.from({ length: 8 }, (_, i) => T0 + i * 1_800_000));
    const m15 = document.bars.M15 as Bar[];
    expect(m30.bars[1]).toEqual({
      t: T0 + 1_800_000,
      o: m15[2]?.o,
      h: Math.max(m15[2]!.h, m15[3]!.h),
      l: Math.min(m15[2]!.l, m15[3]!.l),
      c: m15[3]?.c,
      v: m15[2]!.v + m15[3]!.v,
      n: m15[2]!.n! + m15[3]!.n!,
      bv: m15[2]!.bv! + m15[3]!.bv!,
      av: m15[2]!.av! + m15[3]!.av!,
    });

    // The published indicators as published, any other computed over the window.
    const all = (await getJson<IndicatorsAnswer>(`${bridge.url}/v1/symbols/${ES}/indicators?tf=M5`)).body;
    expect(all).toMatchObject({ symbol: ES, seq, tf: 'M5', bars: 48 });
    for (const key of ['rsi14', 'ema20', 'atr14', 'macd']) expect(all.indicators[key], key).toEqual(document.indicators?.M5?.[key]);
    expect(Object.keys(all.indicators).sort()).toEqual(['atr14', 'bb20', 'ema20', 'macd', 'rsi14', 'sma20', 'vwap']);
    const m5Bars = document.bars.M5 as Bar[];
    expect(all.indicators.sma20).toBeCloseTo(seriesOf(specOf('sma', 20), m5Bars, barClock('D1')).at(-1) as number, 4);
    const ema50 = (await getJson<IndicatorsAnswer>(`${bridge.url}/v1/symbols/${ES}/indicators?tf=M1&name=ema&period=50`)).body;
    expect(ema50.indicators).toEqual({ ema50: expect.any(Number) });
    expect(ema50.indicators.ema50).toBeCloseTo(seriesOf(specOf('ema', 50), document.bars.M1 as Bar[], barClock('D1')).at(-1) as number, 4);
    const rsiDefault = (await getJson<IndicatorsAnswer>(`${bridge.url}/v1/symbols/${ES}/indicators?tf=M15&name=rsi`)).body;
    expect(Object.keys(rsiDefault.indicators)).toEqual(['rsi14']);
    // More bars than the window holds: said why.
    const long = (await getJson<IndicatorsAnswer>(`${bridge.url}/v1/symbols/${ES}/indicators?tf=H1&name=sma&period=200`)).body;
    expect(long).toMatchObject({ tf: 'H1', bars: 4, indicators: {}, missing: { sma200: 'needs 200 bars; the window has 4' } });
    const h4 = (await getJson<IndicatorsAnswer>(`${bridge.url}/v1/symbols/${ES}/indicators?tf=H4&name=vwap`)).body;
    expect(h4).toMatchObject({ tf: 'H4', builtFrom: 'H1', bars: 1, indicators: { vwap: expect.any(Number) } });

    const bad = async (query: string, message: RegExp): Promise<void> => {
      const answer = await getJson<ErrorBody>(`${bridge.url}/v1/symbols/${ES}/${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.code, query).toBe('BAD_REQUEST');
      expect(answer.body.error.message, query).toMatch(message);
    };
    await bad('bars', /tf/);
    await bad('bars?tf=M2', /tf must be equal to one of the allowed values/);
    await bad('bars?tf=M5&count=0', /count must be >= 1/);
    await bad('bars?tf=M5&count=lots', /count must be integer/);
    await bad('indicators?tf=M5&name=wma', /name must be equal to one of the allowed values/);
    await bad('indicators?tf=M5&name=rsi&period=0', /period must be >= 1/);
    await bad('indicators?tf=M5&name=rsi&period=1001', /period must be <= 1000/);
    await bad('indicators?tf=M5&period=14', /period needs a name/);
    await bad('indicators?tf=M5&name=macd&period=9', /macd takes no period/);

    const missing = await getJson<ErrorBody>(`${bridge.url}/v1/symbols/NOPE/bars?tf=M5`);
    expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('a timeframe neither kept nor finer than one kept is 404', async () => {
    const dir = await tempDir();
    const writer = new Mt5BarWriter(join(dir, 'EURUSD_H1_202611200000_202611202359.csv'), 'utf8', 5);
    await writer.create([0, 1].map((hour) => ({ t: T0 + hour * 3_600_000, o: 1.08, h: 1.09, l: 1.07, c: 1.085, tickVolume: 10, volume: 0, spread: 5 })));
    const bridge = await startTestBridge([dir]);
    const answer = await getJson<ErrorBody>(`${bridge.url}/v1/symbols/EURUSD/bars?tf=M5`);
    expect(answer.status).toBe(404);
    expect(answer.body.error.message).toBe('no M5 bars for "EURUSD", and no finer ones to build them from (it has H1)');
    expect((await getJson<BarsAnswer>(`${bridge.url}/v1/symbols/EURUSD/bars?tf=D1`)).body).toMatchObject({
      builtFrom: 'H1',
      bars: [{ t: Date.UTC(2026, 10, 20), v: 20 }],
    });
  });

  it('one computation per state: hits, coalesced concurrent requests, fresh after a commit that changes the timeframe', async () => {
    const { dir, scid } = await esFolder();
    const bridge = await startTestBridge([dir]);
    const url = `${bridge.url}/v1/symbols/${ES}/indicators?tf=M5&name=ema&period=30`;
    const base = await cacheStats(bridge.url);

    // Fifty clients ask at once: one computation.
    const answers = await Promise.all(Array.from({ length: 50 }, () => getJson<IndicatorsAnswer>(url)));
    expect(new Set(answers.map((answer) => JSON.stringify(answer.body))).size).toBe(1);
    let stats = await cacheStats(bridge.url);
    expect(stats.misses - base.misses).toBe(1);
    expect(stats.hits - base.hits).toBe(49);
    const first = answers[0]?.body as IndicatorsAnswer;

    // A change that leaves M5 alone (fields of another file of the symbol): a new seq, still a hit.
    await writeFile(join(dir, `${ES}.json`), JSON.stringify({ openInterest: 2_500_000 }));
    await waitFor('the fields', () => bridge.store.get(ES)?.document.fields.openInterest === 2_500_000);
    const unchanged = (await getJson<IndicatorsAnswer>(url)).body;
    expect(unchanged.seq).toBeGreaterThan(first.seq);
    expect(unchanged.indicators).toEqual(first.indicators);
    stats = await cacheStats(bridge.url);
    expect(stats.misses - base.misses).toBe(1);

    // A trade changes the M5 window: computed again, never served stale.
    await scid.append([scidTickRecord({ ...trade(HISTORY - 1), time: T0 + HISTORY * 30_000 - 1000, last: 6100, size: 50 })]);
    await waitFor('the trade', () => bridge.store.get(ES)?.document.quote.last === 6100);
    const fresh = (await getJson<IndicatorsAnswer>(url)).body;
    expect(fresh.indicators.ema30).not.toEqual(first.indicators.ema30);
    const bars = bridge.store.get(ES)?.document.bars.M5 as Bar[];
    expect(fresh.indicators.ema30).toBeCloseTo(seriesOf(specOf('ema', 30), bars, barClock('D1')).at(-1) as number, 4);
    stats = await cacheStats(bridge.url);
    expect(stats.misses - base.misses).toBe(2);
    expect(stats.entries).toBeGreaterThanOrEqual(2);

    // The same figures for Prometheus.
    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^tapebridge_cache_hits_total\\{kind="indicators"\\} ${stats.kinds.indicators.hits}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^tapebridge_cache_misses_total\\{kind="indicators"\\} ${stats.kinds.indicators.misses}$`, 'm'));
    expect(metrics).toMatch(/^tapebridge_cache_entries \d+$/m);
    expect(metrics).toMatch(/^tapebridge_cache_bytes \d+$/m);
    expect(metrics).toMatch(/^tapebridge_cache_evictions_total 0$/m);
  });

  it('answers age out with their time to live, and the cache stays within its byte bound', async () => {
    const { dir } = await esFolder();
    const bridge = await startTestBridge([dir], { cache: { maxBytes: 4096, ttlMs: { bars: 60_000, indicators: 50 } } });
    const indicators = `${bridge.url}/v1/symbols/${ES}/indicators?tf=M5&name=sma&period=5`;
    await getJson(indicators);
    await sleep(100);
    await getJson(indicators);
    let stats = await cacheStats(bridge.url);
    expect(stats.kinds.indicators).toMatchObject({ hits: 0, misses: 2 });
    expect(stats.expirations).toBe(1);
    // 200 M1 bars are ~14 KB: more than the whole cache may hold, so they are never kept.
    for (const count of [10, 20, 30, 40, 50, 200]) await getJson(`${bridge.url}/v1/symbols/${ES}/bars?tf=M1&count=${count}`);
    stats = await cacheStats(bridge.url);
    expect(stats.bytes).toBeLessThanOrEqual(4096);
    expect(stats.evictions).toBeGreaterThan(0);
  });

  it('a change of document.sessionZone moves the D1 boundaries and the VWAP sessions', async () => {
    const { dir } = await esFolder();
    const bridge = await startTestBridge([dir], { document: { bars: { M5: 100, D1: 5 }, indicators: { M5: ['vwap'] } } });
    const d1 = () => bridge.store.get(ES)?.document.bars.D1;
    expect(d1()?.map((bar) => bar.t)).toEqual([Date.UTC(2026, 10, 20)]);
    const vwapUtc = bridge.store.get(ES)?.document.indicators?.M5?.vwap;
    const change = await fetch(`${bridge.url}/v1/config`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ document: { sessionZone: 'Asia/Tokyo' } }),
    });
    expect(change.status).toBe(200);
    // 10:00-14:00 UTC is 19:00-23:00 in Tokyo: the same day there, which began at 15:00 UTC the day before.
    await waitFor('D1 in Tokyo', () => d1()?.[0]?.t === Date.UTC(2026, 10, 19, 15));
    expect(d1()).toHaveLength(1);
    // The session is the same trades (it holds them all either way), so VWAP agrees.
    expect(bridge.store.get(ES)?.document.indicators?.M5?.vwap).toBe(vwapUtc);
    await fetch(`${bridge.url}/v1/config`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ document: { sessionZone: 'Pacific/Kiritimati' } }),
    });
    // UTC+14: the trades fall from 00:00 to 04:00 there, a day that began at 10:00 UTC.
    await waitFor('D1 in Kiritimati', () => d1()?.[0]?.t === Date.UTC(2026, 10, 20, 10));
  });

  it('a token sees the routes of its symbols only; the indicators change live with document.indicators', async () => {
    const { dir } = await esFolder();
    const admin = 'admin-token-0123456789abcdef';
    const fx = 'fx-token-0123456789abcdef';
    const bridge = await startTestBridge([dir], {
      auth: {
        tokens: [
          { name: 'ops', token: admin, admin: true },
          { name: 'fx', token: fx, symbols: ['EUR*'] },
        ],
      },
    });
    for (const route of ['bars?tf=M5', 'indicators?tf=M5']) {
      const refused = await getJson<ErrorBody>(`${bridge.url}/v1/symbols/${ES}/${route}`, { authorization: `Bearer ${fx}` });
      expect([refused.status, refused.body.error.code], route).toEqual([403, 'FORBIDDEN']);
      expect((await getJson(`${bridge.url}/v1/symbols/${ES}/${route}`, { authorization: `Bearer ${admin}` })).status).toBe(200);
    }

    const client = await WsClient.connect(bridge.url, '/v1/ws', { authorization: `Bearer ${admin}` });
    client.subscribe([ES]);
    await waitFor('the snapshot', () => client.document(ES));
    const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    const change = await fetch(`${bridge.url}/v1/config`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ document: { indicators: { M5: ['sma10'], M15: [], H1: ['sma2'] } } }),
    });
    expect(change.status).toBe(200);
    await waitFor('the new indicators', () => (client.document(ES)?.data as InstrumentDocument).indicators?.M5?.sma10 !== undefined);
    const indicators = (client.document(ES)?.data as InstrumentDocument).indicators;
    expect(Object.keys(indicators?.M5 ?? {})).toEqual(['sma10']);
    expect(indicators?.M15).toBeUndefined();
    expect(indicators?.H1).toEqual({ sma2: expect.any(Number) });
    expect(client.document(ES)?.data).toEqual(bridge.store.get(ES)?.document);
    // The answers computed with the previous indicators are gone.
    expect((await getJson<{ cache: CacheSection }>(`${bridge.url}/v1/stats`, { authorization: `Bearer ${admin}` })).body.cache.entries).toBe(0);
    await client.close();
  });
});
