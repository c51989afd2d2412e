import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { barClock } from '../../src/derive/bar-clock.js';
import { createState, INDICATOR_NAMES, seriesOf, specOf, type IndicatorSpec } from '../../src/derive/indicators/catalog.js';
import { IndicatorPlan, SymbolIndicators } from '../../src/derive/indicators/deriver.js';
import type { Bar, IndicatorValue } from '../../src/model/document.js';

/**
 * Incremental equals batch: the O(1) states, fed as a live window feeds them (every bar first
 * forming, then closed), give what recomputing the whole series gives, for random series;
 * and the per-symbol deriver, following a window through random ticks, new bars, late
 * changes to closed bars and wholesale rewrites, always publishes the batch values.
 */

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 20, 23, 0);
const DAYS = barClock('D1');

function near(a: IndicatorValue | undefined, b: IndicatorValue | undefined, tolerance: (x: number) => number): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (typeof a === 'number' || typeof b === 'number') return typeof a === 'number' && typeof b === 'number' && Math.abs(a - b) <= tolerance(b);
  const x = a as unknown as Record<string, number>;
  const y = b as unknown as Record<string, number>;
  return Object.keys(y).every((key) => Math.abs((x[key] as number) - (y[key] as number)) <= tolerance(y[key] as number));
}

const specs = fc.oneof(
  fc.constantFrom(...INDICATOR_NAMES.filter((name) => name === 'macd' || name === 'vwap')).map((name) => specOf(name)),
  fc
    .tuple(fc.constantFrom('sma' as const, 'ema' as const, 'rsi' as const, 'atr' as const, 'bb' as const), fc.integer({ min: 1, max: 30 }))
    .map(([name, period]) => specOf(name, period)),
);

/** Bars of quarter-point prices around 100 (ES-like), minutes apart with gaps, some crossing midnight. */
const barSeries = (maxLength: number) =>
  fc
    .array(
      fc.record({
        gap: fc.integer({ min: 1, max: 90 }),
        move: fc.integer({ min: -12, max: 12 }),
        up: fc.nat(8),
        down: fc.nat(8),
        open: fc.integer({ min: -4, max: 4 }),
        v: fc.nat(500),
      }),
      {
        minLength: 1,
        maxLength,
      },
    )
    .map((steps) => {
      let t = T0;
      let c = 100;
      return steps.map((step): Bar => {
        t += step.gap * MIN;
        c = Math.max(1, c + step.move * 0.25);
        const o = Math.max(0.25, c + step.open * 0.25);
        return { t, o, h: Math.max(o, c) + step.up * 0.25, l: Math.max(0.25, Math.min(o, c) - step.down * 0.25), c, v: step.v };
      });
    });

describe('incremental equals batch', () => {
  it('for every indicator, any period, random series (unrounded, within 1e-9)', () => {
    fc.assert(
      fc.property(specs, barSeries(120), (spec: IndicatorSpec, bars: Bar[]) => {
        const state = createState(spec, DAYS);
        const batch = seriesOf(spec, bars, DAYS);
        bars.forEach((bar, i) => {
          expect(
            near(state.value(bar), batch[i], (x) => 1e-9 * Math.max(1, Math.abs(x))),
            `${spec.key} at ${i}`,
          ).toBe(true);
          state.push(bar);
        });
      }),
      { numRuns: 400 },
    );
  });

  it('a long run keeps no drift (SMA and Bollinger sums are renewed every period)', () => {
    const state = createState(specOf('bb', 20), DAYS);
    const bars: Bar[] = [];
    let c = 6000;
    for (let i = 0; i < 50_000; i++) {
      c += ((i * 7919) % 9) * 0.25 - 1;
      const bar: Bar = { t: T0 + i * MIN, o: c, h: c + 0.5, l: c - 0.5, c, v: 1 };
      if (bars.length > 0) state.push(bars[bars.length - 1] as Bar);
      bars.push(bar);
    }
    const expected = seriesOf(specOf('bb', 20), bars.slice(-20), DAYS).at(-1);
    expect(near(state.value(bars.at(-1) as Bar), expected, () => 1e-9)).toBe(true);
  });
});

type Step =
  | { kind: 'tick'; move: number; volume: number }
  | { kind: 'close'; gap: number; move: number }
  | { kind: 'late'; back: number; move: number }
  | { kind: 'same' }
  | { kind: 'rewrite'; drop: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('tick' as const), move: fc.integer({ min: -6, max: 6 }), volume: fc.integer({ min: 1, max: 9 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('close' as const), gap: fc.integer({ min: 1, max: 5 }), move: fc.integer({ min: -6, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('late' as const), back: fc.integer({ min: 1, max: 6 }), move: fc.integer({ min: -6, max: 6 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'same' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rewrite' as const), drop: fc.integer({ min: 0, max: 3 }) }) },
);

describe('the per-symbol deriver follows a live window', () => {
  const keys = ['sma3', 'ema4', 'rsi3', 'atr3', 'bb4', 'macd', 'vwap'];
  const plan = new IndicatorPlan({ M1: keys });

  it('publishes the batch values after any sequence of ticks, new bars, late changes and rewrites', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 120 }), fc.integer({ min: 3, max: 60 }), (steps, capacity) => {
        const deriver = new SymbolIndicators(plan);
        // A window as CandleWindow publishes it: a new array per change, changed bars copied,
        // the oldest dropped beyond capacity. The states go on past what the window dropped,
        // until a closed bar changes: then they are rebuilt from the window. `series` is what
        // the published values are the batch values of.
        // Prices are cents ending in 01, 26, 51 or 76: always two decimals, as an instrument's are.
        const price = (cents: number): number => Math.max(101, cents) / 100;
        let bars: readonly Bar[] = [{ t: T0, o: 100.01, h: 100.01, l: 100.01, c: 100.01, v: 1 }];
        let series: Bar[] = [...bars];
        let published = deriver.update({ M1: bars });
        for (const s of steps) {
          const last = bars[bars.length - 1] as Bar;
          if (s.kind === 'tick') {
            const c = price(Math.round(last.c * 100) + s.move * 25);
            const bar = { ...last, h: Math.max(last.h, c), l: Math.min(last.l, c), c, v: last.v + s.volume };
            bars = [...bars.slice(0, -1), bar];
            series = [...series.slice(0, -1), bar];
          } else if (s.kind === 'close') {
            const c = price(Math.round(last.c * 100) + s.move * 25);
            const bar = { t: last.t + s.gap * MIN, o: c, h: c, l: c, c, v: 1 };
            bars = [...bars, bar].slice(-capacity);
            series = [...series, bar];
          } else if (s.kind === 'late' && bars.length > s.back) {
            const at = bars.length - 1 - s.back;
            const bar = bars[at] as Bar;
            const late = price(Math.round(bar.c * 100) + s.move * 25);
            bars = bars.map((other, i) => (i === at ? { ...bar, h: Math.max(bar.h, late), l: Math.min(bar.l, late), v: bar.v + 1 } : other));
            series = [...bars];
          } else if (s.kind === 'rewrite') {
            bars = bars.slice(0, Math.max(1, bars.length - s.drop)).map((bar) => ({ ...bar }));
            series = [...bars];
          }
          const before = published;
          published = deriver.update({ M1: bars });
          if (s.kind === 'same') expect(published).toBe(before);
          const values = published?.M1 ?? {};
          for (const key of keys) {
            const spec = plan.specs('M1').find((candidate) => candidate.key === key) as IndicatorSpec;
            const expected = seriesOf(spec, series, DAYS).at(-1);
            // Published values are rounded: RSI to hundredths, the rest to 4 decimals (2 + 2).
            const half = spec.name === 'rsi' ? 0.005 : 0.00005;
            expect(
              near(values[key], expected, () => half + 1e-9),
              `${key} after ${s.kind}: ${JSON.stringify(values[key])} vs ${JSON.stringify(expected)}`,
            ).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps its objects when nothing changed, and only the timeframes that changed', () => {
    const deriver = new SymbolIndicators(new IndicatorPlan({ M1: ['sma2'], M5: ['sma2'] }));
    const m1: Bar[] = [0, 1, 2].map((i) => ({ t: T0 + i * MIN, o: 1, h: 1, l: 1, c: 1 + i, v: 1 }));
    const m5: Bar[] = [0, 1].map((i) => ({ t: T0 + i * 5 * MIN, o: 1, h: 1, l: 1, c: 1 + i, v: 1 }));
    const first = deriver.update({ M1: m1, M5: m5 });
    expect(first).toEqual({ M1: { sma2: 2.5 }, M5: { sma2: 1.5 } });
    expect(deriver.update({ M1: m1, M5: m5 })).toBe(first);
    // A new M1 array whose values give the same average: nothing published changes.
    const same = [...m1.slice(0, -1), { ...(m1[2] as Bar) }];
    expect(deriver.update({ M1: same, M5: m5 })).toBe(first);
    const next = deriver.update({ M1: [...m1.slice(0, -1), { ...(m1[2] as Bar), c: 5 }], M5: m5 });
    expect(next).toEqual({ M1: { sma2: 3.5 }, M5: { sma2: 1.5 } });
    expect(next?.M5).toBe(first?.M5);
    // No bars left: no indicators.
    expect(deriver.update({})).toBeUndefined();
  });
});
