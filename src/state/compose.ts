import type { SealedContribution } from './contribution.js';
import { TIMEFRAMES, type Bar, type BarWindows, type Book, type InstrumentDocument, type JsonObject, type Quote, type Indicators } from '../model/document.js';

const EMPTY_QUOTE: Quote = Object.freeze({});
const EMPTY_FIELDS: JsonObject = Object.freeze({});

/**
 * Builds a symbol's document from what each of its files contributes. Where several files
 * give the same part, the newest wins: quote fields by quote time, each bar window by its
 * last bar (at the same open time, the one with more volume), the book by its time; fields
 * merge. Parts that only one file gives are used as they are, so unchanged parts keep their
 * identity from one version to the next.
 * `deriver` gives the indicators of the composed bars (once per symbol, whatever feeds it).
 */
export function composeDocument(
  symbol: string,
  parts: readonly SealedContribution[],
  previous: InstrumentDocument | undefined,
  deriver?: { update(bars: BarWindows): Indicators | undefined } | null,
): InstrumentDocument {
  const sources = sourcesOf(parts, previous?.sources);
  const quote = composeQuote(parts);
  const bars = composeBars(parts);
  const book = composeBook(parts);
  const indicators = deriver?.update(bars);
  const fields = composeFields(parts);
  // Key order of PROTOCOL.md §1, for readable snapshots; a part nothing gives is absent.
  if (indicators) return book ? { symbol, sources, quote, bars, book, indicators, fields } : { symbol, sources, quote, bars, indicators, fields };
  return book ? { symbol, sources, quote, bars, book, fields } : { symbol, sources, quote, bars, fields };
}

function sourcesOf(parts: readonly SealedContribution[], previous: string[] | undefined): string[] {
  const names = [...new Set(parts.map((part) => part.source))].sort();
  return previous?.length === names.length && previous.every((name, i) => name === names[i]) ? previous : names;
}

function composeQuote(parts: readonly SealedContribution[]): Quote {
  const quotes = parts.map((part) => part.quote).filter((quote): quote is Quote => quote !== undefined);
  if (quotes.length === 0) return EMPTY_QUOTE;
  if (quotes.length === 1) return quotes[0] as Quote;
  quotes.sort((a, b) => (a.time ?? 0) - (b.time ?? 0));
  return merge(quotes);
}

function composeBars(parts: readonly SealedContribution[]): BarWindows {
  const withBars = parts.filter((part) => Object.keys(part.bars).length > 0);
  if (withBars.length === 0) return {};
  if (withBars.length === 1) return (withBars[0] as SealedContribution).bars;
  const bars: BarWindows = {};
  for (const timeframe of TIMEFRAMES) {
    for (const part of withBars) {
      const window = part.bars[timeframe];
      const current = bars[timeframe];
      if (window && (!current || newer(window, current))) bars[timeframe] = window;
    }
  }
  return bars;
}

/**
 * Whether `window`'s last bar is newer than `current`'s: a later open time, or at the same
 * one more volume (ticks seen after the last bar of an export of closed bars).
 */
function newer(window: readonly Bar[], current: readonly Bar[]): boolean {
  const last = window[window.length - 1];
  const held = current[current.length - 1];
  if (!last || !held) return last !== undefined;
  return last.t > held.t || (last.t === held.t && last.v > held.v);
}

function composeBook(parts: readonly SealedContribution[]): Book | undefined {
  let book: Book | undefined;
  for (const part of parts) {
    if (part.book && (!book || (part.book.time ?? 0) > (book.time ?? 0))) book = part.book;
  }
  return book;
}

function composeFields(parts: readonly SealedContribution[]): JsonObject {
  const all = parts.map((part) => part.fields).filter((fields): fields is JsonObject => fields !== undefined);
  if (all.length === 0) return EMPTY_FIELDS;
  if (all.length === 1) return all[0] as JsonObject;
  return merge(all);
}

/**
 * `Object.assign({}, ...objects)`, except that a `__proto__` key (which `JSON.parse` makes an
 * own property) stays a key: assigning it would set the merged object's prototype instead,
 * dropping the field from snapshots while the diff saw the prototype's keys as fields.
 */
function merge<T extends object>(objects: readonly T[]): T {
  const merged: Record<string, unknown> = {};
  for (const object of objects) {
    for (const key of Object.keys(object)) {
      const value = (object as Record<string, unknown>)[key];
      if (key === '__proto__') Object.defineProperty(merged, key, { value, enumerable: true, writable: true, configurable: true });
      else merged[key] = value;
    }
  }
  return merged as T;
}
