import type { Bar } from '../../model/document.js';
import type { BarClock } from '../bar-clock.js';
import { AtrState, atrSeries } from './atr.js';
import { BollingerState, bollingerSeries } from './bollinger.js';
import { EmaState, emaSeries } from './ema.js';
import { MACD_WARMUP, MacdState, macdSeries } from './macd.js';
import { RsiState, rsiSeries } from './rsi.js';
import { SmaState, smaSeries } from './sma.js';
import type { IndicatorState, Series } from './types.js';
import { VwapState, vwapSeries } from './vwap.js';

/** The indicators the bridge computes; those with a period are named `<name><period>` (`rsi14`). */
export const INDICATOR_NAMES = ['sma', 'ema', 'rsi', 'atr', 'bb', 'macd', 'vwap'] as const;
export type IndicatorName = (typeof INDICATOR_NAMES)[number];

export const MAX_PERIOD = 1000;
/** What `document.indicators` accepts: `sma`, `ema`, `rsi`, `atr`, `bb` with a period of 1-1000, `macd`, `vwap`. */
export const INDICATOR_KEY_PATTERN = '^(?:(?:sma|ema|rsi|atr|bb)(?:[1-9][0-9]{0,2}|1000)|macd|vwap)$';

/** The period an indicator gets when none is named. */
const DEFAULT_PERIODS: Readonly<Record<'sma' | 'ema' | 'rsi' | 'atr' | 'bb', number>> = { sma: 20, ema: 20, rsi: 14, atr: 14, bb: 20 };

export interface IndicatorSpec {
  readonly name: IndicatorName;
  /** Null for macd (12, 26, 9) and vwap. */
  readonly period: number | null;
  /** The key it is published under: `rsi14`, `macd`. */
  readonly key: string;
}

/** Every indicator with its default period: what the indicators route gives when no name is asked for. */
export const STANDARD_SET: readonly IndicatorSpec[] = INDICATOR_NAMES.map((name) => specOf(name));

function hasPeriod(name: IndicatorName): name is keyof typeof DEFAULT_PERIODS {
  return name !== 'macd' && name !== 'vwap';
}

/** The spec of `name` with `period` (its default when not given). Throws RangeError for a period it does not take. */
export function specOf(name: IndicatorName, period?: number): IndicatorSpec {
  if (!hasPeriod(name)) {
    if (period !== undefined) throw new RangeError(`${name} takes no period`);
    return { name, period: null, key: name };
  }
  const value = period ?? DEFAULT_PERIODS[name];
  if (!Number.isInteger(value) || value < 1 || value > MAX_PERIOD) throw new RangeError(`period must be an integer from 1 to ${MAX_PERIOD}`);
  return { name, period: value, key: `${name}${value}` };
}

/** `rsi14` → rsi of 14. Throws RangeError naming what is wrong. */
export function parseIndicatorKey(key: string): IndicatorSpec {
  if (!new RegExp(INDICATOR_KEY_PATTERN).test(key)) {
    throw new RangeError(`${JSON.stringify(key)} is not an indicator (sma, ema, rsi, atr or bb with a period, as rsi14; macd; vwap)`);
  }
  const match = /^([a-z]+?)(\d*)$/.exec(key) as RegExpExecArray;
  return specOf(match[1] as IndicatorName, match[2] ? Number(match[2]) : undefined);
}

/** Bars a window needs before the indicator has a value. */
export function warmupOf(spec: IndicatorSpec): number {
  switch (spec.name) {
    case 'rsi':
      return (spec.period as number) + 1;
    case 'macd':
      return MACD_WARMUP;
    case 'vwap':
      return 1;
    default:
      return spec.period as number;
  }
}

/** A fresh incremental state; `sessions` gives VWAP its sessions (D1 of the session zone). */
export function createState(spec: IndicatorSpec, sessions: BarClock): IndicatorState {
  const period = spec.period as number;
  switch (spec.name) {
    case 'sma':
      return new SmaState(period);
    case 'ema':
      return new EmaState(period);
    case 'rsi':
      return new RsiState(period);
    case 'atr':
      return new AtrState(period);
    case 'bb':
      return new BollingerState(period);
    case 'macd':
      return new MacdState();
    case 'vwap':
      return new VwapState(sessions);
  }
}

/** The value at every bar, recomputed from the whole series (on-demand queries, and the baseline incremental updates are checked and measured against). */
export function seriesOf(spec: IndicatorSpec, bars: readonly Bar[], sessions: BarClock): Series {
  const period = spec.period as number;
  switch (spec.name) {
    case 'sma':
      return smaSeries(bars, period);
    case 'ema':
      return emaSeries(bars, period);
    case 'rsi':
      return rsiSeries(bars, period);
    case 'atr':
      return atrSeries(bars, period);
    case 'bb':
      return bollingerSeries(bars, period);
    case 'macd':
      return macdSeries(bars);
    case 'vwap':
      return vwapSeries(bars, sessions);
  }
}
