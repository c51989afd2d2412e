import type { Bar, IndicatorValue } from '../../model/document.js';
import type { IndicatorSpec } from './catalog.js';

/** Price decimals taken into account at most (a price with float noise has 16). */
const MAX_PRICE_DECIMALS = 8;
/** Decimals an indicator in price units gets beyond the prices'. */
const EXTRA_DECIMALS = 2;
/** RSI is 0-100: hundredths are all it can mean. */
const PERCENT_DECIMALS = 2;

/** Digits after the decimal point of a number as JSON prints it. */
export function decimalsOf(value: number): number {
  const text = String(value);
  const exponent = text.indexOf('e');
  if (exponent >= 0) {
    const mantissa = text.slice(0, exponent);
    const dot = mantissa.indexOf('.');
    return Math.max(0, (dot < 0 ? 0 : mantissa.length - dot - 1) - Number(text.slice(exponent + 1)));
  }
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** The decimals a bar's prices are written with (at most 8). */
export function barDecimals(bar: Bar): number {
  return Math.min(MAX_PRICE_DECIMALS, Math.max(decimalsOf(bar.o), decimalsOf(bar.h), decimalsOf(bar.l), decimalsOf(bar.c)));
}

/** The decimals the prices of `bars` are written with: the instrument's price precision. */
export function priceDecimalsOf(bars: readonly Bar[]): number {
  let decimals = 0;
  for (const bar of bars) decimals = Math.max(decimals, barDecimals(bar));
  return decimals;
}

/**
 * Rounds a value for publication, so that patches carry no float noise: RSI to hundredths,
 * values in price units to two decimals beyond the instrument's prices (ES at 0.25 ticks:
 * 4 decimals; EURUSD at 5: 7).
 */
export function roundValue(spec: IndicatorSpec, value: IndicatorValue, priceDecimals: number): IndicatorValue {
  const decimals = spec.name === 'rsi' ? PERCENT_DECIMALS : priceDecimals + EXTRA_DECIMALS;
  if (typeof value === 'number') return roundTo(value, decimals);
  if ('macd' in value) return { macd: roundTo(value.macd, decimals), signal: roundTo(value.signal, decimals), hist: roundTo(value.hist, decimals) };
  return { upper: roundTo(value.upper, decimals), middle: roundTo(value.middle, decimals), lower: roundTo(value.lower, decimals) };
}

function roundTo(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  const scaled = value * scale;
  // Beyond 2^52 the scaled value has no fraction left to round.
  if (!(Math.abs(scaled) < 2 ** 52)) return value;
  const result = Math.round(scaled) / scale;
  return result === 0 ? 0 : result;
}
