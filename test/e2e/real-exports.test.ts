import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Bar, InstrumentDocument } from '../../src/model/document.js';
import { DepthWriter, snapshotBatch } from '../../src/sim/depth-writer.js';
import { ScidWriter, scidTickRecord, type ScidRecord } from '../../src/sim/scid-writer.js';
import { SierraTextWriter, type SierraBar } from '../../src/sim/sierra-text-writer.js';
import { LogCapture, startTestBridge } from '../helpers/bridge.js';
import { getJson } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';

/**
 * Exports as they come from other people's machines, through a whole bridge: an hourly
 * Sierra chart whose sessions restart its bars, a sparse far-month 5-minute chart, names
 * carrying timeframe and export tokens, `.scid`/`.depth` prices in native units, and ticks
 * with bid and ask volume building every window's `bv` and `av`.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 2, 2);

async function documentOf(url: string, symbol: string): Promise<InstrumentDocument> {
  return (await getJson<{ data: InstrumentDocument }>(`${url}/v1/symbols/${symbol}`)).body.data;
}

function sierraBar(t: number, i: number): SierraBar {
  return { t, o: 6000 + i, h: 6003 + i, l: 5998 + i, c: 6001 + i, v: 100 + i, n: 10 + i, bv: 40 + i, av: 60 };
}

/** The bar a Sierra row states. */
function stated(bar: SierraBar): Bar {
  return { t: bar.t, o: bar.o, h: bar.h, l: bar.l, c: bar.c, v: bar.v, n: bar.n, bv: bar.bv, av: bar.av };
}

/** Bars of `length` made of finer bars (ordered), on the UTC grid. */
function rollUp(bars: readonly Bar[], length: number): Bar[] {
  const out: Bar[] = [];
  for (const bar of bars) {
    const t = Math.floor(bar.t / length) * length;
    const last = out.at(-1);
    if (last?.t !== t) {
      out.push({ ...bar, t });
      continue;
    }
    last.h = Math.max(last.h, bar.h);
    last.l = Math.min(last.l, bar.l);
    last.c = bar.c;
    last.v += bar.v;
    last.n = (last.n ?? 0) + (bar.n ?? 0);
    last.bv = (last.bv ?? 0) + (bar.bv ?? 0);
    last.av = (last.av ?? 0) + (bar.av ?? 0);
  }
  return out;
}

describe('real exports end to end', () => {
  it('an hourly export with session-restarted bars (13:15, then 13:30) fills H1 as written, H4 from it, and never M1 or M15', async () => {
    const dir = await tempDir();
    // Three days of two sessions: evening bars at :15 (22:15 to 13:15, the last cut short), day bars at :30 (13:30 to 19:30).
    const times: number[] = [];
    for (let day = 0; day < 3; day++) {
      for (let hour = -2; hour <= 13; hour++) times.push(T0 + day * DAY + hour * HOUR + 15 * MIN);
      for (let hour = 13; hour <= 19; hour++) times.push(T0 + day * DAY + hour * HOUR + 30 * MIN);
    }
    const rows = times.map(sierraBar);
    await new SierraTextWriter(join(dir, 'ESH26-CME-BarData.txt'), 'export').rewrite(rows);
    const logs = new LogCapture('warn');
    const bridge = await startTestBridge([dir], { document: { bars: { M1: 500, M15: 500, H1: 500, H4: 500 } } }, logs);
    const es = await documentOf(bridge.url, 'ESH26-CME');
    expect(Object.keys(es.bars)).toEqual(['H1', 'H4']);
    // Every row is an H1 bar at its own open time: 69 bars, 13:15 and 13:30 apart (not merged into one).
    expect(es.bars.H1).toHaveLength(69);
    expect(es.bars.H1).toEqual(rows.map(stated));
    expect(es.bars.H1?.slice(14, 17).map((bar) => new Date(bar.t).toISOString().slice(11, 16))).toEqual(['12:15', '13:15', '13:30']);
    const h4 = rollUp(rows.map(stated), 4 * HOUR);
    expect(es.bars.H4).toEqual(h4);
    expect(es.bars.H4?.[0]).toEqual({ t: T0 - 4 * HOUR, o: 6000, h: 6004, l: 5998, c: 6002, v: 201, n: 21, bv: 81, av: 120 });
    expect(logs.lines.filter((line) => line.level === 40)).toEqual([]);
  });

  it('a sparse 5-minute export (hours between bars) fills M5 and the coarser windows, never M1; one warning says what was assumed', async () => {
    const dir = await tempDir();
    const times = [T0 + 14 * HOUR + 35 * MIN, T0 + 16 * HOUR + 50 * MIN, T0 + DAY + 9 * HOUR + 5 * MIN, T0 + 2 * DAY + 20 * MIN];
    const rows = times.map(sierraBar);
    await new SierraTextWriter(join(dir, 'NQU26-CME-BarData.txt'), 'export').rewrite(rows);
    // Named with its timeframe: read as M5 although every open time is on the hour.
    const named = [T0 + 3 * HOUR, T0 + 7 * HOUR, T0 + DAY + 2 * HOUR].map(sierraBar);
    await new SierraTextWriter(join(dir, 'NQH26-CME_5m.scid_BarData.txt'), 'export').rewrite(named);
    const logs = new LogCapture('warn');
    const bridge = await startTestBridge([dir], { document: { bars: { M1: 100, M5: 100, M15: 100, H1: 100 } } }, logs);

    const nqu = await documentOf(bridge.url, 'NQU26-CME');
    expect(Object.keys(nqu.bars)).toEqual(['M5', 'M15', 'H1']);
    expect(nqu.bars.M5).toEqual(rows.map(stated));
    expect(nqu.bars.M15?.map((bar) => bar.t)).toEqual([T0 + 14 * HOUR + 30 * MIN, T0 + 16 * HOUR + 45 * MIN, T0 + DAY + 9 * HOUR, T0 + 2 * DAY + 15 * MIN]);
    expect(nqu.bars.H1).toEqual(rows.map((row) => ({ ...stated(row), t: Math.floor(row.t / HOUR) * HOUR })));
    const warnings = logs.lines.filter((line) => line.level === 40).map((line) => String(line.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^"NQU26-CME-BarData.txt": too few rows to be sure of the bar timeframe: .*M5 grid.*; read as M5 bars; set the source's timeframe/,
    );

    const nqh = await documentOf(bridge.url, 'NQH26-CME');
    expect(Object.keys(nqh.bars)).toEqual(['M5', 'M15', 'H1']);
    expect(nqh.bars.M5).toEqual(named.map(stated));
  });

  it(".scid and .depth prices in native units, scaled by the symbol's priceMultiplier; volumes and counts as stored", async () => {
    const dir = await tempDir();
    const t = T0 + 14 * HOUR;
    const ticks: ScidRecord[] = [
      scidTickRecord({ time: t, bid: 642325, ask: 642350, last: 642350, size: 3, side: 'buy' }),
      scidTickRecord({ time: t + 1000, bid: 642300, ask: 642325, last: 642300, size: 2, side: 'sell' }),
      // A bar record of 1-second bars (Open is a price): scaled as well.
      { time: t + 2000, open: 642300, high: 642375, low: 642275, close: 642350, trades: 4, volume: 9, bidVolume: 5, askVolume: 4 },
    ];
    await new ScidWriter(join(dir, 'ESH26-CME.scid')).create(ticks);
    // Another symbol in the same folder keeps its prices.
    await new ScidWriter(join(dir, 'CLJ26-NYM.scid')).create([scidTickRecord({ time: t, bid: 70.25, ask: 70.26, last: 70.26, size: 1, side: 'buy' })]);
    await new DepthWriter(join(dir, 'ESH26-CME.2026-03-02.depth')).create(snapshotBatch(t, { bids: [[642325, 41, 3]], asks: [[642350, 12, 2]] }));
    const bridge = await startTestBridge([], {
      sources: [{ path: dir, symbols: { priceMultipliers: { 'ES*': 0.01 } } }],
      document: { bars: { M1: 10, M5: 0, M15: 0, H1: 0 } },
    });
    const es = await documentOf(bridge.url, 'ESH26-CME');
    // The bar record gives the last price; the last trade record its size.
    expect(es.quote).toEqual({ bid: 6423, ask: 6423.25, last: 6423.5, lastSize: 2, time: t + 2000 });
    expect(es.bars).toEqual({ M1: [{ t, o: 6423.5, h: 6423.75, l: 6422.75, c: 6423.5, v: 14, n: 6, bv: 7, av: 7 }] });
    expect(es.book).toEqual({ bids: [[6423.25, 41, 3]], asks: [[6423.5, 12, 2]], time: t });
    const cl = await documentOf(bridge.url, 'CLJ26-NYM');
    expect(cl.quote).toEqual({ bid: 70.25, ask: 70.26, last: 70.26, lastSize: 1, time: t });
  });

  it("a Sierra text export in native units, with the source's priceMultiplier", async () => {
    const dir = await tempDir();
    const row: SierraBar = { t: T0, o: 642350, h: 642400, l: 642300, c: 642375, v: 120, n: 30, bv: 50, av: 70 };
    await new SierraTextWriter(join(dir, 'ESH26-CME_M1-BarData.txt'), 'export', { digits: 0 }).rewrite([row, { ...row, t: T0 + MIN }]);
    const bridge = await startTestBridge([], { sources: [{ path: dir, priceMultiplier: 0.01 }], document: { bars: { M1: 10, M5: 0, M15: 0, H1: 0 } } });
    const es = await documentOf(bridge.url, 'ESH26-CME');
    const bar = { o: 6423.5, h: 6424, l: 6423, c: 6423.75, v: 120, n: 30, bv: 50, av: 70 };
    expect(es.bars).toEqual({
      M1: [
        { t: T0, ...bar },
        { t: T0 + MIN, ...bar },
      ],
    });
  });

  it('ticks with bid and ask volume give every window M1...H1 its summed bv and av; ticks without them leave the keys absent', async () => {
    const dir = await tempDir();
    const at = (minute: number) => T0 + 9 * HOUR + minute * MIN;
    const trades: [minute: number, price: number, size: number, side: 'buy' | 'sell'][] = [
      [0, 100, 2, 'buy'],
      [0.5, 101, 3, 'sell'],
      [4, 99, 1, 'sell'],
      [7, 102, 5, 'buy'],
      [16, 103, 4, 'buy'],
      [59, 98, 6, 'sell'],
    ];
    await new ScidWriter(join(dir, 'ESM26-CME.scid')).create(
      trades.map(([minute, last, size, side]) => scidTickRecord({ time: at(minute), bid: last - 1, ask: last + 1, last, size, side })),
    );
    await writeFile(join(dir, 'ACME.csv'), `ts,price,qty\n${at(0) / 1000},50,10\n${at(7) / 1000},51,20\n`);
    const bridge = await startTestBridge([dir], { document: { bars: { M1: 100, M5: 100, M15: 100, H1: 100 } } });
    const es = await documentOf(bridge.url, 'ESM26-CME');
    expect(es.bars).toEqual({
      M1: [
        { t: at(0), o: 100, h: 101, l: 100, c: 101, v: 5, n: 2, bv: 3, av: 2 },
        { t: at(4), o: 99, h: 99, l: 99, c: 99, v: 1, n: 1, bv: 1, av: 0 },
        { t: at(7), o: 102, h: 102, l: 102, c: 102, v: 5, n: 1, bv: 0, av: 5 },
        { t: at(16), o: 103, h: 103, l: 103, c: 103, v: 4, n: 1, bv: 0, av: 4 },
        { t: at(59), o: 98, h: 98, l: 98, c: 98, v: 6, n: 1, bv: 6, av: 0 },
      ],
      M5: [
        { t: at(0), o: 100, h: 101, l: 99, c: 99, v: 6, n: 3, bv: 4, av: 2 },
        { t: at(5), o: 102, h: 102, l: 102, c: 102, v: 5, n: 1, bv: 0, av: 5 },
        { t: at(15), o: 103, h: 103, l: 103, c: 103, v: 4, n: 1, bv: 0, av: 4 },
        { t: at(55), o: 98, h: 98, l: 98, c: 98, v: 6, n: 1, bv: 6, av: 0 },
      ],
      M15: [
        { t: at(0), o: 100, h: 102, l: 99, c: 102, v: 11, n: 4, bv: 4, av: 7 },
        { t: at(15), o: 103, h: 103, l: 103, c: 103, v: 4, n: 1, bv: 0, av: 4 },
        { t: at(45), o: 98, h: 98, l: 98, c: 98, v: 6, n: 1, bv: 6, av: 0 },
      ],
      H1: [{ t: at(0), o: 100, h: 103, l: 98, c: 98, v: 21, n: 6, bv: 10, av: 11 }],
    });
    const acme = await documentOf(bridge.url, 'ACME');
    expect(acme.bars.M1).toEqual([
      { t: at(0), o: 50, h: 50, l: 50, c: 50, v: 10, n: 1 },
      { t: at(7), o: 51, h: 51, l: 51, c: 51, v: 20, n: 1 },
    ]);
    expect(acme.bars.H1).toEqual([{ t: at(0), o: 50, h: 51, l: 50, c: 51, v: 30, n: 2 }]);
  });
});
