import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { barClock } from '../../src/derive/bar-clock.js';
import { CandleWindow } from '../../src/derive/candles.js';
import { TimeZone } from '../../src/model/zone.js';
import { Contribution } from '../../src/state/contribution.js';
import { type Bar, type Timeframe, TIMEFRAME_MS, type WindowSizes } from '../../src/model/document.js';

/** Bars of every timeframe: UTC boundaries, D1 in a session zone, from ticks or from finer bars. */

const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 14, 0);
const NEW_YORK = TimeZone.parse('America/New_York');

describe('bar boundaries', () => {
  it('are UTC by default, and H4 stays UTC-aligned in any session zone', () => {
    const day = Date.UTC(2026, 10, 20);
    expect(barClock('D1').open(day + 23 * HOUR)).toBe(day);
    expect(barClock('H4', NEW_YORK).open(day + 23 * HOUR)).toBe(day + 20 * HOUR);
    expect(barClock('H1', NEW_YORK).open(day + 23 * HOUR + 59 * MIN)).toBe(day + 23 * HOUR);
  });

  it("D1 opens at the session zone's midnight: 23 hours on the spring change, 25 on the autumn one", () => {
    const d1 = barClock('D1', NEW_YORK);
    // 2026-03-08: EST (UTC−5) until 02:00, EDT (UTC−4) after.
    expect(d1.open(Date.UTC(2026, 2, 8, 4, 59))).toBe(Date.UTC(2026, 2, 7, 5));
    expect(d1.open(Date.UTC(2026, 2, 8, 5))).toBe(Date.UTC(2026, 2, 8, 5));
    expect(d1.open(Date.UTC(2026, 2, 9, 3, 59))).toBe(Date.UTC(2026, 2, 8, 5));
    expect(d1.open(Date.UTC(2026, 2, 9, 4))).toBe(Date.UTC(2026, 2, 9, 4));
    // 2026-11-01: EDT until 02:00, EST after: the day runs 04:00Z to 05:00Z the next day.
    expect(d1.open(Date.UTC(2026, 10, 1, 4))).toBe(Date.UTC(2026, 10, 1, 4));
    expect(d1.open(Date.UTC(2026, 10, 2, 4, 59))).toBe(Date.UTC(2026, 10, 1, 4));
    expect(d1.open(Date.UTC(2026, 10, 2, 5))).toBe(Date.UTC(2026, 10, 2, 5));
    // Asked out of order (the clock remembers the last day).
    expect(d1.open(Date.UTC(2026, 2, 8, 12))).toBe(Date.UTC(2026, 2, 8, 5));
  });

  it('"New York close" days (America/New_York+07:00) start at 17:00 in New York', () => {
    const fx = barClock('D1', TimeZone.parse('America/New_York+07:00'));
    expect(fx.open(Date.UTC(2026, 10, 20, 21, 59))).toBe(Date.UTC(2026, 10, 19, 22)); // 17:00 EST = 22:00Z
    expect(fx.open(Date.UTC(2026, 10, 20, 22))).toBe(Date.UTC(2026, 10, 20, 22));
    expect(fx.open(Date.UTC(2026, 6, 20, 21, 30))).toBe(Date.UTC(2026, 6, 20, 21)); // 17:00 EDT = 21:00Z
  });

  it("every instant falls in the day that opens at its zone's last midnight (property, several zones)", () => {
    const zones = ['America/New_York', 'Europe/London', 'Australia/Sydney', 'Asia/Kolkata', 'America/New_York+07:00', '+02:00'].map((spec) =>
      TimeZone.parse(spec),
    );
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2027, 0, 1) }), (zone, time) => {
        const open = barClock('D1', zone).open(time);
        expect(open).toBeLessThanOrEqual(time);
        expect(time - open).toBeLessThan(25 * HOUR);
        // The open is a wall-clock midnight of the zone, and no midnight lies between it and `time`.
        expect((open + zone.offsetAt(open)) % TIMEFRAME_MS.D1).toBe(0);
        expect(Math.floor((time + zone.offsetAt(time)) / TIMEFRAME_MS.D1)).toBe(Math.floor((open + zone.offsetAt(open)) / TIMEFRAME_MS.D1));
      }),
      { numRuns: 500 },
    );
  });

  it('a D1 window in a session zone keeps a day of 23 hours together', () => {
    const window = new CandleWindow('D1', 10, barClock('D1', NEW_YORK));
    window.addTrade(Date.UTC(2026, 2, 8, 4, 30), 10, 1, 1); // Saturday evening in New York
    window.addTrade(Date.UTC(2026, 2, 8, 6), 11, 1, 1);
    window.addTrade(Date.UTC(2026, 2, 9, 3, 30), 12, 1, 1); // 23:30 EDT, still Sunday
    window.addTrade(Date.UTC(2026, 2, 9, 4, 30), 13, 1, 1);
    expect(window.seal()).toEqual([
      { t: Date.UTC(2026, 2, 7, 5), o: 10, h: 10, l: 10, c: 10, v: 1, n: 1 },
      { t: Date.UTC(2026, 2, 8, 5), o: 11, h: 12, l: 11, c: 12, v: 2, n: 2 },
      { t: Date.UTC(2026, 2, 9, 4), o: 13, h: 13, l: 13, c: 13, v: 1, n: 1 },
    ]);
  });
});

const ALL: WindowSizes = { M1: 1000, M5: 1000, M15: 1000, M30: 1000, H1: 1000, H4: 1000, D1: 1000 };
const COARSER: Timeframe[] = ['M5', 'M15', 'M30', 'H1', 'H4', 'D1'];

describe('candles from ticks, or from finer bars', () => {
  const tick = fc.record({
    advance: fc.integer({ min: 0, max: 40 * MIN }),
    late: fc.integer({ min: 0, max: 2 * MIN }),
    price: fc.integer({ min: 400, max: 440 }),
    size: fc.integer({ min: 1, max: 9 }),
  });

  it('agree: ticks into every window = ticks into M1, its bars folded into the rest, as a bar export states them (property)', () => {
    fc.assert(
      fc.property(fc.array(tick, { minLength: 1, maxLength: 150 }), fc.integer({ min: 4, max: 30 }), fc.boolean(), (ticks, m1Size, zoned) => {
        const zone = zoned ? NEW_YORK : TimeZone.UTC;
        const fromTicks = new Contribution('sierra-scid', 'trade', { ...ALL, M1: m1Size }, zone);
        const m1 = new CandleWindow('M1', m1Size);
        // A bar export of M1 (Sierra text, an EA): the forming bar is stated again after each trade.
        const fromBars = new Contribution('sierra-text', 'trade', { ...ALL, M1: m1Size }, zone);
        // Sierra's own bar records: finer bars merged into every window.
        const merged = COARSER.map((timeframe) => new CandleWindow(timeframe, 1000, barClock(timeframe, zone)));
        let time = Date.UTC(2026, 2, 7, 20); // across New York's spring clock change
        for (const t of ticks) {
          time += t.advance;
          const at = time - t.late;
          const price = t.price / 4;
          fromTicks.applyTick({ time: at, last: price, size: t.size });
          m1.addTrade(at, price, t.size, 1);
          const bar = m1.barAt(Math.floor(at / MIN) * MIN);
          if (!bar) continue; // older than the M1 window: not stated again
          fromBars.applyBar(bar, 'M1');
          for (const window of merged) window.addBar({ t: at, o: price, h: price, l: price, c: price, v: t.size, n: 1 });
        }
        const built = fromTicks.seal().bars;
        const folded = fromBars.seal().bars;
        expect(folded.M1).toEqual(built.M1);
        for (const [i, timeframe] of COARSER.entries()) {
          expect(folded[timeframe], `${timeframe} from stated M1 bars`).toEqual(built[timeframe]);
          expect(merged[i]?.seal(), `${timeframe} from merged finer bars`).toEqual(built[timeframe]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a whole finer window folds into the same bars as its bars folded one by one (property)', () => {
    const bar = fc.record({
      gap: fc.integer({ min: 1, max: 90 }),
      o: fc.integer({ min: 400, max: 440 }),
      up: fc.nat(8),
      down: fc.nat(8),
      v: fc.nat(500),
      n: fc.option(fc.nat(9), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(bar, { minLength: 1, maxLength: 300 }),
        fc.constantFrom(...COARSER),
        fc.integer({ min: 2, max: 60 }),
        fc.boolean(),
        (specs, timeframe, size, zoned) => {
          const zone = zoned ? NEW_YORK : TimeZone.UTC;
          let t = Date.UTC(2026, 2, 7, 20);
          const finer: Bar[] = specs.map(({ gap, o, up, down, v, n }) => {
            t += gap * MIN;
            return { t, o, h: o + up, l: o - down, c: o + up - down, v, ...(n === undefined ? {} : { n }) };
          });
          const byBar = new CandleWindow(timeframe, size, barClock(timeframe, zone));
          for (const next of finer) byBar.foldFiner(next, undefined, finer, false);
          const whole = new CandleWindow(timeframe, size, barClock(timeframe, zone));
          whole.foldFinerWindow(finer);
          expect(whole.seal()).toEqual(byBar.seal());
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a late tick updates the bar it belongs to in every timeframe', () => {
    const c = new Contribution('sierra-scid', 'trade', { M1: 10, M5: 10, H1: 10, D1: 10 }, NEW_YORK);
    c.applyTick({ time: T0 + 4 * MIN + 50_000, last: 100, size: 1 });
    c.applyTick({ time: T0 + 5 * MIN + 10_000, last: 101, size: 1 }); // opens the next M1 and M5 bars
    const before = c.seal().bars;
    c.applyTick({ time: T0 + 4 * MIN + 55_000, last: 99, size: 5 }); // late: belongs to 14:04, its latest trade
    const after = c.seal().bars;
    expect(after.M1).toEqual([
      { t: T0 + 4 * MIN, o: 100, h: 100, l: 99, c: 99, v: 6, n: 2 },
      { t: T0 + 5 * MIN, o: 101, h: 101, l: 101, c: 101, v: 1, n: 1 },
    ]);
    expect(after.M5?.[0]).toEqual({ t: T0, o: 100, h: 100, l: 99, c: 99, v: 6, n: 2 });
    // H1 and D1 hold both minutes: the late trade extends their range and volume, their close stays the latest price.
    expect(after.H1).toEqual([{ t: T0, o: 100, h: 101, l: 99, c: 101, v: 7, n: 3 }]);
    expect(after.D1).toEqual([{ t: Date.UTC(2026, 10, 20, 5), o: 100, h: 101, l: 99, c: 101, v: 7, n: 3 }]);
    // The bars it did not touch are the same objects (the delta engine skips them).
    expect(after.M1?.[1]).toBe(before.M1?.[1]);
    expect(after.M5?.[1]).toBe(before.M5?.[1]);
  });

  it('an M5 export feeds M15, H1, H4 and D1 but not M1; its forming bar stated again corrects them', () => {
    const c = new Contribution('mt5-bars', 'auto', { M1: 200, M5: 100, M15: 50, H1: 24, H4: 10, D1: 10 });
    const m5 = (minute: number, h: number, l: number, close: number, v: number): Bar => ({ t: T0 + minute * MIN, o: 100, h, l, c: close, v });
    c.applyBar(m5(0, 102, 99, 101, 10), 'M5');
    c.applyBar(m5(5, 104, 100, 103, 20), 'M5');
    c.applyBar(m5(5, 103, 98, 102, 25), 'M5'); // rewritten: lower high, lower low, more volume
    const bars = c.seal().bars;
    expect(bars.M1).toBeUndefined();
    const coarse = { o: 100, h: 103, l: 98, c: 102, v: 35 };
    expect(bars.M15).toEqual([{ t: T0, ...coarse }]);
    expect(bars.H1).toEqual([{ t: T0, ...coarse }]);
    expect(bars.H4).toEqual([{ t: Date.UTC(2026, 10, 20, 12), ...coarse }]);
    expect(bars.D1).toEqual([{ t: Date.UTC(2026, 10, 20), ...coarse }]);
  });

  it('a stated bar rewritten after its finer window dropped the start of the coarse bar: volume exact, range extended', () => {
    const c = new Contribution('mt5-bars', 'auto', { M5: 2, H1: 5 });
    const m5 = (minute: number, h: number, v: number): Bar => ({ t: T0 + minute * MIN, o: 100, h, l: 99, c: 100, v });
    c.applyBar(m5(0, 110, 1), 'M5');
    c.applyBar(m5(5, 101, 2), 'M5');
    c.applyBar(m5(10, 102, 3), 'M5'); // the M5 window (2 bars) drops 14:00
    c.applyBar(m5(10, 120, 4), 'M5');
    expect(c.seal().bars.H1).toEqual([{ t: T0, o: 100, h: 120, l: 99, c: 100, v: 7 }]);
  });
});
