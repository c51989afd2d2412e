import type { Bar, Timeframe } from '../state/document.js';

export const TIMEFRAME_MS: Readonly<Record<Timeframe, number>> = {
  M1: 60_000,
  M5: 300_000,
  M15: 900_000,
  M30: 1_800_000,
  H1: 3_600_000,
  H4: 14_400_000,
  D1: 86_400_000,
};

/** Open time (UTC) of the bar of `timeframe` that holds `time`. */
export function barOpenTime(time: number, timeframe: Timeframe): number {
  const length = TIMEFRAME_MS[timeframe];
  return Math.floor(time / length) * length;
}

/**
 * A rolling window of bars of one timeframe, oldest first, built from trades or finer bars.
 *
 * Published bars are never mutated: the first change after `seal()` copies the array and
 * the bar it touches, so a published document keeps its values and the delta engine can
 * skip every bar that is still the same object.
 */
export class CandleWindow {
  #published: readonly Bar[] = [];
  #draft: Bar[] | null = null;
  readonly #fresh = new Set<Bar>();
  /** The bar the last addBar() merged into, as it was before (null: that merge created it). */
  #lastMerge: { t: number; before: Bar | null } | null = null;

  constructor(
    readonly timeframe: Timeframe,
    readonly capacity: number,
  ) {}

  /** Adds a trade (or a tick, for bid-based bars) of `volume` and `trades` count. */
  addTrade(time: number, price: number, volume: number, trades: number | undefined): void {
    const t = barOpenTime(time, this.timeframe);
    const index = this.#indexFor(this.bars, t);
    this.#lastMerge = null;
    if (index === null) return;
    const bars = this.#draftBars();
    if (index < 0) {
      const bar: Bar = { t, o: price, h: price, l: price, c: price, v: volume };
      if (trades !== undefined) bar.n = trades;
      this.#insert(bars, ~index, bar);
      return;
    }
    const bar = this.#writable(bars, index);
    if (price > bar.h) bar.h = price;
    if (price < bar.l) bar.l = price;
    // A late trade belongs to its bar's range and volume, but the close is the latest price.
    if (index === bars.length - 1) bar.c = price;
    bar.v += volume;
    if (trades !== undefined) bar.n = (bar.n ?? 0) + trades;
  }

  /**
   * Merges a finer bar (a Sierra bar record of seconds, or an M1 bar into M5). With
   * `replacesLast`, `source` is the last bar merged, rewritten by its writer: that merge is
   * undone first, so the bar is corrected rather than counted twice.
   */
  addBar(source: Bar, replacesLast = false): void {
    const t = barOpenTime(source.t, this.timeframe);
    if (replacesLast) this.#undoLastMerge(t);
    const index = this.#indexFor(this.bars, t);
    this.#lastMerge = null;
    if (index === null) return;
    const bars = this.#draftBars();
    if (index < 0) {
      const bar: Bar = { ...source, t };
      this.#insert(bars, ~index, bar);
      this.#lastMerge = { t, before: null };
      return;
    }
    const bar = this.#writable(bars, index);
    this.#lastMerge = { t, before: { ...bar } };
    if (source.h > bar.h) bar.h = source.h;
    if (source.l < bar.l) bar.l = source.l;
    if (index === bars.length - 1) bar.c = source.c;
    bar.v += source.v;
    if (source.n !== undefined) bar.n = (bar.n ?? 0) + source.n;
    if (source.bv !== undefined) bar.bv = (bar.bv ?? 0) + source.bv;
    if (source.av !== undefined) bar.av = (bar.av ?? 0) + source.av;
  }

  /** A bar of this timeframe as its source states it: replaces the bar with its open time. */
  putBar(source: Bar): void {
    const index = this.#indexFor(this.bars, source.t);
    this.#lastMerge = null;
    if (index === null) return;
    const bars = this.#draftBars();
    const bar = { ...source };
    if (index < 0) {
      this.#insert(bars, ~index, bar);
      return;
    }
    bars[index] = bar;
    this.#fresh.add(bar);
  }

  /** Restores the bar at `t` to what it was before the last merge into it. */
  #undoLastMerge(t: number): void {
    const last = this.#lastMerge;
    if (!last || last.t !== t) return;
    const bars = this.#draftBars();
    const index = this.#indexFor(bars, t);
    if (index === null || index < 0) return;
    if (last.before === null) {
      bars.splice(index, 1);
      return;
    }
    const restored = { ...last.before };
    bars[index] = restored;
    this.#fresh.add(restored);
  }

  /** Publishes the changes since the last seal; returns the same array when nothing changed. */
  seal(): readonly Bar[] {
    if (this.#draft) {
      this.#published = this.#draft;
      this.#draft = null;
      this.#fresh.clear();
    }
    return this.#published;
  }

  get bars(): readonly Bar[] {
    return this.#draft ?? this.#published;
  }

  #draftBars(): Bar[] {
    this.#draft ??= this.#published.slice();
    return this.#draft;
  }

  /**
   * Index of the bar opening at `t`; `~insertionPoint` when there is none; null when `t` is
   * older than a full window holds.
   */
  #indexFor(bars: readonly Bar[], t: number): number | null {
    const lastIndex = bars.length - 1;
    const last = bars[lastIndex];
    if (!last || t > last.t) return ~bars.length;
    if (t === last.t) return lastIndex;
    let lo = 0;
    let hi = lastIndex;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const midT = (bars[mid] as Bar).t;
      if (midT === t) return mid;
      if (midT < t) lo = mid + 1;
      else hi = mid - 1;
    }
    return lo === 0 && bars.length >= this.capacity ? null : ~lo;
  }

  #insert(bars: Bar[], at: number, bar: Bar): void {
    bars.splice(at, 0, bar);
    this.#fresh.add(bar);
    if (bars.length > this.capacity) bars.splice(0, bars.length - this.capacity);
  }

  #writable(bars: Bar[], index: number): Bar {
    const bar = bars[index] as Bar;
    if (this.#fresh.has(bar)) return bar;
    const copy = { ...bar };
    bars[index] = copy;
    this.#fresh.add(copy);
    return copy;
  }
}
