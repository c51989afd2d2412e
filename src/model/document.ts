import type { Indicators } from '../derive/indicators/deriver.js';

/**
 * The instrument document (PROTOCOL.md §1): the state the bridge holds for one symbol.
 *
 * Documents are immutable once published: every commit builds a new document that
 * shares every unchanged subtree with the previous one, so the delta engine can skip
 * unchanged parts by reference and snapshots can be serialised once per version.
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const TIMEFRAMES = ['M1', 'M5', 'M15', 'M30', 'H1', 'H4', 'D1'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];

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
