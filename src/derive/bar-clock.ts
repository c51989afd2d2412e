import { TimeZone } from '../model/zone.js';
import { TIMEFRAME_MS, type Timeframe } from '../model/document.js';

const DAY_MS = TIMEFRAME_MS.D1;

/** Open time (UTC) of the bar of `timeframe` that holds `time`. */
export function barOpenTime(time: number, timeframe: Timeframe): number {
  const length = TIMEFRAME_MS[timeframe];
  return Math.floor(time / length) * length;
}

/** Where the bars of one timeframe begin. */
export interface BarClock {
  readonly timeframe: Timeframe;
  /** Open time (epoch ms) of the bar that holds `time`. */
  open(time: number): number;
}

/**
 * The clock of `timeframe`. Bars are UTC-aligned, except D1 in a session zone, whose bars
 * open at the zone's midnight (23, 24 or 25 hours apart across a clock change); H4 stays
 * UTC-aligned whatever the zone.
 */
export function barClock(timeframe: Timeframe, sessionZone: TimeZone = TimeZone.UTC): BarClock {
  if (timeframe === 'D1' && !sessionZone.isUtc) return new ZonedDayClock(sessionZone);
  const length = TIMEFRAME_MS[timeframe];
  return { timeframe, open: (time) => Math.floor(time / length) * length };
}

/** Days of a zone. The day last asked for is remembered: a bar's ticks mostly fall in one day. */
class ZonedDayClock implements BarClock {
  readonly timeframe = 'D1';
  #start = Number.NaN;
  #end = Number.NaN;

  constructor(private readonly zone: TimeZone) {}

  open(time: number): number {
    if (time >= this.#start && time < this.#end) return this.#start;
    // The local midnight before `time` (a midnight skipped by a clock change reads as the
    // change itself), up to the next one.
    let localDay = Math.floor((time + this.zone.offsetAt(time)) / DAY_MS) * DAY_MS;
    let start = this.zone.toUtc(localDay);
    let end = this.zone.toUtc(localDay + DAY_MS);
    if (end <= time) {
      localDay += DAY_MS;
      start = end;
      end = this.zone.toUtc(localDay + DAY_MS);
    }
    this.#start = start;
    this.#end = end;
    return start;
  }
}
