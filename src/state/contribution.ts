import { barClock } from '../derive/bar-clock.js';
import { CandleWindow, type SavedWindow } from '../derive/candles.js';
import type { BarBasis, TickRecord } from '../formats/types.js';
import { TimeZone } from '../model/zone.js';
import {
  TIMEFRAMES,
  type Bar,
  type BarWindows,
  type Book,
  type JsonObject,
  type PartialDocument,
  type Quote,
  type Timeframe,
  TIMEFRAME_MS,
  type WindowSizes,
  windowSize,
} from '../model/document.js';

const NO_BARS: BarWindows = Object.freeze({});

/** What one file contributes to one symbol, as published at the last commit. */
export interface SealedContribution {
  readonly source: string;
  readonly quote: Quote | undefined;
  readonly bars: BarWindows;
  readonly book: Book | undefined;
  readonly fields: JsonObject | undefined;
}

/** A contribution as a checkpoint holds it (Contribution.checkpoint). */
export interface SavedContribution {
  source: string;
  barBasis: BarBasis;
  quote: Quote | null;
  built: SavedWindow[];
  stated: { window: SavedWindow; rollups: SavedWindow[] }[];
  documentBars: BarWindows;
  book: Book | null;
  fields: JsonObject | null;
  sawTrade: boolean;
}

/** The window of a timeframe a file states bars of, and the coarser configured windows built from it. */
interface StatedSeries {
  readonly window: CandleWindow;
  readonly rollups: readonly CandleWindow[];
}

/**
 * The part of a symbol's document that one file feeds. Records change a draft; `seal()`
 * publishes it, reusing every unchanged object so that composition and diff stay cheap.
 *
 * Bars come from three places, in this order of precedence per timeframe: bars the file
 * states of that timeframe (a bar export, a whole-file document), the configured windows
 * coarser than a stated timeframe (built from its bars: an M5 export feeds M15 and H1, never
 * M1), and the configured windows built from ticks or from bars of unknown length.
 */
export class Contribution {
  #quote: Quote | undefined;
  #quoteDraft: Quote | null = null;
  /** The configured windows, built from ticks and finer bars of unknown length. */
  readonly #built: CandleWindow[];
  readonly #stated = new Map<Timeframe, StatedSeries>();
  /** Bars a whole-file source states outright, and the coarser windows built from them. */
  #documentBars: BarWindows = NO_BARS;
  #documentRollups: BarWindows = NO_BARS;
  #book: Book | undefined;
  #fields: JsonObject | undefined;
  #sawTrade = false;
  #sealed: SealedContribution | null = null;

  constructor(
    readonly source: string,
    readonly barBasis: BarBasis,
    private readonly windows: WindowSizes,
    private readonly sessionZone: TimeZone = TimeZone.UTC,
  ) {
    this.#built = configured(windows).map((timeframe) => this.#newWindow(timeframe));
  }

  applyTick(tick: TickRecord): void {
    const quote = this.#draftQuote();
    if (quote.time === undefined || tick.time >= quote.time) {
      if (tick.bid !== undefined) quote.bid = tick.bid;
      if (tick.ask !== undefined) quote.ask = tick.ask;
      if (tick.last !== undefined) {
        quote.last = tick.last;
        if (tick.size !== undefined) quote.lastSize = tick.size;
      }
      quote.time = tick.time;
    }
    if (tick.last !== undefined) {
      this.#sawTrade = true;
      for (const window of this.#built) window.addTrade(tick.time, tick.last, tick.size ?? 0, 1, tick.bidVolume, tick.askVolume);
    } else if (this.barBasis === 'auto' && !this.#sawTrade && tick.bid !== undefined) {
      // MetaTrader's convention for instruments without trades: bid bars, tick count as volume.
      for (const window of this.#built) window.addTrade(tick.time, tick.bid, 1, undefined);
    }
    this.#sealed = null;
  }

  /**
   * A bar record. With a timeframe it replaces that timeframe's bar of the same open time (a
   * window is kept for every timeframe a file states bars of) and is folded into the coarser
   * configured windows; `timeframe` null merges a finer bar into every configured window, and
   * `replacesLast` corrects the last one merged (RecordSink.bar); with `lengthMs` only the
   * windows that length divides take it. Bars of trade-based sources also give the quote its
   * last price.
   */
  applyBar(bar: Bar, timeframe: Timeframe | null, replacesLast = false, lengthMs?: number): void {
    if (timeframe === null) {
      for (const window of this.#built) {
        if (lengthMs === undefined || TIMEFRAME_MS[window.timeframe] % lengthMs === 0) window.addBar(bar, replacesLast);
      }
    } else {
      const { window, rollups } = this.#series(timeframe);
      const replaced = window.barAt(bar.t);
      window.putBar(bar);
      for (const rollup of rollups) rollup.foldFiner(bar, replaced, window.bars, window.full);
    }
    // A trade-based bar's close is a last price; MetaTrader's bars are built on the bid.
    if (this.barBasis === 'trade') {
      const quote = this.#draftQuote();
      if (quote.time === undefined || bar.t >= quote.time) {
        quote.last = bar.c;
        quote.time = bar.t;
      }
    }
    this.#sealed = null;
  }

  applyBook(book: Book): void {
    if (this.#book?.time !== undefined && book.time !== undefined && book.time < this.#book.time) return;
    this.#book = book;
    this.#sealed = null;
  }

  /** Merges `fields` into the fields this file gives (a whole-file document replaces them). */
  applyFields(fields: JsonObject): void {
    let changed = false;
    for (const key of Object.keys(fields)) {
      if (this.#fields?.[key] !== fields[key]) changed = true;
    }
    if (!changed) return;
    this.#fields = { ...this.#fields, ...fields };
    this.#sealed = null;
  }

  /** The whole content of a whole-file source; its quote also counts as a tick for bars. */
  applyDocument(partial: PartialDocument, sourceTime: number): void {
    const previous = this.#quote;
    this.#quote = partial.quote;
    this.#quoteDraft = null;
    const stated = partial.bars ?? NO_BARS;
    if (stated !== this.#documentBars) {
      this.#documentBars = stated;
      this.#documentRollups = this.#rollupsOf(stated);
    }
    this.#book = partial.book;
    this.#fields = partial.fields;
    const quote = partial.quote;
    const price = quote?.last ?? quote?.bid;
    if (price !== undefined && (price !== (previous?.last ?? previous?.bid) || quote?.time !== previous?.time)) {
      for (const window of this.#built) {
        if (!this.#documentBars[window.timeframe]) window.addTrade(sourceTime, price, 1, undefined);
      }
    }
    this.#sealed = null;
  }

  /** What goes on exactly after a restart (a checkpoint), at the end of a read cycle. */
  checkpoint(): SavedContribution {
    const quote = this.#quoteDraft ?? this.#quote;
    return {
      source: this.source,
      barBasis: this.barBasis,
      quote: quote ? { ...quote } : null,
      built: this.#built.map((window) => window.checkpoint()),
      stated: [...this.#stated.values()].map(({ window, rollups }) => ({ window: window.checkpoint(), rollups: rollups.map((rollup) => rollup.checkpoint()) })),
      documentBars: this.#documentBars,
      book: this.#book ?? null,
      fields: this.#fields ?? null,
      sawTrade: this.#sawTrade,
    };
  }

  /**
   * A contribution as `saved` holds it, with the windows configured now; throws RangeError when
   * it cannot be one of them (windows of other timeframes or sizes than these).
   */
  static restore(saved: SavedContribution, windows: WindowSizes, sessionZone: TimeZone = TimeZone.UTC): Contribution {
    const contribution = new Contribution(saved.source, saved.barBasis, windows, sessionZone);
    contribution.#restore(saved);
    return contribution;
  }

  #restore(saved: SavedContribution): void {
    this.#quote = saved.quote ?? undefined;
    if (saved.built.length !== this.#built.length) throw new RangeError('the saved windows are not the configured ones');
    this.#built.forEach((window, index) => window.restore(saved.built[index] as SavedWindow));
    for (const { window, rollups } of saved.stated) {
      const series = this.#series(window.timeframe);
      if (series.rollups.length !== rollups.length) throw new RangeError(`the saved ${window.timeframe} rollups are not the configured ones`);
      series.window.restore(window);
      series.rollups.forEach((rollup, index) => rollup.restore(rollups[index] as SavedWindow));
    }
    this.#documentBars = saved.documentBars;
    this.#documentRollups = this.#rollupsOf(saved.documentBars);
    this.#book = saved.book ?? undefined;
    this.#fields = saved.fields ?? undefined;
    this.#sawTrade = saved.sawTrade;
  }

  seal(): SealedContribution {
    if (this.#sealed) return this.#sealed;
    if (this.#quoteDraft) {
      this.#quote = this.#quoteDraft;
      this.#quoteDraft = null;
    }
    const found: BarWindows = { ...this.#documentBars };
    const take = (window: CandleWindow): void => {
      const sealed = window.seal();
      if (!found[window.timeframe] && sealed.length > 0) found[window.timeframe] = sealed;
    };
    // Coarsest stated timeframe first: its rollups hold the longest history.
    const stated = [...this.#stated.values()].sort((a, b) => TIMEFRAME_MS[b.window.timeframe] - TIMEFRAME_MS[a.window.timeframe]);
    for (const series of stated) take(series.window);
    for (const [timeframe, bars] of Object.entries(this.#documentRollups) as [Timeframe, readonly Bar[]][]) found[timeframe] ??= bars;
    for (const series of stated) series.rollups.forEach(take);
    this.#built.forEach(take);
    const bars: BarWindows = {};
    for (const timeframe of TIMEFRAMES) {
      const window = found[timeframe];
      if (window) bars[timeframe] = window;
    }
    this.#sealed = { source: this.source, quote: this.#quote, bars, book: this.#book, fields: this.#fields };
    return this.#sealed;
  }

  #series(timeframe: Timeframe): StatedSeries {
    let series = this.#stated.get(timeframe);
    if (!series) {
      series = { window: this.#newWindow(timeframe), rollups: this.#coarserThan(timeframe).map((coarser) => this.#newWindow(coarser)) };
      this.#stated.set(timeframe, series);
    }
    return series;
  }

  /** The configured windows coarser than a timeframe the document states, built from its bars. */
  #rollupsOf(stated: BarWindows): BarWindows {
    const rollups: BarWindows = {};
    const sources = (Object.keys(stated) as Timeframe[]).sort((a, b) => TIMEFRAME_MS[b] - TIMEFRAME_MS[a]);
    for (const source of sources) {
      const bars = stated[source] as readonly Bar[];
      for (const timeframe of this.#coarserThan(source)) {
        if (stated[timeframe] || rollups[timeframe]) continue;
        const window = this.#newWindow(timeframe);
        window.foldFinerWindow(bars);
        const sealed = window.seal();
        if (sealed.length > 0) rollups[timeframe] = sealed;
      }
    }
    return rollups;
  }

  #coarserThan(timeframe: Timeframe): Timeframe[] {
    return configured(this.windows).filter((candidate) => TIMEFRAME_MS[candidate] > TIMEFRAME_MS[timeframe]);
  }

  #newWindow(timeframe: Timeframe): CandleWindow {
    return new CandleWindow(timeframe, windowSize(this.windows, timeframe), barClock(timeframe, this.sessionZone));
  }

  #draftQuote(): Quote {
    this.#quoteDraft ??= { ...this.#quote };
    return this.#quoteDraft;
  }
}

/** The timeframes `windows` configures, finest first. */
function configured(windows: WindowSizes): Timeframe[] {
  return TIMEFRAMES.filter((timeframe) => (windows[timeframe] ?? 0) > 0);
}
