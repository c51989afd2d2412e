/**
 * The instrument document (PROTOCOL.md §1): the state the bridge holds for one symbol.
 *
 * Documents are immutable once published: every commit builds a new document that
 * shares every unchanged subtree with the previous one, so the delta engine can skip
 * unchanged parts by reference and snapshots can be serialised once per version.
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = Record<string, JsonValue>;

export const TIMEFRAMES = ['M1', 'M5', 'M15', 'M30', 'H1', 'H4', 'D1'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];

/** Each timeframe's length. */
export const TIMEFRAME_MS: Readonly<Record<Timeframe, number>> = {
  M1: 60_000,
  M5: 300_000,
  M15: 900_000,
  M30: 1_800_000,
  H1: 3_600_000,
  H4: 14_400_000,
  D1: 86_400_000,
};

/** Indicator values as the document holds them (PROTOCOL.md §1). */
export interface MacdValue {
  macd: number;
  signal: number;
  hist: number;
}

export interface BandsValue {
  upper: number;
  middle: number;
  lower: number;
}

export type IndicatorValue = number | MacdValue | BandsValue;

export type IndicatorValues = Readonly<Record<string, IndicatorValue>>;

/** The document's `indicators`: per timeframe. */
export type Indicators = Readonly<Partial<Record<Timeframe, IndicatorValues>>>;

/** Bar windows to keep per timeframe (timeframe → number of bars; 0 builds none from ticks, yet a file of such bars keeps DEFAULT_WINDOW_BARS). */
export type WindowSizes = Partial<Record<Timeframe, number>>;

/** Bars kept of a timeframe a file states bars of when the configuration names no window for it. */
const DEFAULT_WINDOW_BARS = 200;

/** Bars kept of `timeframe` (of a timeframe not configured, when a file states bars of it). */
export function windowSize(windows: WindowSizes, timeframe: Timeframe): number {
  return (windows[timeframe] ?? 0) || DEFAULT_WINDOW_BARS;
}

/** Latest top of book and last trade; a field the source never gave is absent. */
export interface Quote {
  bid?: number;
  ask?: number;
  last?: number;
  lastSize?: number;
  /** Epoch milliseconds (a fraction carries sub-millisecond precision). */
  time?: number;
}

export interface Bar {
  /** Open time, epoch milliseconds. */
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
  n?: number;
  bv?: number;
  av?: number;
}

export type BookLevel = [price: number, size: number] | [price: number, size: number, orders: number];

export interface Book {
  bids: BookLevel[];
  asks: BookLevel[];
  time?: number;
}

export type BarWindows = Partial<Record<Timeframe, readonly Bar[]>>;

export interface InstrumentDocument {
  symbol: string;
  /** Names of the formats feeding this symbol, sorted. */
  sources: string[];
  quote: Quote;
  bars: BarWindows;
  book?: Book;
  /** Derived values per timeframe (derive/indicators); absent until one has a value. */
  indicators?: Indicators;
  fields: JsonObject;
}

/** What one source contributes to a symbol's document. */
export interface PartialDocument {
  quote?: Quote;
  bars?: BarWindows;
  book?: Book;
  fields?: JsonObject;
}

export function isTimeframe(value: string): value is Timeframe {
  return (TIMEFRAMES as readonly string[]).includes(value);
}
