import type { Bar, MacdValue } from '../../model/document.js';
import { EmaCore, emaOf } from './rolling.js';
import type { IndicatorState, Series } from './types.js';

const MACD_FAST = 12;
const MACD_SLOW = 26;
const MACD_SIGNAL = 9;
/** Bars before the first value: the slow EMA, then the signal's seed. */
export const MACD_WARMUP = MACD_SLOW + MACD_SIGNAL - 1;

/**
 * MACD (12, 26, 9): the 12-bar EMA of closes minus the 26-bar one, its 9-bar EMA (the
 * signal, seeded with the mean of the first nine MACD values) and their difference.
 */
export class MacdState implements IndicatorState<MacdValue> {
  readonly #fast = new EmaCore(MACD_FAST);
  readonly #slow = new EmaCore(MACD_SLOW);
  readonly #signal = new EmaCore(MACD_SIGNAL);

  push(bar: Bar): void {
    this.#fast.push(bar.c);
    this.#slow.push(bar.c);
    const slow = this.#slow.current;
    if (slow !== undefined) this.#signal.push((this.#fast.current as number) - slow);
  }

  value(last: Bar): MacdValue | undefined {
    const slow = this.#slow.value(last.c);
    if (slow === undefined) return undefined;
    const macd = (this.#fast.value(last.c) as number) - slow;
    const signal = this.#signal.value(macd);
    return signal === undefined ? undefined : { macd, signal, hist: macd - signal };
  }
}

export function macdSeries(bars: readonly Bar[]): Series<MacdValue> {
  const closes = bars.map((bar) => bar.c);
  const fast = emaOf(closes, MACD_FAST);
  const slow = emaOf(closes, MACD_SLOW);
  const line: number[] = [];
  for (let i = MACD_SLOW - 1; i < closes.length; i++) line.push((fast[i] as number) - (slow[i] as number));
  const signal = emaOf(line, MACD_SIGNAL);
  return closes.map((_, i) => {
    const at = i - (MACD_SLOW - 1);
    const value = signal[at];
    if (at < 0 || value === undefined) return undefined;
    const macd = line[at] as number;
    return { macd, signal: value, hist: macd - value };
  });
}
