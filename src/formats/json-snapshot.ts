import { basename, extname } from 'node:path';
import {
  isTimeframe,
  type Bar,
  type BarWindows,
  type Book,
  type BookLevel,
  type JsonObject,
  type JsonValue,
  type PartialDocument,
  type Quote,
} from '../state/document.js';
import { decodeText, sniffEncoding } from './text.js';
import type { DecoderContext, RecordSink, WholeDecoder, WholeDecodeResult, WholeFormat } from './types.js';

/**
 * A JSON file of one symbol, named after it (PROTOCOL.md §6), rewritten whole or replaced
 * by rename. It holds a partial instrument document or a flat record. An empty or
 * half-written file is "not ready yet", not an error.
 */
export const jsonSnapshotFormat: WholeFormat = {
  name: 'json',
  mode: 'whole',
  barBasis: 'auto',
  matchesName: (fileName) => extname(fileName).toLowerCase() === '.json',
  symbolFor: (fileName) => basename(fileName, extname(fileName)),
  createDecoder: (context) => new JsonSnapshotDecoder(context),
};

const DOCUMENT_KEYS = new Set(['quote', 'bars', 'book', 'fields']);
const QUOTE_KEYS = ['bid', 'ask', 'last', 'lastSize', 'time'] as const;

class JsonSnapshotDecoder implements WholeDecoder {
  readonly #symbol: string;

  constructor(context: DecoderContext) {
    this.#symbol = context.symbol;
  }

  decode(content: Buffer, sink: RecordSink, context: { mtimeMs: number }): WholeDecodeResult {
    const { encoding, bomBytes } = sniffEncoding(content.subarray(0, 64));
    const text = decodeText(content.subarray(bomBytes), encoding);
    if (text.trim() === '') return { ok: false, incomplete: 'the file is empty' };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      // A writer that truncates and rewrites is seen half-way; the caller reads again.
      return { ok: false, incomplete: `invalid JSON: ${(error as Error).message}` };
    }
    const partial = toPartialDocument(value);
    if (typeof partial === 'string') sink.problem(0, partial);
    else sink.document(this.#symbol, partial, partial.quote?.time ?? context.mtimeMs);
    return { ok: true };
  }
}

/** Validates parsed JSON into a partial document, or returns why it cannot be one. */
export function toPartialDocument(value: unknown): PartialDocument | string {
  if (!isObject(value)) return `expected a JSON object, got ${describe(value)}`;
  const keys = Object.keys(value);
  if (keys.some((key) => DOCUMENT_KEYS.has(key))) {
    const unknown = keys.filter((key) => !DOCUMENT_KEYS.has(key));
    if (unknown.length > 0) return `a partial document may hold only quote, bars, book and fields; found ${unknown.join(', ')}`;
    return partialDocument(value);
  }
  return flatRecord(value);
}

function partialDocument(value: Record<string, unknown>): PartialDocument | string {
  const partial: PartialDocument = {};
  if (value.quote !== undefined) {
    const quote = readQuote(value.quote, 'quote');
    if (typeof quote === 'string') return quote;
    partial.quote = quote;
  }
  if (value.bars !== undefined) {
    const bars = readBars(value.bars);
    if (typeof bars === 'string') return bars;
    partial.bars = bars;
  }
  if (value.book !== undefined) {
    const book = readBook(value.book);
    if (typeof book === 'string') return book;
    partial.book = book;
  }
  if (value.fields !== undefined) {
    if (!isObject(value.fields)) return `fields must be an object, got ${describe(value.fields)}`;
    partial.fields = value.fields as JsonObject;
  }
  return partial;
}

/** `bid`, `ask`, `last`, `lastSize` (or `volume`) and `time` go to quote; the rest to fields. */
function flatRecord(value: Record<string, unknown>): PartialDocument | string {
  const quoteSource: Record<string, unknown> = {};
  const fields: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    if ((QUOTE_KEYS as readonly string[]).includes(key)) quoteSource[key] = item;
    else if (key === 'volume' && value.lastSize === undefined) quoteSource.lastSize = item;
    else fields[key] = item as JsonValue;
  }
  const quote = readQuote(quoteSource, 'record');
  if (typeof quote === 'string') return quote;
  return { quote, fields };
}

function readQuote(value: unknown, where: string): Quote | string {
  if (!isObject(value)) return `${where} must be an object, got ${describe(value)}`;
  const unknown = Object.keys(value).filter((key) => !(QUOTE_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) return `${where} may hold only ${QUOTE_KEYS.join(', ')}; found ${unknown.join(', ')}`;
  const quote: Quote = {};
  for (const key of QUOTE_KEYS) {
    const item = value[key];
    if (item === undefined || item === null) continue;
    if (key === 'time' && typeof item === 'string') {
      const time = parseIsoTime(item);
      if (Number.isNaN(time)) return `${where}.time ${JSON.stringify(item)} is not an ISO 8601 time`;
      quote.time = time;
      continue;
    }
    if (typeof item !== 'number' || !Number.isFinite(item)) return `${where}.${key} must be a number, got ${describe(item)}`;
    quote[key] = item;
  }
  return quote;
}

function readBars(value: unknown): BarWindows | string {
  if (!isObject(value)) return `bars must be an object of timeframes, got ${describe(value)}`;
  const windows: BarWindows = {};
  for (const [timeframe, list] of Object.entries(value)) {
    if (!isTimeframe(timeframe)) return `bars.${timeframe} is not a timeframe (M1 M5 M15 M30 H1 H4 D1)`;
    if (!Array.isArray(list)) return `bars.${timeframe} must be an array, got ${describe(list)}`;
    const bars: Bar[] = [];
    for (const [index, item] of list.entries()) {
      const bar = readBar(item);
      if (typeof bar === 'string') return `bars.${timeframe}[${index}]: ${bar}`;
      bars.push(bar);
    }
    bars.sort((a, b) => a.t - b.t);
    for (let i = 1; i < bars.length; i++) {
      if (bars[i]?.t === bars[i - 1]?.t) return `bars.${timeframe} has two bars at t=${bars[i]?.t}`;
    }
    windows[timeframe] = bars;
  }
  return windows;
}

const BAR_REQUIRED = ['t', 'o', 'h', 'l', 'c', 'v'] as const;
const BAR_OPTIONAL = ['n', 'bv', 'av'] as const;

function readBar(value: unknown): Bar | string {
  if (!isObject(value)) return `expected a bar object, got ${describe(value)}`;
  const bar: Partial<Bar> = {};
  for (const key of BAR_REQUIRED) {
    const item = value[key];
    if (typeof item !== 'number' || !Number.isFinite(item)) return `${key} must be a number, got ${describe(item)}`;
    bar[key] = item;
  }
  for (const key of BAR_OPTIONAL) {
    const item = value[key];
    if (item === undefined) continue;
    if (typeof item !== 'number' || !Number.isFinite(item)) return `${key} must be a number, got ${describe(item)}`;
    bar[key] = item;
  }
  return bar as Bar;
}

function readBook(value: unknown): Book | string {
  if (!isObject(value)) return `book must be an object, got ${describe(value)}`;
  const book: Book = { bids: [], asks: [] };
  for (const side of ['bids', 'asks'] as const) {
    const levels = value[side] ?? [];
    if (!Array.isArray(levels)) return `book.${side} must be an array, got ${describe(levels)}`;
    for (const [index, level] of levels.entries()) {
      if (
        !Array.isArray(level) ||
        level.length < 2 ||
        level.length > 3 ||
        !level.every((item) => typeof item === 'number' && Number.isFinite(item))
      ) {
        return `book.${side}[${index}] must be [price, size] or [price, size, orders]`;
      }
      book[side].push(level as BookLevel);
    }
  }
  if (value.time !== undefined) {
    if (typeof value.time !== 'number' || !Number.isFinite(value.time)) return `book.time must be a number, got ${describe(value.time)}`;
    book.time = value.time;
  }
  return book;
}

/** An ISO 8601 date-time without a zone offset is read as UTC, never in the server's local zone. */
function parseIsoTime(text: string): number {
  return Date.parse(LOCAL_DATE_TIME.test(text) ? `${text}Z` : text);
}

const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
