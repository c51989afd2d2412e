import type { Bar } from '../../model/document.js';
import type { IndicatorState, Series } from './types.js';

/**
 * Wilder's RSI of closes: the first average gain and loss are the means of the first
 * `period` changes (so the first value needs period + 1 bars), then each is smoothed as
 * (previous × (period − 1) + current) / period. 100 when there was no loss, 50 when the
 * price did not move at all.
 */
export class RsiState implements IndicatorState<number> {
  #previous = 0;
  #bars = 0;
  #gain = 0;
  #loss = 0;

  constructor(readonly period: number) {}

  push(bar: Bar): void {
    if (this.#bars > 0) {
      const change = bar.c - this.#previous;
      const averages = this.#averages(this.#bars, change);
      this.#gain = averages[0];
      this.#loss = averages[1];
    }
    this.#previous = bar.c;
    this.#bars++;
  }

  value(last: Bar): number | undefined {
    if (this.#bars < this.period) return undefined;
    const [gain, loss] = this.#averages(this.#bars, last.c - this.#previous);
    return rsiOf(gain, loss);
  }

  /**
   * The averages after the `changes`-th change (1-based): sums until the period is full,
   * their means at the period, Wilder's smoothing after.
   */
  #averages(changes: number, change: number): [number, number] {
    const gain = change > 0 ? change : 0;
    const loss = change < 0 ? -change : 0;
    const n = this.period;
    if (changes < n) return [this.#gain + gain, this.#loss + loss];
    if (changes === n) return [(this.#gain + gain) / n, (this.#loss + loss) / n];
    return [(this.#gain * (n - 1) + gain) / n, (this.#loss * (n - 1) + loss) / n];
  }
}

function rsiOf(gain: number, loss: number): number {
  if (loss === 0) return gain === 0 ? 50 : 100;
  return 100 - 100 / (1 + gain / loss);
}

export function rsiSeries(bars: readonly Bar[], period: number): Series<number> {
  const out: Series<number> = [undefined];
  let gain = 0;
  let loss = 0;
  for (let i = 1; i < bars.length; i++) {
    const change = (bars[i] as Bar).c - (bars[i - 1] as Bar).c;
    const up = Math.max(change, 0);
    const down = Math.max(-change, 0);
    if (i < period) {
      gain += up;
      loss += down;
      out.push(undefined);
      continue;
    }
    if (i === period) {
      gain = (gain + up) / period;
      loss = (loss + down) / period;
    } else {
      gain = (gain * (period - 1) + up) / period;
      loss = (loss * (period - 1) + down) / period;
    }
    out.push(rsiOf(gain, loss));
  }
  return out.slice(0, bars.length);
}
