import { existsSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DepthCommand } from '../../src/formats/depth.js';
import { TimeZone } from '../../src/model/zone.js';
import type { InstrumentDocument } from '../../src/model/document.js';
import { DepthWriter, endBatch, snapshotBatch } from '../../src/sim/depth-writer.js';
import { appendJsonLines, EaFileWriter, mqlDateTime } from '../../src/sim/ea-writer.js';
import { writeJsonSnapshot } from '../../src/sim/json-writer.js';
import { Mt5BarWriter, Mt5TickWriter } from '../../src/sim/mt5-writer.js';
import { ScidWriter, scidTickRecord } from '../../src/sim/scid-writer.js';
import { SierraTextWriter } from '../../src/sim/sierra-text-writer.js';
import { startTestBridge } from '../helpers/bridge.js';
import { getJson, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Every format end to end: files written as their terminals write them, in three sources
 * (a Sierra Chart data folder in UTC; an MT5 files folder in broker server time with a
 * symbol rename and an alias; a generic CSV with a column mapping), read by one bridge, and
 * a WebSocket subscriber to `*` that must hold exactly the documents the bridge serves.
 */

const T0 = Date.UTC(2026, 10, 20, 14, 0);
const SERVER = 'Etc/GMT-2'; // UTC+2 all year
const serverWall = (utc: number): number => utc + TimeZone.parse(SERVER).offsetAt(utc);
const samples = fileURLToPath(new URL('../../../shared/samples', import.meta.url));

async function documentOf(url: string, symbol: string): Promise<InstrumentDocument> {
  return (await getJson<{ data: InstrumentDocument }>(`${url}/v1/symbols/${symbol}`)).body.data;
}

describe('formats end to end', () => {
  it('a subscriber sees the right document for every format, across sources feeding one symbol', async () => {
    const sierra = await tempDir();
    const mt5 = await tempDir();
    const other = await tempDir();
    await mkdir(join(sierra, 'MarketDepthData'));

    // Sierra Chart: ticks in .scid, the book in the day's .depth, bars in a study export, a .dly.
    const scid = new ScidWriter(join(sierra, 'ESZ25_FUT_CME.scid'));
    await scid.create([0, 1, 2].map((i) => scidTickRecord({ time: T0 + i * 1000, bid: 6000, ask: 6000.25, last: 6000.25, size: 1 + i, side: 'buy' })));
    const depth = new DepthWriter(join(sierra, 'MarketDepthData', 'ESZ25_FUT_CME.2026-11-20.depth'));
    await depth.create(
      snapshotBatch(T0, {
        bids: [
          [6000, 10, 2],
          [5999.75, 20, 3],
        ],
        asks: [
          [6000.25, 5, 1],
          [6000.5, 8, 2],
        ],
      }),
    );
    const study = new SierraTextWriter(join(sierra, 'NQZ25-CME-BarData.txt'), 'study2025', { studyNames: ['Top', 'Top'] });
    await study.rewrite(
      [0, 1, 2].map((i) => ({
        t: T0 + i * 300_000,
        o: 21000 + i,
        h: 21005 + i,
        l: 20995 + i,
        c: 21002 + i,
        v: 100 + i,
        n: 40,
        bv: 50,
        av: 50 + i,
        studies: [i, i * 2],
      })),
    );
    const dly = new SierraTextWriter(join(sierra, 'CLH25-NYM.dly'), 'dly');
    await dly.rewrite([{ t: Date.UTC(2026, 10, 19), o: 70, h: 71, l: 69, c: 70.5, v: 1000, n: 0, bv: 0, av: 0, openInterest: 5000 }]);

    // MetaTrader 5 in server time: a UTF-16LE tick export and an M5 bar export of EURUSD, an EA's
    // ANSI tick log of XAUUSDc (renamed to XAUUSD), a DWX-style map naming gold GOLD (an alias).
    const ticks = new Mt5TickWriter(join(mt5, 'EURUSD_202611200000_202611202359.csv'), 'utf16le', 5);
    await ticks.create([{ time: serverWall(T0), bid: 1.08421, ask: 1.08433 }]);
    const m5 = new Mt5BarWriter(join(mt5, 'EURUSD_M5_202611200000_202611202359.csv'), 'utf8', 5);
    await m5.create([{ t: serverWall(T0 - 300_000), o: 1.084, h: 1.0845, l: 1.0839, c: 1.0842, tickVolume: 33, volume: 0, spread: 12 }]);
    const ea = new EaFileWriter(join(mt5, 'XAUUSDc_TickData.csv'), { encoding: 'windows-1252', delimiter: ';', header: ['Time', 'Ask', 'Bid', 'Volume'] });
    await ea.openHeld([[mqlDateTime(serverWall(T0)), 2650.4, 2650.1, 1]]);
    await writeJsonSnapshot(join(mt5, 'DWX_Market_Data.txt'), { GOLD: { bid: 2649.9, ask: 2650.2, last: 0, tick_value: 1 } }, 'rewrite');

    // A generic CSV with a column mapping, and an NDJSON log.
    await appendFile(join(other, 'prices.csv'), 'ts|px|qty\n'.replace(/\|/g, ',') + `${T0 / 1000},101.5,7\n`);
    await appendJsonLines(join(other, 'feed.ndjson'), [{ symbol: 'BTCUSD', bid: 90000, ask: 90010, time: T0 }]);

    const sources = [
      { path: sierra },
      {
        path: mt5,
        timeZone: SERVER,
        symbols: {
          aliases: { GOLD: 'XAUUSD' },
          rename: [
            { pattern: '_TickData$', replace: '' },
            { pattern: 'c$', replace: '' },
          ],
        },
      },
      { path: other, include: ['*.csv', '*.ndjson'], columns: { time: 'ts', last: 'px', volume: 'qty' } },
      ...(existsSync(samples) ? [{ path: samples, include: ['ES.txt'] }] : []),
    ];
    // M1 only: the stated M5 export is what EURUSD's M5 window shows (ticks would build a newer one).
    const bridge = await startTestBridge([], { sources, document: { bars: { M1: 200, M5: 0, M15: 0, H1: 0 }, bookLevels: 1 } });
    const client = await WsClient.connect(bridge.url);
    client.subscribe(['*']);
    const symbols = ['ESZ25_FUT_CME', 'NQZ25-CME', 'CLH25-NYM', 'EURUSD', 'XAUUSD', 'prices', 'BTCUSD', ...(existsSync(samples) ? ['ES'] : [])];
    await waitFor('every symbol', () => symbols.every((symbol) => client.document(symbol)));
    expect([...bridge.store.symbols()].map((state) => state.symbol).sort()).toEqual([...symbols].sort());

    // Live changes to every file.
    await scid.append([scidTickRecord({ time: T0 + 5000, bid: 6000.25, ask: 6000.5, last: 6000.5, size: 4, side: 'buy' })]);
    await depth.append(
      endBatch([
        { time: T0 + 5000, command: DepthCommand.DELETE_BID, price: 6000 },
        { time: T0 + 5000, command: DepthCommand.ADD_BID, price: 6000.25, quantity: 3, orders: 1 },
        { time: T0 + 5000, command: DepthCommand.DELETE_ASK, price: 6000.25 },
      ]),
    );
    await study.append([{ t: T0 + 900_000, o: 21010, h: 21012, l: 21008, c: 21011, v: 90, n: 30, bv: 40, av: 50, studies: [7, 8] }]);
    await ticks.append([{ time: serverWall(T0 + 61_000), bid: 1.08425, ask: 1.08437 }]);
    await ea.append([[mqlDateTime(serverWall(T0 + 2000)), 2651.4, 2651.1, 1]]);
    await writeJsonSnapshot(join(mt5, 'DWX_Market_Data.txt'), { GOLD: { bid: 2651.2, ask: 2651.5, last: 0, tick_value: 1 } }, 'rename');
    await appendJsonLines(join(other, 'feed.ndjson'), [{ symbol: 'BTCUSD', bid: 90020, ask: 90030, time: T0 + 1000, venue: 'X' }]);
    await ea.close();

    await waitFor(
      'the live changes',
      () =>
        symbols.every((symbol) => client.document(symbol)?.seq === bridge.store.get(symbol)?.seq) &&
        bridge.store.get('BTCUSD')?.document.fields.venue === 'X' &&
        bridge.store.get('XAUUSD')?.document.fields.tick_value === 1 &&
        bridge.store.get('XAUUSD')?.document.quote.bid === 2651.1 &&
        bridge.store.get('EURUSD')?.document.quote.bid === 1.08425 &&
        bridge.store.get('NQZ25-CME')?.document.bars.M5?.length === 4 &&
        bridge.store.get('ESZ25_FUT_CME')?.document.book?.time === T0 + 5000,
    );
    for (const symbol of symbols) {
      expect(client.document(symbol)?.data, symbol).toEqual(await documentOf(bridge.url, symbol));
    }

    const es = await documentOf(bridge.url, 'ESZ25_FUT_CME');
    expect(es.sources).toEqual(['sierra-depth', 'sierra-scid']);
    expect(es.quote).toEqual({ bid: 6000.25, ask: 6000.5, last: 6000.5, lastSize: 4, time: T0 + 5000 });
    expect(es.book).toEqual({ bids: [[6000.25, 3, 1]], asks: [[6000.5, 8, 2]], time: T0 + 5000 });

    const nq = await documentOf(bridge.url, 'NQZ25-CME');
    expect(nq.bars.M5?.at(-1)).toEqual({ t: T0 + 900_000, o: 21010, h: 21012, l: 21008, c: 21011, v: 90, n: 30, bv: 40, av: 50 });
    expect(nq.fields).toEqual({ Top: 7, 'Top#2': 8 });
    const cl = await documentOf(bridge.url, 'CLH25-NYM');
    expect(cl.bars.D1).toEqual([{ t: Date.UTC(2026, 10, 19), o: 70, h: 71, l: 69, c: 70.5, v: 1000 }]);
    expect(cl.fields).toEqual({ openInterest: 5000 });

    const eurusd = await documentOf(bridge.url, 'EURUSD');
    expect(eurusd.sources).toEqual(['mt5-bars', 'mt5-ticks']);
    expect(eurusd.quote).toEqual({ bid: 1.08425, ask: 1.08437, time: T0 + 61_000 });
    expect(eurusd.bars.M5).toEqual([{ t: T0 - 300_000, o: 1.084, h: 1.0845, l: 1.0839, c: 1.0842, v: 33 }]);
    expect(eurusd.bars.M1?.map((bar) => bar.t)).toEqual([T0, T0 + 60_000]);
    expect(eurusd.fields).toEqual({ spread: 12 });

    const gold = await documentOf(bridge.url, 'XAUUSD');
    expect(gold.sources).toEqual(['csv', 'json']);
    // The EA's ticks have times; the map's quotes do not, so they count as older.
    expect(gold.quote).toEqual({ bid: 2651.1, ask: 2651.4, time: T0 + 2000 });
    expect(gold.fields).toEqual({ tick_value: 1 });
    expect(bridge.store.get('XAUUSDc')).toBeUndefined();
    expect(bridge.store.get('GOLD')).toBeUndefined();

    expect((await documentOf(bridge.url, 'prices')).quote).toEqual({ last: 101.5, lastSize: 7, time: T0 });
    const btc = await documentOf(bridge.url, 'BTCUSD');
    expect(btc.quote).toEqual({ bid: 90020, ask: 90030, time: T0 + 1000 });
    expect(btc.fields).toEqual({ venue: 'X' });

    if (existsSync(samples)) {
      const es2011 = await documentOf(bridge.url, 'ES');
      expect(es2011.sources).toEqual(['sierra-text']);
      // 999 one-second bars from 23:00:00 to 01:33:21 fall in 147 distinct minutes.
      expect(es2011.bars.M1?.length).toBe(147);
      expect(es2011.bars.M1?.[0]).toMatchObject({ t: Date.UTC(2011, 0, 2, 23), o: 1256 });
      expect(es2011.quote).toEqual({ last: 1257, time: Date.UTC(2011, 0, 3, 1, 33, 21) });
    }
    const stats = (await getJson<{ sources: { problems: number } }>(`${bridge.url}/v1/stats`)).body;
    expect(stats.sources.problems).toBe(0);
    expect(client.mirror.violations).toEqual([]);
    await client.close();
  });

  it('a chart recalculation that rewrites a Sierra export is one patch, not a flood', async () => {
    const dir = await tempDir();
    const writer = new SierraTextWriter(join(dir, 'ES-BarData.txt'), 'study2025');
    const bars = Array.from({ length: 150 }, (_, i) => ({ t: T0 + i * 60_000, o: 6000 + i, h: 6002 + i, l: 5999 + i, c: 6001 + i, v: 10, n: 2, bv: 5, av: 5 }));
    await writer.rewrite(bars);
    const bridge = await startTestBridge([dir]);
    const client = await WsClient.connect(bridge.url);
    client.subscribe(['ES']);
    await waitFor('the snapshot', () => client.document('ES'));
    // Recalculated: the last bar's values change, everything else is written again as it was.
    bars[149] = { ...bars[149]!, c: 6100, h: 6100, v: 99 };
    await writer.rewrite(bars);
    await waitFor('the rewrite', () => bridge.store.get('ES')?.document.bars.M1?.at(-1)?.v === 99);
    await waitFor('the patch', () => client.document('ES')?.seq === bridge.store.get('ES')?.seq);
    const patches = client.of('patch');
    expect(patches).toHaveLength(1);
    // The bars of every default window built from the stated M1 bars (their last bar), and the
    // M5 indicators that 30 bars warm up (MACD needs 34).
    const rollup = (minutes: number): object => {
      const span = bars.slice(150 - (150 % minutes || minutes));
      return {
        t: span[0]!.t,
        o: span[0]!.o,
        h: Math.max(...span.map((bar) => bar.h)),
        l: Math.min(...span.map((bar) => bar.l)),
        c: 6100,
        v: span.reduce((sum, bar) => sum + bar.v, 0),
        n: 2 * span.length,
        bv: 5 * span.length,
        av: 5 * span.length,
      };
    };
    const ops = patches[0]?.ops ?? [];
    expect(ops.map((op) => op.path)).toEqual(['/quote/last', '/bars/M1/149', '/bars/M5/29', '/bars/M15/9', '/bars/H1/2', '/indicators/M5']);
    expect(ops.slice(0, 5)).toEqual([
      { op: 'replace', path: '/quote/last', value: 6100 },
      { op: 'replace', path: '/bars/M1/149', value: { t: T0 + 149 * 60_000, o: 6149, h: 6100, l: 6148, c: 6100, v: 99, n: 2, bv: 5, av: 5 } },
      { op: 'replace', path: '/bars/M5/29', value: rollup(5) },
      { op: 'replace', path: '/bars/M15/9', value: rollup(15) },
      { op: 'replace', path: '/bars/H1/2', value: rollup(60) },
    ]);
    expect(ops[5]).toMatchObject({ op: 'replace', value: { rsi14: expect.any(Number), ema20: expect.any(Number), atr14: expect.any(Number) } });
    await client.close();
  });
});
