import type { Bar } from '../../model/document.js';
import type { IndicatorState, Series } from './types.js';

/** True range: the bar's range, widened to the previous close (the first bar: its range). */
function trueRange(bar: Bar, previousClose: number | undefined): number {
  if (previousClose === undefined) return bar.h - bar.l;
  return Math.max(bar.h - bar.l, Math.abs(bar.h - previousClose), Math.abs(bar.l - previousClose));
}

/**
 * Wilder's average true range: the first value is the mean of the first `period` true
 * ranges (the first bar's being its high − low), then (previous × (period − 1) + TR) / period.
 */
export class AtrState implements IndicatorState<number> {
  #previousClose: number | undefined;
  #bars = 0;
  #atr = 0;

  constructor(readonly period: number) {}

  push(bar: Bar): void {
    this.#atr = this.#next(trueRange(bar, this.#previousClose));
    this.#previousClose = bar.c;
    this.#bars++;
  }

  value(last: Bar): number | undefined {
    return this.#bars + 1 < this.period ? undefined : this.#next(trueRange(last, this.#previousClose));
  }

  /** The running sum until the period is full, its mean at the period, Wilder's smoothing after. */
  #next(range: number): number {
    const count = this.#bars + 1;
    const n = this.period;
    if (count < n) return this.#atr + range;
    if (count === n) return (this.#atr + range) / n;
    return (this.#atr * (n - 1) + range) / n;
  }
}

export function atrSeries(bars: readonly Bar[], period: number): Series<number> {
  const out: Series<number> = [];
  let atr = 0;
  for (let i = 0; i < bars.length; i++) {
    const range = trueRange(bars[i] as Bar, i === 0 ? undefined : (bars[i - 1] as Bar).c);
    if (i + 1 < period) {
      atr += range;
      out.push(undefined);
    } else {
      atr = i + 1 === period ? (atr + range) / period : (atr * (period - 1) + range) / period;
      out.push(atr);
    }
  }
  return out;
}
