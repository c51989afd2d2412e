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
  type Timeframe,
} from '../model/document.js';
import { TimeReader } from './delimited.js';
import { decodeRecord } from './record-guard.js';
import { decodeText, sniffEncoding } from './text.js';
import {
  DEFAULT_FORMAT_OPTIONS,
  type DecoderContext,
  type FormatOptions,
  type RecordSink,
  type WholeDecoder,
  type WholeDecodeResult,
  type WholeFormat,
} from './types.js';

/**
 * A JSON file rewritten whole or replaced by rename (PROTOCOL.md §6): one symbol's partial
 * document or flat record, named after it; or a map of symbols to flat records (the pattern
 * of MT5 file bridges such as DWX Connect's `DWX_Market_Data.txt`), where an entry named
 * `SYMBOL_TF` holding open/high/low/close is that timeframe's current bar. An empty or
 * half-written file is "not ready yet", not an error.
 */
export const jsonSnapshotFormat: WholeFormat = {
  name: 'json',
  mode: 'whole',
  barBasis: 'auto',
  matchesName: (fileName) => ['.json', '.txt'].includes(extname(fileName).toLowerCase()),
  sniff(head, _options, fileName) {
    if (extname(fileName ?? '').toLowerCase() === '.json') return true;
    const { encoding, bomBytes } = sniffEncoding(head);
    const text = decodeText(head.subarray(bomBytes), encoding).trimStart();
    return text === '' ? undefined : text.startsWith('{');
  },
  symbolFor: (fileName) => basename(fileName, extname(fileName)),
  createDecoder: (context) => new JsonSnapshotDecoder(context),
};

const DOCUMENT_KEYS = new Set(['quote', 'bars', 'book', 'fields']);
const QUOTE_KEYS = ['bid', 'ask', 'last', 'lastSize', 'time'] as const;
const BAR_KEYS = ['open', 'high', 'low', 'close'] as const;
/** `EURUSD_M1`: a map entry holding that timeframe's bar. */
/** Deepest nesting a record's values may have: deeper would overflow the stack of what copies and diffs them. */
const MAX_NESTING = 32;
const BAR_ENTRY = /^(.+)_(M1|M5|M15|M30|H1|H4|D1)$/;

type ParseTime = (text: string) => number;

/** Times as written by a source in UTC: ISO 8601 (with or without an offset), `2024.01.02 10:31`, epoch digits. */
function timeParser(options: FormatOptions): ParseTime {
  const times = new TimeReader(options);
  return (text) => times.read(text, undefined, false);
}

const parseIsoTime = timeParser(DEFAULT_FORMAT_OPTIONS);

class JsonSnapshotDecoder implements WholeDecoder {
  readonly #symbol: string;
  readonly #options: FormatOptions;
  readonly #parseTime: ParseTime;

  constructor(context: DecoderContext) {
    this.#symbol = context.symbol;
    this.#options = context.options ?? DEFAULT_FORMAT_OPTIONS;
    this.#parseTime = timeParser(this.#options);
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
      // The parser's message quotes the content: give where it stopped, never the bytes.
      return { ok: false, incomplete: `invalid JSON (${content.length} bytes${jsonErrorPlace(error)})` };
    }
    const mode = this.#options.json === 'auto' ? (isSymbolMap(value) ? 'map' : 'symbol') : this.#options.json;
    if (mode === 'map') {
      this.#decodeMap(value, sink, context.mtimeMs);
      return { ok: true };
    }
    const partial = toPartialDocument(value, this.#parseTime);
    if (typeof partial === 'string') sink.problem(0, partial);
    else sink.document(this.#symbol, partial, partial.quote?.time ?? context.mtimeMs);
    return { ok: true };
  }

  #decodeMap(value: unknown, sink: RecordSink, mtimeMs: number): void {
    if (!isObject(value)) {
      sink.problem(0, `expected a JSON object of symbols, got ${describe(value)}`);
      return;
    }
    for (const [key, entry] of Object.entries(value)) decodeRecord(sink, 0, 0, () => this.#mapEntry(key, entry, sink, mtimeMs));
  }

  /** One entry of a symbol map: a symbol's record, or a bar (`EURUSD_M1`). */
  #mapEntry(key: string, entry: unknown, sink: RecordSink, mtimeMs: number): void {
    const barEntry = BAR_ENTRY.exec(key);
    if (barEntry && isObject(entry) && BAR_KEYS.every((name) => name in entry)) {
      const bar = this.#mapBar(entry);
      if (typeof bar === 'string') sink.problem(0, `${key}: ${bar}`);
      else sink.bar(barEntry[1] as string, bar, barEntry[2] as Timeframe);
      return;
    }
    if (!isObject(entry)) {
      sink.problem(0, `${key}: expected a record object, got ${describe(entry)}`);
      return;
    }
    // MetaTrader writes 0 for a price it does not have (`"last": 0.00000` for FX).
    const record = Object.fromEntries(Object.entries(entry).filter(([name, item]) => !(ZERO_MEANS_ABSENT.has(name) && item === 0)));
    const partial = flatRecord(record, this.#parseTime);
    if (typeof partial === 'string') sink.problem(0, `${key}: ${partial}`);
    else sink.document(key, partial, partial.quote?.time ?? mtimeMs);
  }

  /** A bar entry: `time` (open time), open, high, low, close, and a volume. */
  #mapBar(entry: Record<string, unknown>): Bar | string {
    const time = typeof entry.time === 'string' ? this.#parseTime(entry.time) : entry.time;
    if (typeof time !== 'number' || !Number.isFinite(time)) return `time must be a date and time, got ${describe(entry.time)}`;
    const bar: Bar = { t: time, o: 0, h: 0, l: 0, c: 0, v: 0 };
    for (const [key, name] of [
      ['o', 'open'],
      ['h', 'high'],
      ['l', 'low'],
      ['c', 'close'],
    ] as const) {
      const item = entry[name];
      if (typeof item !== 'number' || !Number.isFinite(item)) return `${name} must be a number, got ${describe(item)}`;
      bar[key] = item;
    }
    // The first volume MetaTrader filled in: it writes 0 for one it does not have.
    const volume = [entry.real_volume, entry.volume, entry.tick_volume].find(Boolean) ?? 0;
    if (typeof volume !== 'number' || !Number.isFinite(volume)) return `volume must be a number, got ${describe(volume)}`;
    bar.v = volume;
    return bar;
  }
}

const ZERO_MEANS_ABSENT = new Set(['bid', 'ask', 'last']);

/**
 * An object of symbols to flat records: no document or quote key at the top, and some value
 * a record. The values that are not records are bad entries (reported one by one): a map
 * with one broken entry is still a map, not one symbol's record holding the others as fields.
 */
function isSymbolMap(value: unknown): boolean {
  if (!isObject(value)) return false;
  const entries = Object.entries(value);
  return (
    entries.every(([key]) => !DOCUMENT_KEYS.has(key) && !(QUOTE_KEYS as readonly string[]).includes(key)) &&
    entries.some(([, entry]) => isObject(entry) && Object.values(entry).every((item) => typeof item !== 'object' || item === null))
  );
}

/** Validates parsed JSON into a partial document, or returns why it cannot be one. */
export function toPartialDocument(value: unknown, parseTime: ParseTime = parseIsoTime): PartialDocument | string {
  if (!isObject(value)) return `expected a JSON object, got ${describe(value)}`;
  const keys = Object.keys(value);
  if (keys.some((key) => DOCUMENT_KEYS.has(key))) {
    const unknown = keys.filter((key) => !DOCUMENT_KEYS.has(key));
    if (unknown.length > 0) return `a partial document may hold only quote, bars, book and fields; found ${unknown.length} other keys`;
    return partialDocument(value, parseTime);
  }
  return flatRecord(value, parseTime);
}

function partialDocument(value: Record<string, unknown>, parseTime: ParseTime): PartialDocument | string {
  const partial: PartialDocument = {};
  if (value.quote !== undefined) {
    const quote = readQuote(value.quote, 'quote', parseTime);
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
    const banned = bannedKey(value.fields, 'fields');
    if (banned) return banned;
    partial.fields = value.fields as JsonObject;
  }
  return partial;
}

/** `bid`, `ask`, `last`, `lastSize` (or `volume`) and `time` go to quote; the rest to fields. */
export function flatRecord(value: Record<string, unknown>, parseTime: ParseTime = parseIsoTime): PartialDocument | string {
  const banned = bannedKey(value, 'record');
  if (banned) return banned;
  const quoteSource: Record<string, unknown> = {};
  const fields: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    if ((QUOTE_KEYS as readonly string[]).includes(key)) quoteSource[key] = item;
    else if (key === 'volume' && value.lastSize === undefined) quoteSource.lastSize = item;
    else fields[key] = item as JsonValue;
  }
  const quote = readQuote(quoteSource, 'record', parseTime);
  if (typeof quote === 'string') return quote;
  return { quote, fields };
}

function readQuote(value: unknown, where: string, parseTime: ParseTime): Quote | string {
  if (!isObject(value)) return `${where} must be an object, got ${describe(value)}`;
  const unknown = Object.keys(value).filter((key) => !(QUOTE_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) return `${where} may hold only ${QUOTE_KEYS.join(', ')}; found ${unknown.length} other keys`;
  const quote: Quote = {};
  for (const key of QUOTE_KEYS) {
    const item = value[key];
    if (item === undefined || item === null) continue;
    if (key === 'time' && typeof item === 'string') {
      const time = parseTime(item);
      if (Number.isNaN(time)) return `${where}.time (${describe(item)}) is not an ISO 8601 time`;
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
      if (!Array.isArray(level) || level.length < 2 || level.length > 3 || !level.every((item) => typeof item === 'number' && Number.isFinite(item))) {
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

/**
 * Why `value` holds a key no JSON Patch applier may be asked to patch (`__proto__`, or
 * `prototype` in a `constructor` object: fast-json-patch refuses them, as others do, against
 * prototype pollution), at any depth; null when it holds none. `JSON.parse` makes such keys
 * own properties, which the document would then carry to clients that cannot follow them.
 */
function bannedKey(value: unknown, where: string, depth = 0): string | null {
  if (depth > MAX_NESTING && typeof value === 'object' && value !== null) {
    return `${where}: nested deeper than ${MAX_NESTING} levels`;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const banned = bannedKey(item, `${where}[${index}]`, depth + 1);
      if (banned) return banned;
    }
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key === '__proto__' || (key === 'prototype' && where.endsWith('.constructor'))) {
        return `${where}.${key}: a key JSON Patch appliers refuse to patch (it reaches an object's prototype)`;
      }
      const banned = bannedKey(item, `${where}.${key}`, depth + 1);
      if (banned) return banned;
    }
  }
  return null;
}

/** Where JSON.parse stopped, from its message (which otherwise quotes the content). */
function jsonErrorPlace(error: unknown): string {
  const position = /position (\d+)/.exec((error as Error).message);
  return position ? `, stops at byte ${position[1]}` : '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined) return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}
