import type { Bar } from '../../model/document.js';
import type { BarClock } from '../bar-clock.js';
import type { IndicatorState, Series } from './types.js';

/** A bar's typical price, (high + low + close) / 3. */
function typicalPrice(bar: Bar): number {
  return (bar.h + bar.l + bar.c) / 3;
}

/**
 * Session VWAP: Σ(typical price × volume) / Σ volume over the bars of the current session
 * (a D1 bar of the session zone; a bar belongs to the session of its open time). Absent
 * while the session has no volume.
 */
export class VwapState implements IndicatorState<number> {
  #session = Number.NaN;
  #priceVolume = 0;
  #volume = 0;

  constructor(private readonly sessions: BarClock) {}

  push(bar: Bar): void {
    const session = this.sessions.open(bar.t);
    if (session !== this.#session) {
      this.#session = session;
      this.#priceVolume = 0;
      this.#volume = 0;
    }
    this.#priceVolume += typicalPrice(bar) * bar.v;
    this.#volume += bar.v;
  }

  value(last: Bar): number | undefined {
    const same = this.sessions.open(last.t) === this.#session;
    const volume = (same ? this.#volume : 0) + last.v;
    if (volume <= 0) return undefined;
    return ((same ? this.#priceVolume : 0) + typicalPrice(last) * last.v) / volume;
  }
}

export function vwapSeries(bars: readonly Bar[], sessions: BarClock): Series<number> {
  return bars.map((bar, i) => {
    const session = sessions.open(bar.t);
    let priceVolume = 0;
    let volume = 0;
    for (let j = i; j >= 0 && sessions.open((bars[j] as Bar).t) === session; j--) {
      priceVolume += typicalPrice(bars[j] as Bar) * (bars[j] as Bar).v;
      volume += (bars[j] as Bar).v;
    }
    return volume > 0 ? priceVolume / volume : undefined;
  });
}
