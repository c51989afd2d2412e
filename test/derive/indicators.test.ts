import { describe, expect, it } from 'vitest';
import { barClock } from '../../src/derive/bar-clock.js';
import { createState, parseIndicatorKey, seriesOf, specOf, warmupOf, type IndicatorSpec } from '../../src/derive/indicators/catalog.js';
import { decimalsOf, priceDecimalsOf, roundValue } from '../../src/derive/indicators/rounding.js';
import { TimeZone } from '../../src/model/zone.js';
import type { Bar, IndicatorValue } from '../../src/model/document.js';

/**
 * Every indicator against values computed independently here, with the textbook formulas
 * written out plainly on a fixed series (warm-up included), through both the batch series and
 * the incremental state (each bar first seen forming, then closed). RSI is also checked
 * against the published worked example of StockCharts' ChartSchool.
 */

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 20, 14, 0);
const UTC_DAYS = barClock('D1');

/** StockCharts' RSI example (cs-rsi.xls): 33 closes, and the RSI(14) they print from the 15th on. */
const STOCKCHARTS_CLOSES = [
  44.3389, 44.0902, 44.1497, 43.6124, 44.2779, 44.8264, 45.0955, 45.4245, 45.8433, 46.0826, 45.8931, 46.0328, 45.614, 46.282, 46.282, 46.0028, 46.0328, 46.4116,
  46.2222, 45.6439, 46.2122, 46.2521, 45.7137, 46.4515, 45.7835, 45.3548, 44.0288, 44.1783, 44.2181, 44.5672, 43.4205, 42.6628, 43.1314,
];
const STOCKCHARTS_RSI = [70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38, 54.71, 50.42, 39.99, 41.46, 41.87, 45.46, 37.3, 33.08, 37.77];

/** A fixed series of 60 M1 bars across a UTC midnight, with gaps, flat runs and volume. */
const SERIES: Bar[] = STOCKCHARTS_CLOSES.concat([
  43.5, 43.5, 43.5, 44.1, 44.9, 44.2, 45, 45.8, 45.1, 44.7, 44.7, 45.3, 46, 46.4, 46.1, 45.2, 44.8, 45.5, 45.9, 46.6, 46.2, 47, 47.3, 46.8, 46.9, 47.4, 47.1,
]).map((c, i) => ({
  t: Date.UTC(2026, 10, 20, 23, 30) + i * MIN,
  o: c - 0.1 * (i % 3),
  h: c + 0.3 + (i % 4) * 0.1,
  l: c - 0.4 - (i % 5) * 0.05,
  c,
  v: 100 + ((i * 37) % 50),
}));

// ---------------------------------------------------------------- the textbook formulas

const closes = (bars: readonly Bar[]) => bars.map((bar) => bar.c);

function refSma(values: number[], n: number): (number | undefined)[] {
  return values.map((_, i) => (i < n - 1 ? undefined : values.slice(i - n + 1, i + 1).reduce((a, b) => a + b, 0) / n));
}

/** EMA: the first value is the SMA of the first n; then EMA = (x − EMA_prev) × 2/(n+1) + EMA_prev. */
function refEma(values: number[], n: number): (number | undefined)[] {
  const k = 2 / (n + 1);
  const out: (number | undefined)[] = [];
  for (let i = 0; i < values.length; i++) {
    if (i < n - 1) out.push(undefined);
    else if (i === n - 1) out.push(refSma(values.slice(0, n), n)[n - 1]);
    else out.push(((values[i] as number) - (out[i - 1] as number)) * k + (out[i - 1] as number));
  }
  return out;
}

/** Wilder: average gain/loss = mean of the first n changes, then (prev × (n−1) + current) / n; RSI = 100 − 100/(1+RS). */
function refRsi(values: number[], n: number): (number | undefined)[] {
  const out: (number | undefined)[] = [undefined];
  let gain = 0;
  let loss = 0;
  for (let i = 1; i < values.length; i++) {
    const change = (values[i] as number) - (values[i - 1] as number);
    const g = change > 0 ? change : 0;
    const l = change < 0 ? -change : 0;
    if (i < n) {
      gain += g / n;
      loss += l / n;
      out.push(undefined);
      continue;
    }
    if (i === n) {
      gain += g / n;
      loss += l / n;
    } else {
      gain = (gain * (n - 1) + g) / n;
      loss = (loss * (n - 1) + l) / n;
    }
    out.push(loss === 0 ? (gain === 0 ? 50 : 100) : 100 - 100 / (1 + gain / loss));
  }
  return out;
}

/** Wilder: TR = max(H−L, |H−C_prev|, |L−C_prev|) (H−L for the first bar); ATR = mean of the first n TR, then Wilder smoothing. */
function refAtr(bars: readonly Bar[], n: number): (number | undefined)[] {
  const ranges = bars.map((bar, i) => {
    if (i === 0) return bar.h - bar.l;
    const previous = (bars[i - 1] as Bar).c;
    return Math.max(bar.h - bar.l, Math.abs(bar.h - previous), Math.abs(bar.l - previous));
  });
  const out: (number | undefined)[] = [];
  for (let i = 0; i < ranges.length; i++) {
    if (i < n - 1) out.push(undefined);
    else if (i === n - 1) out.push(ranges.slice(0, n).reduce((a, b) => a + b, 0) / n);
    else out.push(((out[i - 1] as number) * (n - 1) + (ranges[i] as number)) / n);
  }
  return out;
}

/** MACD line = EMA12 − EMA26; signal = EMA9 of the line (from its first value); histogram = line − signal. */
function refMacd(values: number[]): ({ macd: number; signal: number; hist: number } | undefined)[] {
  const fast = refEma(values, 12);
  const slow = refEma(values, 26);
  const first = 25;
  const line = values.slice(first).map((_, j) => (fast[first + j] as number) - (slow[first + j] as number));
  const signal = refEma(line, 9);
  return values.map((_, i) => {
    if (i < first || signal[i - first] === undefined) return undefined;
    const macd = line[i - first] as number;
    const s = signal[i - first] as number;
    return { macd, signal: s, hist: macd - s };
  });
}

/** Middle = SMA(n); upper/lower = middle ± 2 × the population standard deviation of the same n closes. */
function refBands(values: number[], n: number): ({ upper: number; middle: number; lower: number } | undefined)[] {
  return values.map((_, i) => {
    if (i < n - 1) return undefined;
    const window = values.slice(i - n + 1, i + 1);
    const middle = window.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(window.reduce((a, b) => a + (b - middle) ** 2, 0) / n);
    return { upper: middle + 2 * sd, middle, lower: middle - 2 * sd };
  });
}

/** VWAP = Σ(typical × volume) / Σ volume since the session (the UTC day here) began; typical = (H+L+C)/3. */
function refVwap(bars: readonly Bar[]): (number | undefined)[] {
  return bars.map((bar, i) => {
    const day = Math.floor(bar.t / 86_400_000);
    const session = bars.slice(0, i + 1).filter((other) => Math.floor(other.t / 86_400_000) === day);
    const volume = session.reduce((sum, other) => sum + other.v, 0);
    return volume === 0 ? undefined : session.reduce((sum, other) => sum + ((other.h + other.l + other.c) / 3) * other.v, 0) / volume;
  });
}

// ---------------------------------------------------------------- helpers

/** The values as the bridge follows a live window: each bar first forming (value), then closed (push). */
function incremental(spec: IndicatorSpec, bars: readonly Bar[]): (IndicatorValue | undefined)[] {
  const state = createState(spec, UTC_DAYS);
  return bars.map((bar) => {
    const value = state.value(bar);
    state.push(bar);
    return value;
  });
}

function expectClose(actual: readonly (IndicatorValue | undefined)[], expected: readonly (IndicatorValue | undefined)[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  expected.forEach((value, i) => {
    const got = actual[i];
    if (value === undefined) {
      expect(got, `${what}[${i}] still warming up`).toBeUndefined();
      return;
    }
    expect(got, `${what}[${i}]`).toBeDefined();
    const pairs: [number, number][] =
      typeof value === 'number'
        ? [[got as number, value]]
        : Object.entries(value).map(([key, part]) => [(got as unknown as Record<string, number>)[key] as number, part as number]);
    for (const [a, b] of pairs) expect(Math.abs(a - b), `${what}[${i}]: ${a} vs ${b}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));
  });
}

function check(key: string, expected: readonly (IndicatorValue | undefined)[], bars: readonly Bar[] = SERIES): void {
  const spec = parseIndicatorKey(key);
  expectClose(seriesOf(spec, bars, UTC_DAYS), expected, `${key} batch`);
  expectClose(incremental(spec, bars), expected, `${key} incremental`);
}

// ---------------------------------------------------------------- the tests

describe('indicators against the textbook formulas on a fixed series', () => {
  it('RSI (Wilder) reproduces the StockCharts worked example to the cent', () => {
    const bars = STOCKCHARTS_CLOSES.map((c, i): Bar => ({ t: T0 + i * MIN, o: c, h: c, l: c, c, v: 1 }));
    for (const values of [seriesOf(specOf('rsi', 14), bars, UTC_DAYS), incremental(specOf('rsi', 14), bars)]) {
      expect(values.slice(0, 14)).toEqual(Array(14).fill(undefined));
      expect(values.slice(14).map((value) => Number((value as number).toFixed(2)))).toEqual(STOCKCHARTS_RSI);
    }
  });

  it('small cases worked by hand', () => {
    const bars = [1, 2, 3, 2, 2].map((c, i): Bar => ({ t: T0 + i * MIN, o: c, h: c + 1, l: c - 1, c, v: i + 1 }));
    // RSI(2): changes +1 +1 −1 0. At bar 2: gains 1, losses 0 → 100; bar 3: gain 0.5, loss 0.5 → 50;
    // bar 4: gain 0.25, loss 0.25 → 50.
    expect(seriesOf(specOf('rsi', 2), bars, UTC_DAYS)).toEqual([undefined, undefined, 100, 50, 50]);
    // SMA(3) and EMA(3) (α = 0.5, seeded with the SMA of 1, 2, 3 = 2): 2, then 2, then 2.
    expect(seriesOf(specOf('sma', 3), bars, UTC_DAYS)).toEqual([undefined, undefined, 2, 7 / 3, 7 / 3]);
    expect(seriesOf(specOf('ema', 3), bars, UTC_DAYS)).toEqual([undefined, undefined, 2, 2, 2]);
    // ATR(2): TR 2, 2, 2, 2, 2 (ranges of 2; the gaps to the previous close are 1): 2 throughout.
    expect(seriesOf(specOf('atr', 2), bars, UTC_DAYS)).toEqual([undefined, 2, 2, 2, 2]);
    // VWAP: typical prices are the closes; (1·1 + 2·2) / 3 at bar 1.
    expect(seriesOf(specOf('vwap'), bars, UTC_DAYS)[1]).toBe(5 / 3);
    // Bollinger(2) at bar 1: mean 1.5, population σ 0.5 → 2.5 / 1.5 / 0.5.
    expect(seriesOf(specOf('bb', 2), bars, UTC_DAYS)[1]).toEqual({ upper: 2.5, middle: 1.5, lower: 0.5 });
  });

  it('SMA and EMA', () => {
    for (const n of [1, 2, 10, 20]) {
      check(`sma${n}`, refSma(closes(SERIES), n));
      check(`ema${n}`, refEma(closes(SERIES), n));
    }
  });

  it('RSI (Wilder)', () => {
    for (const n of [2, 14]) check(`rsi${n}`, refRsi(closes(SERIES), n));
    // A flat run is 50, a run without a loss 100.
    const flat = [5, 5, 5, 5].map((c, i): Bar => ({ t: T0 + i * MIN, o: c, h: c, l: c, c, v: 1 }));
    expect(seriesOf(specOf('rsi', 2), flat, UTC_DAYS)).toEqual([undefined, undefined, 50, 50]);
  });

  it('ATR (Wilder)', () => {
    for (const n of [1, 5, 14]) check(`atr${n}`, refAtr(SERIES, n));
  });

  it('MACD (12, 26, 9): the first value at bar 34', () => {
    const expected = refMacd(closes(SERIES));
    expect(expected.findIndex((value) => value !== undefined)).toBe(33);
    expect(warmupOf(specOf('macd'))).toBe(34);
    check('macd', expected);
  });

  it('Bollinger bands (20, 2)', () => {
    check('bb20', refBands(closes(SERIES), 20));
    check('bb5', refBands(closes(SERIES), 5));
  });

  it('session VWAP restarts at the session (D1) boundary, also in a session zone', () => {
    const expected = refVwap(SERIES);
    check('vwap', expected);
    // The series crosses midnight UTC at bar 30: the first bar of the new day is its own VWAP.
    const midnight = SERIES.findIndex((bar) => bar.t === Date.UTC(2026, 10, 21));
    expect(midnight).toBe(30);
    const first = SERIES[midnight] as Bar;
    expect(expected[midnight]).toBeCloseTo((first.h + first.l + first.c) / 3, 12);
    // In New York the session runs on: no restart at midnight UTC.
    const newYork = barClock('D1', TimeZone.parse('America/New_York'));
    const state = createState(specOf('vwap'), newYork);
    let last: IndicatorValue | undefined;
    for (const bar of SERIES) {
      last = state.value(bar);
      state.push(bar);
    }
    const all = SERIES.reduce((sum, bar) => sum + ((bar.h + bar.l + bar.c) / 3) * bar.v, 0) / SERIES.reduce((sum, bar) => sum + bar.v, 0);
    expect(last).toBeCloseTo(all, 9);
    expect(seriesOf(specOf('vwap'), SERIES, newYork).at(-1)).toBeCloseTo(all, 9);
    // No volume in the session: no VWAP.
    expect(seriesOf(specOf('vwap'), [{ t: T0, o: 1, h: 1, l: 1, c: 1, v: 0 }], UTC_DAYS)).toEqual([undefined]);
  });

  it('names, periods and warm-up', () => {
    expect(parseIndicatorKey('rsi14')).toEqual({ name: 'rsi', period: 14, key: 'rsi14' });
    expect(parseIndicatorKey('bb20')).toEqual({ name: 'bb', period: 20, key: 'bb20' });
    expect(parseIndicatorKey('macd')).toEqual({ name: 'macd', period: null, key: 'macd' });
    for (const bad of ['rsi', 'rsi0', 'rsi1001', 'macd9', 'wma10', 'RSI14', 'ema020']) expect(() => parseIndicatorKey(bad), bad).toThrow(RangeError);
    expect(specOf('ema')).toEqual({ name: 'ema', period: 20, key: 'ema20' });
    expect(() => specOf('vwap', 3)).toThrow(/takes no period/);
    expect([warmupOf(specOf('rsi', 14)), warmupOf(specOf('ema', 20)), warmupOf(specOf('atr', 14)), warmupOf(specOf('vwap'))]).toEqual([15, 20, 14, 1]);
  });
});

describe('rounding for publication', () => {
  it("prices get two decimals beyond the instrument's, RSI hundredths; no float noise", () => {
    expect(decimalsOf(6012.25)).toBe(2);
    expect(decimalsOf(1.08421)).toBe(5);
    expect(decimalsOf(100)).toBe(0);
    expect(decimalsOf(1e-7)).toBe(7);
    expect(priceDecimalsOf([{ t: 0, o: 6012.25, h: 6012.5, l: 6011.75, c: 6012, v: 1 }])).toBe(2);
    // Float noise in a source's prices counts for at most 8 decimals.
    expect(priceDecimalsOf([{ t: 0, o: 0.1 + 0.2, h: 1, l: 1, c: 1, v: 1 }])).toBe(8);
    expect(roundValue(specOf('ema', 20), 6012.123456789, 2)).toBe(6012.1235);
    expect(roundValue(specOf('rsi', 14), 55.123456, 5)).toBe(55.12);
    expect(roundValue(specOf('macd'), { macd: 0.1 + 0.2, signal: -0.000049999, hist: 1 / 3 }, 2)).toEqual({ macd: 0.3, signal: 0, hist: 0.3333 });
    expect(Object.is(roundValue(specOf('ema', 20), -0.00001, 2), 0)).toBe(true);
  });
});
