import { TimeZone } from '../../model/zone.js';
import { TIMEFRAMES, type Bar, type BarWindows, type Timeframe, type IndicatorValue, type Indicators, type IndicatorValues } from '../../model/document.js';
import { barClock, type BarClock } from '../bar-clock.js';
import { createState, parseIndicatorKey, type IndicatorSpec } from './catalog.js';
import { barDecimals, roundValue } from './rounding.js';
import type { IndicatorState } from './types.js';

/** One timeframe's published values, keyed `<name><period>`; a value still warming up is absent. */

/** What indicators to publish, per timeframe (`document.indicators`), and the session zone of VWAP. */
export class IndicatorPlan {
  readonly #specs: ReadonlyMap<Timeframe, readonly IndicatorSpec[]>;

  constructor(
    specs: Partial<Record<Timeframe, readonly string[]>>,
    readonly sessionZone: TimeZone = TimeZone.UTC,
  ) {
    const map = new Map<Timeframe, readonly IndicatorSpec[]>();
    for (const timeframe of TIMEFRAMES) {
      const keys = [...new Set(specs[timeframe] ?? [])];
      if (keys.length > 0) map.set(timeframe, keys.map(parseIndicatorKey));
    }
    this.#specs = map;
  }

  static readonly NONE = new IndicatorPlan({});

  get empty(): boolean {
    return this.#specs.size === 0;
  }

  /** The timeframes with indicators, finest first. */
  get timeframes(): Timeframe[] {
    return [...this.#specs.keys()];
  }

  specs(timeframe: Timeframe): readonly IndicatorSpec[] {
    return this.#specs.get(timeframe) ?? [];
  }

  /** The session clock of VWAP: D1 bars of the session zone. */
  sessions(): BarClock {
    return barClock('D1', this.sessionZone);
  }
}

/**
 * A symbol's indicators, updated from its composed bars at each commit. Per timeframe, the
 * states hold every closed bar rolled in; a commit that changed only the forming (last)
 * bar costs one O(1) evaluation per indicator, a new bar one O(1) roll. The states are
 * rebuilt from the window only when a closed bar changed (a late tick into an older bar, a
 * file rewritten, another file's window taking over): the bar arrays tell by reference, as
 * every published bar is immutable and an unchanged bar stays the same object.
 */
export class SymbolIndicators {
  readonly #timeframes: TimeframeIndicators[];
  #published: Indicators | undefined;

  constructor(plan: IndicatorPlan) {
    const sessions = plan.sessions();
    this.#timeframes = plan.timeframes.map((timeframe) => new TimeframeIndicators(timeframe, plan.specs(timeframe), sessions));
  }

  /** The indicators of `bars`: the same object as the last call when nothing changed; undefined when none has a value. */
  update(bars: BarWindows): Indicators | undefined {
    let changed = false;
    for (const timeframe of this.#timeframes) {
      if (timeframe.update(bars[timeframe.timeframe])) changed = true;
    }
    if (!changed) return this.#published;
    const indicators: Partial<Record<Timeframe, IndicatorValues>> = {};
    let any = false;
    for (const timeframe of this.#timeframes) {
      if (timeframe.values) {
        indicators[timeframe.timeframe] = timeframe.values;
        any = true;
      }
    }
    this.#published = any ? indicators : undefined;
    return this.#published;
  }
}

class TimeframeIndicators {
  #states: IndicatorState[] = [];
  /** The window last seen, and the index in it of the last bar rolled into the states (-1: none). */
  #bars: readonly Bar[] | undefined;
  #rolled = -1;
  #decimals = 0;
  /** The values being published, in the order of `specs` (reused from one update to the next). */
  readonly #fresh: (IndicatorValue | undefined)[] = [];
  values: IndicatorValues | undefined;

  constructor(
    readonly timeframe: Timeframe,
    private readonly specs: readonly IndicatorSpec[],
    private readonly sessions: BarClock,
  ) {}

  /** Follows the window to `bars`; returns whether `values` changed. */
  update(bars: readonly Bar[] | undefined): boolean {
    if (bars === this.#bars) return false;
    if (!bars || bars.length === 0) {
      this.#bars = bars;
      this.#states = [];
      this.#rolled = -1;
      return this.#publish(undefined);
    }
    const from = this.#rollFrom(bars);
    if (from === null) this.#rebuild(bars);
    else this.#roll(bars, from);
    this.#bars = bars;
    const last = bars[bars.length - 1] as Bar;
    return this.#publish(last);
  }

  /**
   * Where rolling can go on in `bars`: the index after the last bar rolled, when every bar
   * rolled that `bars` still holds is the same object as before; null when a closed bar
   * changed or appeared before it.
   */
  #rollFrom(bars: readonly Bar[]): number | null {
    const previous = this.#bars;
    const rolled = this.#rolled;
    if (!previous || this.#states.length === 0) return null;
    if (rolled < 0) return 0;
    const rolledBar = previous[rolled] as Bar;
    let at = Math.min(bars.length - 1, rolled);
    while (at >= 0 && (bars[at] as Bar).t > rolledBar.t) at--;
    // The bar rolled last must still be there, and closed: not the forming one.
    if (at < 0 || at === bars.length - 1 || bars[at] !== rolledBar) return null;
    // Aligned from there back: the window may have dropped its oldest bars, never gained one.
    for (let k = 1; k <= at; k++) {
      if (bars[at - k] !== previous[rolled - k]) return null;
    }
    return at + 1;
  }

  #rebuild(bars: readonly Bar[]): void {
    this.#states = this.specs.map((spec) => createState(spec, this.sessions));
    // The forming bar's decimals; rolling adds those of the closed bars.
    this.#decimals = barDecimals(bars[bars.length - 1] as Bar);
    this.#rolled = -1;
    this.#roll(bars, 0);
  }

  /** Rolls `bars[from..]` into the states, all but the last (the forming bar). */
  #roll(bars: readonly Bar[], from: number): void {
    const end = bars.length - 1;
    for (let i = from; i < end; i++) {
      const bar = bars[i] as Bar;
      for (const state of this.#states) state.push(bar);
      const decimals = barDecimals(bar);
      if (decimals > this.#decimals) this.#decimals = decimals;
    }
    this.#rolled = Math.max(from, end) - 1;
  }

  #publish(last: Bar | undefined): boolean {
    const previous = this.values;
    const fresh = this.#fresh;
    let changed = false;
    let count = 0;
    for (let i = 0; i < this.specs.length; i++) {
      const spec = this.specs[i] as IndicatorSpec;
      const raw = last ? (this.#states[i] as IndicatorState).value(last) : undefined;
      const before = previous?.[spec.key];
      if (raw === undefined) {
        fresh[i] = undefined;
        if (before !== undefined) changed = true;
        continue;
      }
      const value = roundValue(spec, raw, this.#decimals);
      if (before !== undefined && sameValue(before, value)) {
        fresh[i] = before;
      } else {
        fresh[i] = value;
        changed = true;
      }
      count++;
    }
    if (!changed) return false;
    let values: Record<string, IndicatorValue> | undefined;
    if (count > 0) {
      values = {};
      for (let i = 0; i < this.specs.length; i++) {
        const value = fresh[i];
        if (value !== undefined) values[(this.specs[i] as IndicatorSpec).key] = value;
      }
    }
    this.values = values;
    return true;
  }
}

function sameValue(a: IndicatorValue, b: IndicatorValue): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  for (const key in b) {
    if ((a as unknown as Record<string, number>)[key] !== (b as unknown as Record<string, number>)[key]) return false;
  }
  return true;
}
