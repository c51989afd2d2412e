import type { Bar } from '../../model/document.js';
import { EmaCore, emaOf } from './rolling.js';
import type { IndicatorState, Series } from './types.js';

/** Exponential moving average of closes (α = 2/(period+1)), seeded with the SMA of the first `period`. */
export class EmaState implements IndicatorState<number> {
  readonly #ema: EmaCore;

  constructor(period: number) {
    this.#ema = new EmaCore(period);
  }

  push(bar: Bar): void {
    this.#ema.push(bar.c);
  }

  value(last: Bar): number | undefined {
    return this.#ema.value(last.c);
  }
}

export function emaSeries(bars: readonly Bar[], period: number): Series<number> {
  return emaOf(
    bars.map((bar) => bar.c),
    period,
  );
}
