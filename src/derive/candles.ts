import type { Bar, Timeframe } from '../model/document.js';
import { barClock, type BarClock } from './bar-clock.js';

/** When the first and the last trade (or finer bar) of a bar happened. */
interface Edges {
  first: number;
  last: number;
}

/**
 * A window as a checkpoint holds it: its bars, the edges of those built here (open time,
 * first, last) and the last merge (so that a rewritten forming bar is corrected, not added).
 */
export interface SavedWindow {
  timeframe: Timeframe;
  bars: Bar[];
  edges: [t: number, first: number, last: number][];
  lastMerge: { t: number; before: Bar | null; edges: [first: number, last: number] | null } | null;
}

/**
 * A rolling window of bars of one timeframe, oldest first, built from trades or finer bars.
 * A bar's open and close are its earliest and latest trades by time, whatever order they
 * arrive in, so that a late trade gives every timeframe the same bars as finer bars would.
 *
 * Published bars are never mutated: the first change after `seal()` copies the array and
 * the bar it touches, so a published document keeps its values and the delta engine can
 * skip every bar that is still the same object.
 */
export class CandleWindow {
  #published: readonly Bar[] = [];
  #draft: Bar[] | null = null;
  readonly #fresh = new Set<Bar>();
  /** Edges of the bars held that trades or finer bars built, by open time; the newest at hand. */
  readonly #edges = new Map<number, Edges>();
  #newestEdges: { t: number; edges: Edges } | null = null;
  /** The bar the last addBar() merged into, as it was before (null: that merge created it). */
  #lastMerge: { t: number; before: Bar | null; edges: Edges | null } | null = null;

  readonly #clock: BarClock;

  constructor(
    readonly timeframe: Timeframe,
    readonly capacity: number,
    clock: BarClock = barClock(timeframe),
  ) {
    this.#clock = clock;
  }

  /**
   * Adds a trade (or a tick, for bid-based bars) of `volume` and `trades` count; `bidVolume`
   * and `askVolume` (when the source gives them) are summed into the bar's `bv` and `av`.
   */
  addTrade(time: number, price: number, volume: number, trades: number | undefined, bidVolume?: number, askVolume?: number): void {
    const t = this.#clock.open(time);
    const index = this.#indexFor(this.bars, t);
    this.#lastMerge = null;
    if (index === null) return;
    const bars = this.#draftBars();
    if (index < 0) {
      const bar: Bar = { t, o: price, h: price, l: price, c: price, v: volume };
      if (trades !== undefined) bar.n = trades;
      if (bidVolume !== undefined) bar.bv = bidVolume;
      if (askVolume !== undefined) bar.av = askVolume;
      this.#insert(bars, ~index, bar);
      this.#setEdges(t, { first: time, last: time });
      return;
    }
    const bar = this.#writable(bars, index);
    if (price > bar.h) bar.h = price;
    if (price < bar.l) bar.l = price;
    const edges = this.#edgesOf(bar);
    if (time < edges.first) {
      edges.first = time;
      bar.o = price;
    }
    if (time >= edges.last) {
      edges.last = time;
      bar.c = price;
    }
    bar.v += volume;
    if (trades !== undefined) bar.n = (bar.n ?? 0) + trades;
    if (bidVolume !== undefined) bar.bv = (bar.bv ?? 0) + bidVolume;
    if (askVolume !== undefined) bar.av = (bar.av ?? 0) + askVolume;
  }

  /**
   * Merges a finer bar (a Sierra bar record of seconds, or an M1 bar into M5). With
   * `replacesLast`, `source` is the last bar merged, rewritten by its writer: that merge is
   * undone first, so the bar is corrected rather than counted twice.
   */
  addBar(source: Bar, replacesLast = false): void {
    const t = this.#clock.open(source.t);
    if (replacesLast) this.#undoLastMerge(t);
    const index = this.#indexFor(this.bars, t);
    this.#lastMerge = null;
    if (index === null) return;
    const bars = this.#draftBars();
    if (index < 0) {
      const bar: Bar = { ...source, t };
      this.#insert(bars, ~index, bar);
      this.#setEdges(t, { first: source.t, last: source.t });
      this.#lastMerge = { t, before: null, edges: null };
      return;
    }
    const bar = this.#writable(bars, index);
    const edges = this.#edgesOf(bar);
    this.#lastMerge = { t, before: { ...bar }, edges: { ...edges } };
    if (source.h > bar.h) bar.h = source.h;
    if (source.l < bar.l) bar.l = source.l;
    if (source.t < edges.first) {
      edges.first = source.t;
      bar.o = source.o;
    }
    if (source.t >= edges.last) {
      edges.last = source.t;
      bar.c = source.c;
    }
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

  /**
   * Folds in a bar of a finer timeframe that a file states (new, or replacing `replaced`).
   * `finer` is that timeframe's window after the change, `finerFull` whether it has dropped
   * bars. The bar holding it is recomputed from the finer bars of its span while `finer`
   * still holds them all; otherwise (a D1 bar outlasts 100 M5 bars) it is corrected: volume
   * and counts by the difference, high and low extended, the close from the newest finer bar.
   * Only a rewrite that lowers such a bar's high (or raises its low) is then not reflected.
   */
  foldFiner(next: Bar, replaced: Bar | undefined, finer: readonly Bar[], finerFull: boolean): void {
    const t = this.#clock.open(next.t);
    const index = this.#indexFor(this.bars, t);
    this.#lastMerge = null;
    const at = findBar(finer, next.t);
    if (index === null || at < 0) return;
    let first = at;
    while (first > 0 && this.#clock.open((finer[first - 1] as Bar).t) === t) first--;
    let last = at;
    while (last < finer.length - 1 && this.#clock.open((finer[last + 1] as Bar).t) === t) last++;
    const bars = this.#draftBars();
    if (index < 0 || first > 0 || !finerFull) {
      const bar = aggregate(t, finer, first, last);
      if (index < 0) {
        this.#insert(bars, ~index, bar);
      } else {
        bars[index] = bar;
        this.#fresh.add(bar);
      }
      return;
    }
    const bar = this.#writable(bars, index);
    if (next.h > bar.h) bar.h = next.h;
    if (next.l < bar.l) bar.l = next.l;
    if (last === at) bar.c = next.c;
    bar.v += next.v - (replaced?.v ?? 0);
    for (const key of COUNTS) {
      if (next[key] !== undefined || replaced?.[key] !== undefined) bar[key] = (bar[key] ?? 0) + (next[key] ?? 0) - (replaced?.[key] ?? 0);
    }
  }

  /**
   * Builds this window from a whole window of a finer timeframe (ordered by time): as
   * foldFiner with each of its bars, but aggregating each span of finer bars once, from its
   * last bar, rather than once per bar (an H1 bar of M1 bars: once, not 60 times).
   */
  foldFinerWindow(finer: readonly Bar[]): void {
    for (let i = 0; i < finer.length; i++) {
      const bar = finer[i] as Bar;
      const next = finer[i + 1];
      if (next === undefined || this.#clock.open(next.t) !== this.#clock.open(bar.t)) this.foldFiner(bar, undefined, finer, false);
    }
  }

  /** The bar opening at `t`, if held. */
  barAt(t: number): Bar | undefined {
    const bars = this.bars;
    const index = findBar(bars, t);
    return index < 0 ? undefined : bars[index];
  }

  /** Whether the window holds `capacity` bars (and so may have dropped older ones). */
  get full(): boolean {
    return this.bars.length >= this.capacity;
  }

  /** Restores the bar at `t` to what it was before the last merge into it. */
  #undoLastMerge(t: number): void {
    const last = this.#lastMerge;
    if (last?.t !== t) return;
    const bars = this.#draftBars();
    const index = this.#indexFor(bars, t);
    if (index === null || index < 0) return;
    if (last.before === null || last.edges === null) {
      bars.splice(index, 1);
      this.#dropEdges(t);
      return;
    }
    const restored = { ...last.before };
    bars[index] = restored;
    this.#fresh.add(restored);
    this.#setEdges(t, { ...last.edges });
  }

  checkpoint(): SavedWindow {
    const last = this.#lastMerge;
    return {
      timeframe: this.timeframe,
      bars: [...this.bars],
      edges: [...this.#edges].map(([t, { first, last }]) => [t, first, last]),
      lastMerge: last && { t: last.t, before: last.before, edges: last.edges && [last.edges.first, last.edges.last] },
    };
  }

  /**
   * Goes on from what checkpoint() saved, into an empty window of the same timeframe. Throws
   * RangeError when it cannot be this window's: another timeframe, more bars than it keeps,
   * bars out of order.
   */
  restore(saved: SavedWindow): void {
    if (saved.timeframe !== this.timeframe || saved.bars.length > this.capacity)
      throw new RangeError(`a saved ${saved.timeframe} window does not fit ${this.timeframe}`);
    let previous = Number.NEGATIVE_INFINITY;
    for (const bar of saved.bars) {
      if (bar.t <= previous) throw new RangeError(`saved ${this.timeframe} bars are not in order`);
      previous = bar.t;
    }
    this.#published = saved.bars.map((bar) => ({ ...bar }));
    this.#draft = null;
    this.#fresh.clear();
    this.#edges.clear();
    this.#newestEdges = null;
    for (const [t, first, last] of saved.edges) this.#setEdges(t, { first, last });
    const merge = saved.lastMerge;
    this.#lastMerge = merge && {
      t: merge.t,
      before: merge.before && { ...merge.before },
      edges: merge.edges && { first: merge.edges[0], last: merge.edges[1] },
    };
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
    const index = searchBar(bars, t);
    return index === ~0 && bars.length >= this.capacity ? null : index;
  }

  #insert(bars: Bar[], at: number, bar: Bar): void {
    bars.splice(at, 0, bar);
    this.#fresh.add(bar);
    if (bars.length > this.capacity) {
      for (const dropped of bars.splice(0, bars.length - this.capacity)) this.#dropEdges(dropped.t);
    }
  }

  /** The edges of a bar held; a bar not built here (stated whole) counts as opened and closed at its open time. */
  #edgesOf(bar: Bar): Edges {
    const newest = this.#newestEdges;
    if (newest?.t === bar.t) return newest.edges;
    let edges = this.#edges.get(bar.t);
    if (!edges) {
      edges = { first: bar.t, last: bar.t };
      this.#edges.set(bar.t, edges);
    }
    if (!newest || bar.t > newest.t) this.#newestEdges = { t: bar.t, edges };
    return edges;
  }

  #setEdges(t: number, edges: Edges): void {
    this.#edges.set(t, edges);
    if (!this.#newestEdges || t >= this.#newestEdges.t) this.#newestEdges = { t, edges };
  }

  #dropEdges(t: number): void {
    this.#edges.delete(t);
    if (this.#newestEdges?.t === t) this.#newestEdges = null;
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

const COUNTS = ['n', 'bv', 'av'] as const;

/** Index of the bar opening at `t` in bars ordered by open time; -1 when there is none. */
function findBar(bars: readonly Bar[], t: number): number {
  const index = searchBar(bars, t);
  return index >= 0 ? index : -1;
}

/** Index of the bar opening at `t` in bars ordered by open time, or `~insertionPoint`; the newest bar is tried first. */
function searchBar(bars: readonly Bar[], t: number): number {
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
  return ~lo;
}

/** The bar opening at `t` made of `bars[first..last]`. */
function aggregate(t: number, bars: readonly Bar[], first: number, last: number): Bar {
  const head = bars[first] as Bar;
  const bar: Bar = { t, o: head.o, h: head.h, l: head.l, c: (bars[last] as Bar).c, v: 0 };
  for (let i = first; i <= last; i++) {
    const part = bars[i] as Bar;
    if (part.h > bar.h) bar.h = part.h;
    if (part.l < bar.l) bar.l = part.l;
    bar.v += part.v;
    for (const key of COUNTS) {
      const value = part[key];
      if (value !== undefined) bar[key] = (bar[key] ?? 0) + value;
    }
  }
  return bar;
}
