import type { BandsValue, Bar } from '../../model/document.js';
import { RollingWindow } from './rolling.js';
import type { IndicatorState, Series } from './types.js';

/** Band width in standard deviations. */
const BANDS_WIDTH = 2;

/**
 * Bollinger bands: the SMA of the last `period` closes, ± 2 population standard
 * deviations of those closes.
 */
export class BollingerState implements IndicatorState<BandsValue> {
  readonly #closed: RollingWindow;

  constructor(readonly period: number) {
    this.#closed = new RollingWindow(period - 1);
  }

  push(bar: Bar): void {
    this.#closed.push(bar.c);
  }

  value(last: Bar): BandsValue | undefined {
    if (this.#closed.length + 1 < this.period) return undefined;
    return bands(this.#closed.meanWith(last.c), Math.sqrt(this.#closed.varianceWith(last.c)));
  }
}

function bands(middle: number, deviation: number): BandsValue {
  return { upper: middle + BANDS_WIDTH * deviation, middle, lower: middle - BANDS_WIDTH * deviation };
}

export function bollingerSeries(bars: readonly Bar[], period: number): Series<BandsValue> {
  return bars.map((_, i) => {
    if (i + 1 < period) return undefined;
    let sum = 0;
    for (let j = i - period + 1; j <= i; j++) sum += (bars[j] as Bar).c;
    const mean = sum / period;
    let squares = 0;
    for (let j = i - period + 1; j <= i; j++) squares += ((bars[j] as Bar).c - mean) ** 2;
    return bands(mean, Math.sqrt(squares / period));
  });
}
