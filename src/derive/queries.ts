import type { TimeZone } from '../model/zone.js';
import { TIMEFRAMES, type Bar, type InstrumentDocument, type Timeframe, TIMEFRAME_MS, type IndicatorValue } from '../model/document.js';
import { barClock } from './bar-clock.js';
import { CandleWindow } from './candles.js';
import { seriesOf, warmupOf, type IndicatorSpec } from './indicators/catalog.js';
import type { IndicatorPlan } from './indicators/deriver.js';
import { priceDecimalsOf, roundValue } from './indicators/rounding.js';

/** Where the bars of a timeframe come from: the document's window of it, or of a finer one. */
export interface WindowSource {
  /** The timeframe of the window read. */
  readonly timeframe: Timeframe;
  readonly bars: readonly Bar[];
}

/**
 * The window `timeframe` is answered from: the document's own, or else the finer window
 * that spans the longest time (H4 from 24 H1 bars rather than 50 M15 bars; the coarser of
 * two that span as long). Null when the document has neither.
 */
export function sourceOf(document: InstrumentDocument, timeframe: Timeframe): WindowSource | null {
  const own = document.bars[timeframe];
  if (own && own.length > 0) return { timeframe, bars: own };
  let best: WindowSource | null = null;
  let bestSpan = -1;
  for (const finer of TIMEFRAMES) {
    if (TIMEFRAME_MS[finer] >= TIMEFRAME_MS[timeframe]) break;
    const bars = document.bars[finer];
    if (!bars || bars.length === 0) continue;
    const span = (bars[bars.length - 1] as Bar).t + TIMEFRAME_MS[finer] - (bars[0] as Bar).t;
    // At the same span the coarser window is less to aggregate.
    if (span >= bestSpan) {
      best = { timeframe: finer, bars };
      bestSpan = span;
    }
  }
  return best;
}

/**
 * The bars of `timeframe` from `source`: as they are when it is that timeframe's window,
 * else built from the finer bars (the first bar is left out when the finer window starts
 * after it opened: it would be missing its beginning).
 */
export function barsOf(source: WindowSource, timeframe: Timeframe, sessionZone: TimeZone): readonly Bar[] {
  if (source.timeframe === timeframe) return source.bars;
  const fine = source.bars;
  const window = new CandleWindow(timeframe, fine.length, barClock(timeframe, sessionZone));
  window.foldFinerWindow(fine);
  const bars = window.seal();
  return bars.length > 1 && (bars[0] as Bar).t < (fine[0] as Bar).t ? bars.slice(1) : bars;
}

/** Indicator values of one timeframe, and why any asked for has none. */
export interface IndicatorAnswer {
  values: Record<string, IndicatorValue>;
  missing: Record<string, string>;
}

/**
 * The values of `specs` over `bars` (the last bar being the forming one). An indicator the
 * document publishes for this timeframe is taken as published, so that an answer agrees with
 * the stream; any other is computed over the window in one pass.
 */
export function indicatorsOf(
  document: InstrumentDocument,
  timeframe: Timeframe,
  bars: readonly Bar[],
  ownWindow: boolean,
  specs: readonly IndicatorSpec[],
  plan: IndicatorPlan,
): IndicatorAnswer {
  const answer: IndicatorAnswer = { values: {}, missing: {} };
  const published = ownWindow ? plan.specs(timeframe) : [];
  const sessions = plan.sessions();
  let decimals: number | undefined;
  for (const spec of specs) {
    let value: IndicatorValue | undefined;
    if (published.some((candidate) => candidate.key === spec.key)) {
      value = document.indicators?.[timeframe]?.[spec.key];
    } else {
      const raw = seriesOf(spec, bars, sessions).at(-1);
      decimals ??= priceDecimalsOf(bars);
      if (raw !== undefined) value = roundValue(spec, raw, decimals);
    }
    if (value !== undefined) answer.values[spec.key] = value;
    else if (bars.length < warmupOf(spec)) answer.missing[spec.key] = `needs ${warmupOf(spec)} bars; the window has ${bars.length}`;
    else answer.missing[spec.key] = 'no volume in the session';
  }
  return answer;
}
