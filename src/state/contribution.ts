import { CandleWindow } from '../derive/candles.js';
import type { BarBasis, TickRecord } from '../formats/types.js';
import type { Bar, BarWindows, Book, JsonObject, PartialDocument, Quote, Timeframe } from './document.js';

/** Bar windows to keep per timeframe (timeframe → number of bars). */
export type WindowSizes = Partial<Record<Timeframe, number>>;

/** Bars kept of a timeframe a file states bars of when the configuration names no window for it. */
export const DEFAULT_WINDOW_BARS = 200;

/** Bars kept of `timeframe`. */
export function windowSize(windows: WindowSizes, timeframe: Timeframe): number {
  return windows[timeframe] ?? DEFAULT_WINDOW_BARS;
}

/** What one file contributes to one symbol, as published at the last commit. */
export interface SealedContribution {
  readonly source: string;
  readonly quote: Quote | undefined;
  readonly bars: BarWindows;
  readonly book: Book | undefined;
  readonly fields: JsonObject | undefined;
}

/**
 * The part of a symbol's document that one file feeds. Records change a draft; `seal()`
 * publishes it, reusing every unchanged object so that composition and diff stay cheap.
 */
export class Contribution {
  #quote: Quote | undefined;
  #quoteDraft: Quote | null = null;
  readonly #candles: CandleWindow[];
  /** Bars a whole-file source states outright, per timeframe; they win over built ones. */
  #statedBars: BarWindows = {};
  #book: Book | undefined;
  #fields: JsonObject | undefined;
  #sawTrade = false;
  #sealed: SealedContribution | null = null;

  constructor(
    readonly source: string,
    readonly barBasis: BarBasis,
    private readonly windows: WindowSizes,
  ) {
    this.#candles = Object.entries(windows).map(([timeframe, size]) => new CandleWindow(timeframe as Timeframe, size));
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
      for (const window of this.#candles) window.addTrade(tick.time, tick.last, tick.size ?? 0, 1);
    } else if (this.barBasis === 'auto' && !this.#sawTrade && tick.bid !== undefined) {
      // MetaTrader's convention for instruments without trades: bid bars, tick count as volume.
      for (const window of this.#candles) window.addTrade(tick.time, tick.bid, 1, undefined);
    }
    this.#sealed = null;
  }

  /**
   * A bar record. With a timeframe it replaces that window's bar of the same open time (a
   * window is kept for every timeframe a file states bars of); `timeframe` null merges a finer
   * bar into every window, and `replacesLast` corrects the last one merged (RecordSink.bar).
   * Bars of trade-based sources also give the quote its last price.
   */
  applyBar(bar: Bar, timeframe: Timeframe | null, replacesLast = false): void {
    if (timeframe === null) {
      for (const window of this.#candles) window.addBar(bar, replacesLast);
    } else {
      this.#window(timeframe).putBar(bar);
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
    this.#statedBars = partial.bars ?? {};
    this.#book = partial.book;
    this.#fields = partial.fields;
    const quote = partial.quote;
    const price = quote?.last ?? quote?.bid;
    if (price !== undefined && (price !== (previous?.last ?? previous?.bid) || quote?.time !== previous?.time)) {
      for (const window of this.#candles) {
        if (!this.#statedBars[window.timeframe]) window.addTrade(sourceTime, price, 1, undefined);
      }
    }
    this.#sealed = null;
  }

  seal(): SealedContribution {
    if (this.#sealed) return this.#sealed;
    if (this.#quoteDraft) {
      this.#quote = this.#quoteDraft;
      this.#quoteDraft = null;
    }
    const bars: BarWindows = { ...this.#statedBars };
    for (const window of this.#candles) {
      const sealed = window.seal();
      if (!bars[window.timeframe] && sealed.length > 0) bars[window.timeframe] = sealed;
    }
    this.#sealed = { source: this.source, quote: this.#quote, bars, book: this.#book, fields: this.#fields };
    return this.#sealed;
  }

  #window(timeframe: Timeframe): CandleWindow {
    let window = this.#candles.find((candidate) => candidate.timeframe === timeframe);
    if (!window) {
      window = new CandleWindow(timeframe, windowSize(this.windows, timeframe));
      this.#candles.push(window);
    }
    return window;
  }

  #draftQuote(): Quote {
    this.#quoteDraft ??= { ...this.#quote };
    return this.#quoteDraft;
  }
}
