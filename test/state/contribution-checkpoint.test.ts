import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Bar, type Timeframe, type WindowSizes } from '../../src/model/document.js';
import { TimeZone } from '../../src/model/zone.js';
import { Contribution, type SavedContribution } from '../../src/state/contribution.js';

/**
 * A contribution saved as a checkpoint saves it (through JSON), restored with the same
 * windows, and fed the rest of the records, seals exactly as the one that was never saved.
 */

const T0 = Date.UTC(2026, 10, 20, 14);
const WINDOWS: WindowSizes = { M1: 12, M5: 6, H1: 3 };
const ZONE = TimeZone.parse('America/New_York');

type Step =
  | { kind: 'trade'; dt: number; price: number; size: number }
  | { kind: 'quote'; dt: number; bid: number }
  | { kind: 'bar'; timeframe: Timeframe | null; dt: number; o: number; replacesLast: boolean }
  | { kind: 'book'; dt: number; bid: number }
  | { kind: 'fields'; value: number };

const price = fc.integer({ min: 24_000, max: 24_100 }).map((ticks) => ticks / 4);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('trade' as const), dt: fc.integer({ min: -120_000, max: 2_000_000 }), price, size: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ kind: fc.constant('quote' as const), dt: fc.integer({ min: 0, max: 2_000_000 }), bid: price }),
  fc.record({
    kind: fc.constant('bar' as const),
    timeframe: fc.constantFrom<Timeframe | null>(null, 'M1', 'M5'),
    dt: fc.integer({ min: 0, max: 400 }).map((minutes) => minutes * 60_000),
    o: price,
    replacesLast: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('book' as const), dt: fc.integer({ min: 0, max: 2_000_000 }), bid: price }),
  fc.record({ kind: fc.constant('fields' as const), value: fc.integer() }),
);

function apply(contribution: Contribution, steps: readonly Step[]): void {
  for (const s of steps) {
    if (s.kind === 'trade') contribution.applyTick({ time: T0 + s.dt, last: s.price, size: s.size, bidVolume: 1, askVolume: s.size - 1 });
    else if (s.kind === 'quote') contribution.applyTick({ time: T0 + s.dt, bid: s.bid, ask: s.bid + 0.25 });
    else if (s.kind === 'bar') {
      const bar: Bar = { t: T0 + s.dt, o: s.o, h: s.o + 1, l: s.o - 1, c: s.o + 0.25, v: 3, n: 2 };
      contribution.applyBar(bar, s.timeframe, s.timeframe === null && s.replacesLast);
    } else if (s.kind === 'book') contribution.applyBook({ bids: [[s.bid, 1]], asks: [[s.bid + 0.25, 2]], time: T0 + s.dt });
    else contribution.applyFields({ oi: s.value });
  }
}

describe('contribution: checkpoint and restore', () => {
  it('goes on exactly after a checkpoint taken between any two records (property)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.array(step, { maxLength: 60 }), fc.constantFrom('trade', 'auto'), (before, after, basis) => {
        const straight = new Contribution('sierra-scid', basis, WINDOWS, ZONE);
        apply(straight, before);
        straight.seal();
        apply(straight, after);

        const first = new Contribution('sierra-scid', basis, WINDOWS, ZONE);
        apply(first, before);
        first.seal();
        const saved = JSON.parse(JSON.stringify(first.checkpoint())) as SavedContribution;
        const restored = Contribution.restore(saved, WINDOWS, ZONE);
        expect(restored.seal()).toEqual(first.seal());
        apply(restored, after);
        expect(restored.seal()).toEqual(straight.seal());
      }),
      { numRuns: 300 },
    );
  });

  it('refuses windows that are not the configured ones', () => {
    const contribution = new Contribution('sierra-scid', 'trade', WINDOWS);
    contribution.applyTick({ time: T0, last: 6000, size: 1 });
    const saved = JSON.parse(JSON.stringify(contribution.checkpoint())) as SavedContribution;
    expect(() => Contribution.restore(saved, { M1: 12, M5: 6 })).toThrow(RangeError);
    expect(() => Contribution.restore(saved, { ...WINDOWS, M1: 0 })).toThrow(RangeError);
    expect(() => Contribution.restore(saved, { ...WINDOWS, M1: 0, M15: 4 })).toThrow(RangeError);
    const unordered = structuredClone(saved);
    const window = unordered.built[0];
    if (window) window.bars = [...window.bars, ...window.bars];
    expect(() => Contribution.restore(unordered, WINDOWS)).toThrow(/not in order/);
    // The windows configured now, all of them, restore.
    expect(Contribution.restore(saved, WINDOWS).seal().bars.M1?.length).toBe(1);
  });
});
