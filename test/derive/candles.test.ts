import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { barOpenTime } from '../../src/derive/bar-clock.js';
import { CandleWindow } from '../../src/derive/candles.js';
import { type Bar, type Timeframe, TIMEFRAME_MS } from '../../src/model/document.js';

const MIN = 60_000;
/** A minute boundary. */
const T0 = 1_763_640_000_000;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

describe('barOpenTime', () => {
  it('floors to the timeframe in UTC', () => {
    const day = 1_763_596_800_000; // 2025-11-20T00:00:00Z
    expect(day % TIMEFRAME_MS.D1).toBe(0);
    expect(barOpenTime(day + 59_999, 'M1')).toBe(day);
    expect(barOpenTime(day + 60_000, 'M1')).toBe(day + MIN);
    expect(barOpenTime(day + 4 * MIN + 59_999.5, 'M5')).toBe(day);
    expect(barOpenTime(day + 5 * MIN, 'M5')).toBe(day + 5 * MIN);
    expect(barOpenTime(day + 23 * 3_600_000, 'H4')).toBe(day + 20 * 3_600_000);
    expect(barOpenTime(day + 86_399_999, 'D1')).toBe(day);
  });
});

describe('CandleWindow.addTrade', () => {
  it('builds OHLCV and trade count within a minute', () => {
    const w = new CandleWindow('M1', 10);
    w.addTrade(T0 + 1_000, 100, 2, 1);
    w.addTrade(T0 + 2_000, 103, 1, 1);
    w.addTrade(T0 + 3_000, 99, 5, 1);
    w.addTrade(T0 + 59_999, 101, 4, 2);
    expect(w.seal()).toEqual([{ t: T0, o: 100, h: 103, l: 99, c: 101, v: 12, n: 5 }]);
  });

  it('without a trade count, bars carry no n', () => {
    const w = new CandleWindow('M1', 10);
    w.addTrade(T0, 100, 1, undefined);
    w.addTrade(T0 + 1, 101, 1, undefined);
    const bars = w.seal();
    expect(bars).toEqual([{ t: T0, o: 100, h: 101, l: 100, c: 101, v: 2 }]);
    expect('n' in (bars[0] as Bar)).toBe(false);
  });

  it('a new minute appends a bar', () => {
    const w = new CandleWindow('M1', 10);
    w.addTrade(T0 + 10, 100, 1, 1);
    w.addTrade(T0 + MIN + 10, 105, 3, 1);
    w.addTrade(T0 + 3 * MIN, 104, 1, 1);
    expect(w.seal()).toEqual([
      { t: T0, o: 100, h: 100, l: 100, c: 100, v: 1, n: 1 },
      { t: T0 + MIN, o: 105, h: 105, l: 105, c: 105, v: 3, n: 1 },
      { t: T0 + 3 * MIN, o: 104, h: 104, l: 104, c: 104, v: 1, n: 1 },
    ]);
  });

  it('aggregates into longer timeframes', () => {
    const w = new CandleWindow('M5', 10);
    for (let i = 0; i < 10; i++) w.addTrade(T0 + i * MIN, 100 + i, 1, 1);
    expect(w.seal()).toEqual([
      { t: T0, o: 100, h: 104, l: 100, c: 104, v: 5, n: 5 },
      { t: T0 + 5 * MIN, o: 105, h: 109, l: 105, c: 109, v: 5, n: 5 },
    ]);
  });

  it('capacity trims the oldest bars', () => {
    const w = new CandleWindow('M1', 3);
    for (let i = 0; i < 5; i++) w.addTrade(T0 + i * MIN, 100 + i, 1, 1);
    const bars = w.seal();
    expect(bars).toHaveLength(3);
    expect(bars.map((bar) => bar.t)).toEqual([T0 + 2 * MIN, T0 + 3 * MIN, T0 + 4 * MIN]);
    w.addTrade(T0 + 5 * MIN, 200, 1, 1);
    expect(w.seal().map((bar) => bar.t)).toEqual([T0 + 3 * MIN, T0 + 4 * MIN, T0 + 5 * MIN]);
  });

  it('a late trade updates its own bar; it is the open or close only when it is the earliest or latest by time', () => {
    const w = new CandleWindow('M1', 10);
    w.addTrade(T0 + 30_000, 100, 1, 1);
    w.addTrade(T0 + MIN + 5_000, 110, 1, 1);
    w.addTrade(T0 + 2 * MIN + 5_000, 120, 1, 1);
    w.seal();
    w.addTrade(T0 + MIN + 50_000, 130, 4, 1); // late, into the middle bar: its latest trade
    w.addTrade(T0 + 20_000, 90, 2, 3); // late, into the first bar: its earliest trade
    expect(w.seal()).toEqual([
      { t: T0, o: 90, h: 100, l: 90, c: 100, v: 3, n: 4 },
      { t: T0 + MIN, o: 110, h: 130, l: 110, c: 130, v: 5, n: 2 },
      { t: T0 + 2 * MIN, o: 120, h: 120, l: 120, c: 120, v: 1, n: 1 },
    ]);
  });

  it('a late trade into the forming bar that is older than its trades is its open, not its close', () => {
    const w = new CandleWindow('M1', 10);
    w.addTrade(T0 + 30_000, 100, 1, 1);
    w.addTrade(T0 + 10_000, 95, 1, 1);
    expect(w.seal()).toEqual([{ t: T0, o: 95, h: 100, l: 95, c: 100, v: 2, n: 2 }]);
    // Trades of the same time: the later arrival closes the bar.
    w.addTrade(T0 + 30_000, 101, 1, 1);
    expect(w.seal()).toEqual([{ t: T0, o: 95, h: 101, l: 95, c: 101, v: 3, n: 3 }]);
  });

  it('a late trade into a gap inserts its bar in order', () => {
    const w = new CandleWindow('M1', 10);
    w.addTrade(T0, 100, 1, 1);
    w.addTrade(T0 + 2 * MIN, 102, 1, 1);
    w.addTrade(T0 + MIN + 1, 101, 7, 1);
    const bars = w.seal();
    expect(bars.map((bar) => bar.t)).toEqual([T0, T0 + MIN, T0 + 2 * MIN]);
    expect(bars[1]).toEqual({ t: T0 + MIN, o: 101, h: 101, l: 101, c: 101, v: 7, n: 1 });
    expect((bars[2] as Bar).c).toBe(102);
  });

  it('a trade older than a full window is ignored; older than a partial window is inserted', () => {
    const full = new CandleWindow('M1', 3);
    for (let i = 5; i < 8; i++) full.addTrade(T0 + i * MIN, 100, 1, 1);
    const sealed = full.seal();
    full.addTrade(T0 + 2 * MIN, 50, 1, 1);
    expect(full.seal()).toBe(sealed);
    expect(sealed.map((bar) => bar.t)).toEqual([T0 + 5 * MIN, T0 + 6 * MIN, T0 + 7 * MIN]);

    const partial = new CandleWindow('M1', 3);
    partial.addTrade(T0 + 5 * MIN, 100, 1, 1);
    partial.addTrade(T0 + 2 * MIN, 50, 1, 1);
    expect(partial.seal().map((bar) => bar.t)).toEqual([T0 + 2 * MIN, T0 + 5 * MIN]);
  });
});

describe('CandleWindow.seal and copy-on-write', () => {
  it('returns the same array when nothing changed, a new one after a change', () => {
    const w = new CandleWindow('M1', 5);
    const empty = w.seal();
    expect(empty).toEqual([]);
    expect(w.seal()).toBe(empty);
    w.addTrade(T0, 1, 1, 1);
    const first = w.seal();
    expect(first).not.toBe(empty);
    expect(w.seal()).toBe(first);
    expect(w.seal()).toBe(first);
    w.addTrade(T0 + 1, 2, 1, 1);
    expect(w.seal()).not.toBe(first);
  });

  it('keeps unchanged bar objects across versions, copies the one it touches', () => {
    const w = new CandleWindow('M1', 5);
    for (let i = 0; i < 3; i++) w.addTrade(T0 + i * MIN, 100 + i, 1, 1);
    const v1 = w.seal();
    w.addTrade(T0 + 2 * MIN + 1, 200, 1, 1);
    const v2 = w.seal();
    expect(v2[0]).toBe(v1[0]);
    expect(v2[1]).toBe(v1[1]);
    expect(v2[2]).not.toBe(v1[2]);
    expect((v1[2] as Bar).c).toBe(102);
    expect((v2[2] as Bar).c).toBe(200);
  });

  it('copies a published bar once per draft, not once per trade', () => {
    const w = new CandleWindow('M1', 5);
    w.addTrade(T0, 100, 1, 1);
    const v1 = w.seal();
    w.addTrade(T0 + 1, 101, 1, 1);
    const draftBar = w.bars[0];
    w.addTrade(T0 + 2, 102, 1, 1);
    expect(w.bars[0]).toBe(draftBar);
    expect(w.seal()[0]).toBe(draftBar);
    expect((v1[0] as Bar).v).toBe(1);
  });

  it('never mutates published (frozen) bars or arrays', () => {
    const w = new CandleWindow('M1', 4);
    for (let i = 0; i < 4; i++) w.addTrade(T0 + i * MIN, 100 + i, 1, 1);
    const published = deepFreeze(w.seal());
    const snapshot = JSON.stringify(published);
    expect(() => {
      w.addTrade(T0 + 3 * MIN + 1, 150, 2, 1); // last bar
      w.addTrade(T0 + MIN + 1, 90, 2, 1); // late, middle bar
      w.addBar({ t: T0 + 2 * MIN, o: 1, h: 300, l: 1, c: 2, v: 9, n: 1, bv: 4, av: 5 });
      w.addTrade(T0 + 4 * MIN, 160, 1, 1); // new minute: rolls the window
    }).not.toThrow();
    expect(JSON.stringify(published)).toBe(snapshot);
    const next = deepFreeze(w.seal());
    expect(next).not.toBe(published);
    expect(next.map((bar) => bar.t)).toEqual([T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN, T0 + 4 * MIN]);
    expect(next[0]).toMatchObject({ l: 90, v: 3, n: 2 });
    expect(next[1]).toMatchObject({ h: 300, l: 1, v: 10, n: 2, bv: 4, av: 5, o: 102, c: 2 });
    expect(next[2]).toMatchObject({ h: 150, c: 150, v: 3, n: 2 });
    // And again on top of the frozen second version.
    const nextSnapshot = JSON.stringify(next);
    expect(() => {
      w.addTrade(T0 + 4 * MIN + 1, 170, 1, 1);
      w.addTrade(T0 + MIN + 2, 80, 1, 1);
      w.seal();
    }).not.toThrow();
    expect(JSON.stringify(next)).toBe(nextSnapshot);
    expect(JSON.stringify(published)).toBe(snapshot);
  });
});

describe('CandleWindow.addBar', () => {
  it('merges sub-minute bars into M1 and M5', () => {
    const m1 = new CandleWindow('M1', 10);
    const m5 = new CandleWindow('M5', 10);
    const seconds: Bar[] = [
      { t: T0, o: 10, h: 12, l: 9, c: 11, v: 3, n: 2, bv: 1, av: 2 },
      { t: T0 + 10_000, o: 11, h: 15, l: 11, c: 14, v: 4, n: 3, bv: 2, av: 2 },
      { t: T0 + 50_000, o: 14, h: 14, l: 8, c: 8, v: 1, n: 1, bv: 1, av: 0 },
      { t: T0 + MIN + 30_000, o: 8, h: 9, l: 7, c: 9, v: 6, n: 4, bv: 3, av: 3 },
    ];
    for (const bar of seconds) {
      m1.addBar(bar);
      m5.addBar(bar);
    }
    expect(m1.seal()).toEqual([
      { t: T0, o: 10, h: 15, l: 8, c: 8, v: 8, n: 6, bv: 4, av: 4 },
      { t: T0 + MIN, o: 8, h: 9, l: 7, c: 9, v: 6, n: 4, bv: 3, av: 3 },
    ]);
    expect(m5.seal()).toEqual([{ t: T0, o: 10, h: 15, l: 7, c: 9, v: 14, n: 10, bv: 7, av: 7 }]);
  });

  it('does not keep or change the bar it was given', () => {
    const w = new CandleWindow('M1', 10);
    const source: Bar = { t: T0 + 5_000, o: 1, h: 2, l: 0.5, c: 1.5, v: 1 };
    w.addBar(source);
    w.addBar({ t: T0 + 6_000, o: 1.5, h: 3, l: 1, c: 2, v: 2 });
    expect(source).toEqual({ t: T0 + 5_000, o: 1, h: 2, l: 0.5, c: 1.5, v: 1 });
    expect(w.seal()).toEqual([{ t: T0, o: 1, h: 3, l: 0.5, c: 2, v: 3 }]);
  });

  it('an M1 bar into M5, and a bar older than a full window is ignored', () => {
    const w = new CandleWindow('M5', 2);
    w.addBar({ t: T0 + 10 * MIN, o: 1, h: 1, l: 1, c: 1, v: 1 });
    w.addBar({ t: T0 + 16 * MIN, o: 2, h: 2, l: 2, c: 2, v: 1 });
    const sealed = w.seal();
    w.addBar({ t: T0 + 2 * MIN, o: 3, h: 3, l: 3, c: 3, v: 1 });
    expect(w.seal()).toBe(sealed);
    expect(sealed.map((bar) => bar.t)).toEqual([T0 + 10 * MIN, T0 + 15 * MIN]);
  });
});

// ---------------------------------------------------------------- a model-based property

type ModelBar = Bar;

/** The obvious mutable implementation of the same rules. */
class Model {
  bars: ModelBar[] = [];
  /** Times of each bar's earliest and latest trade. */
  readonly edges = new Map<number, { first: number; last: number }>();
  constructor(
    readonly timeframe: Timeframe,
    readonly capacity: number,
  ) {}

  /** Returns false when the trade was ignored. */
  trade(time: number, price: number, volume: number, trades: number | undefined): boolean {
    const t = barOpenTime(time, this.timeframe);
    const index = this.bars.findIndex((bar) => bar.t === t);
    if (index >= 0) {
      const bar = this.bars[index] as ModelBar;
      const edges = this.edges.get(t) as { first: number; last: number };
      bar.h = Math.max(bar.h, price);
      bar.l = Math.min(bar.l, price);
      if (time < edges.first) [edges.first, bar.o] = [time, price];
      if (time >= edges.last) [edges.last, bar.c] = [time, price];
      bar.v += volume;
      if (trades !== undefined) bar.n = (bar.n ?? 0) + trades;
      return true;
    }
    const first = this.bars[0];
    if (first && t < first.t && this.bars.length >= this.capacity) return false;
    const bar: ModelBar = { t, o: price, h: price, l: price, c: price, v: volume };
    if (trades !== undefined) bar.n = trades;
    this.edges.set(t, { first: time, last: time });
    this.bars.push(bar);
    this.bars.sort((x, y) => x.t - y.t);
    while (this.bars.length > this.capacity) this.bars.shift();
    return true;
  }
}

type Step = { kind: 'trade'; minute: number; second: number; price: number; volume: number; trades: number | undefined } | { kind: 'seal' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('trade' as const),
      minute: fc.integer({ min: 0, max: 30 }),
      second: fc.integer({ min: 0, max: 59_999 }),
      price: fc.integer({ min: 1, max: 1000 }),
      volume: fc.nat(20),
      trades: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'seal' as const }) },
);

describe('CandleWindow: property against a model', () => {
  it('matches the model, and every sealed version stays as it was published', () => {
    fc.assert(
      fc.property(fc.constantFrom<Timeframe>('M1', 'M5'), fc.integer({ min: 1, max: 8 }), fc.array(step, { maxLength: 60 }), (timeframe, capacity, steps) => {
        const window = new CandleWindow(timeframe, capacity);
        const model = new Model(timeframe, capacity);
        const published: { bars: readonly Bar[]; json: string }[] = [];
        let last = window.seal();
        let changedSinceSeal = false;
        for (const s of steps) {
          if (s.kind === 'seal') {
            const bars = window.seal();
            if (!changedSinceSeal) expect(bars).toBe(last);
            expect(bars).toEqual(model.bars);
            // Timestamps strictly ascending, within capacity.
            for (let i = 1; i < bars.length; i++) expect((bars[i] as Bar).t).toBeGreaterThan((bars[i - 1] as Bar).t);
            expect(bars.length).toBeLessThanOrEqual(capacity);
            published.push({ bars: deepFreeze(bars), json: JSON.stringify(bars) });
            last = bars;
            changedSinceSeal = false;
          } else {
            const time = T0 + s.minute * MIN + s.second;
            if (model.trade(time, s.price, s.volume, s.trades)) changedSinceSeal = true;
            window.addTrade(time, s.price, s.volume, s.trades);
            expect(window.bars).toEqual(model.bars);
          }
        }
        expect(window.seal()).toEqual(model.bars);
        for (const version of published) expect(JSON.stringify(version.bars)).toBe(version.json);
      }),
      { numRuns: 200 },
    );
  });
});

describe('CandleWindow: bars stated by a file, and the forming bar rewritten', () => {
  const bar = (t: number, c: number, v: number): Bar => ({ t, o: 100, h: Math.max(100, c), l: Math.min(100, c), c, v });

  it('putBar replaces the bar with the same open time, inserts others in order, and keeps published bars intact', () => {
    const window = new CandleWindow('M5', 3);
    window.putBar(bar(T0, 101, 5));
    window.putBar(bar(T0 + 5 * MIN, 102, 6));
    const published = deepFreeze(window.seal());
    window.putBar(bar(T0 + 5 * MIN, 103, 9));
    window.putBar(bar(T0 + 15 * MIN, 104, 1));
    window.putBar(bar(T0 + 10 * MIN, 99, 2));
    expect(window.seal()).toEqual([bar(T0 + 5 * MIN, 103, 9), bar(T0 + 10 * MIN, 99, 2), bar(T0 + 15 * MIN, 104, 1)]);
    expect(published).toEqual([bar(T0, 101, 5), bar(T0 + 5 * MIN, 102, 6)]);
  });

  it('addBar with replacesLast undoes the last merge first: a rewritten record corrects its bar, never counts twice', () => {
    const window = new CandleWindow('M1', 10);
    window.addBar({ ...bar(T0, 101, 5), n: 2 });
    window.addBar({ ...bar(T0 + 10_000, 103, 3), n: 1 });
    const before = deepFreeze(window.seal());
    // Sierra rewrote the last 10-second record: close 102, volume 4.
    window.addBar({ ...bar(T0 + 10_000, 102, 4), n: 2 }, true);
    expect(window.seal()).toEqual([{ t: T0, o: 100, h: 102, l: 100, c: 102, v: 9, n: 4 }]);
    expect(before[0]).toMatchObject({ h: 103, v: 8 });
    // A rewrite of a record that opened its bar removes that bar before merging the new one.
    window.addBar({ ...bar(T0 + MIN, 105, 1) });
    window.addBar({ ...bar(T0 + MIN, 104, 2) }, true);
    expect(window.seal()[1]).toEqual({ t: T0 + MIN, o: 100, h: 104, l: 100, c: 104, v: 2 });
  });

  it('gives the same bars as merging only the final version of each record (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            step: fc.integer({ min: 0, max: 40_000 }),
            c: fc.integer({ min: 90, max: 110 }),
            v: fc.integer({ min: 1, max: 9 }),
            rewrites: fc.array(fc.tuple(fc.integer({ min: 90, max: 110 }), fc.integer({ min: 1, max: 9 })), { maxLength: 3 }),
          }),
          { maxLength: 30 },
        ),
        (records) => {
          const live = new CandleWindow('M1', 50);
          const final = new CandleWindow('M1', 50);
          let t = T0;
          for (const record of records) {
            t += record.step;
            live.addBar(bar(t, record.c, record.v));
            for (const [c, v] of record.rewrites) live.addBar(bar(t, c, v), true);
            const [c, v] = record.rewrites.at(-1) ?? [record.c, record.v];
            final.addBar(bar(t, c, v));
          }
          expect(live.seal()).toEqual(final.seal());
        },
      ),
      { numRuns: 300 },
    );
  });
});
