import type { Bar } from '../../model/document.js';
import { RollingWindow } from './rolling.js';
import type { IndicatorState, Series } from './types.js';

/** Simple moving average of the last `period` closes. */
export class SmaState implements IndicatorState<number> {
  readonly #closed: RollingWindow;

  constructor(readonly period: number) {
    this.#closed = new RollingWindow(period - 1);
  }

  push(bar: Bar): void {
    this.#closed.push(bar.c);
  }

  value(last: Bar): number | undefined {
    return this.#closed.length + 1 < this.period ? undefined : this.#closed.meanWith(last.c);
  }
}

export function smaSeries(bars: readonly Bar[], period: number): Series<number> {
  return bars.map((_, i) => {
    if (i + 1 < period) return undefined;
    let sum = 0;
    for (let j = i - period + 1; j <= i; j++) sum += (bars[j] as Bar).c;
    return sum / period;
  });
}
