import { basename, extname } from 'node:path';
import type { JsonObject } from '../model/document.js';
import { flatRecord } from './json-snapshot.js';
import { TimeReader } from './delimited.js';
import { carriedPart, type DecoderCarry } from './carry.js';
import { decodeRecord } from './record-guard.js';
import { LineReader, lineTailStart, OVERLONG_LINE, sniffEncoding } from './text.js';
import {
  DEFAULT_FORMAT_OPTIONS,
  type DecoderContext,
  type FormatOptions,
  type RandomAccessFile,
  type RecordSink,
  type TailDecoder,
  type TailFormat,
  type TailOpenOptions,
  type TailStart,
  type TextEncoding,
  type TextLayoutSummary,
  type TickRecord,
} from './types.js';

/**
 * An append-only log of JSON lines (`.ndjson`, `.jsonl`): each line a flat record
 * (PROTOCOL.md §6) with `bid`, `ask`, `last`, `lastSize` (or `volume`) and `time` for the
 * quote and anything else for `fields`, and optionally `symbol` (the file's name otherwise).
 * A line that is not a JSON object of that shape is skipped with its offset.
 */
export const ndjsonFormat: TailFormat = {
  name: 'ndjson',
  mode: 'tail',
  barBasis: 'auto',
  matchesName: (fileName) => ['.ndjson', '.jsonl'].includes(extname(fileName).toLowerCase()),
  symbolFor: (fileName) => basename(fileName, extname(fileName)),
  createDecoder: (context) => new NdjsonDecoder(context),
};

class NdjsonDecoder implements TailDecoder {
  readonly #symbol: string;
  readonly #options: FormatOptions;
  readonly #times: TimeReader;
  readonly #tick: TickRecord = { time: 0 };
  #lines = new LineReader('utf8');
  #encoding: TextEncoding | null = null;

  constructor(context: DecoderContext) {
    this.#symbol = context.symbol;
    this.#options = context.options ?? DEFAULT_FORMAT_OPTIONS;
    this.#times = new TimeReader(this.#options);
  }

  async open(file: RandomAccessFile, options: TailOpenOptions): Promise<TailStart | null> {
    if (file.size === 0) return null;
    const head = await file.read(0, Math.min(64, file.size));
    const sniffed = sniffEncoding(head);
    const encoding = this.#options.encoding === 'auto' ? sniffed.encoding : this.#options.encoding;
    this.#lines = new LineReader(encoding);
    this.#encoding = encoding;
    const dataStart = this.#options.encoding === 'auto' ? sniffed.bomBytes : 0;
    const offset = await lineTailStart(file, {
      ...options,
      dataStart,
      encoding,
      timeOf: (line) => {
        const record = parseRecord(line);
        return typeof record === 'string' ? Number.NaN : this.#timeOf(record.time);
      },
    });
    // The first line identifies the file (a log rewritten from scratch starts differently).
    return { offset, fingerprintBytes: Math.min(file.size, 256) };
  }

  textLayout(): TextLayoutSummary | null {
    return this.#encoding && { encoding: this.#encoding, delimiter: null, header: null };
  }

  checkpoint(): DecoderCarry {
    return { lines: this.#lines.checkpoint(), times: this.#times.checkpoint() };
  }

  resume(saved: DecoderCarry): void {
    this.#lines.resume(carriedPart(saved, 'lines'));
    this.#times.resume(carriedPart(saved, 'times'));
  }

  decode(chunk: Buffer, offset: number, sink: RecordSink): number {
    return this.#lines.read(
      chunk,
      offset,
      (text, lineOffset, length) => decodeRecord(sink, lineOffset, length, () => this.#line(text, lineOffset, sink)),
      (lineOffset) => sink.problem(lineOffset, OVERLONG_LINE),
    );
  }

  #timeOf(value: unknown): number {
    if (typeof value === 'number') return Number.isFinite(value) ? value : Number.NaN;
    return typeof value === 'string' ? this.#times.read(value, undefined, false) : Number.NaN;
  }

  #line(text: string, offset: number, sink: RecordSink): void {
    if (text.trim() === '') return;
    const record = parseRecord(text);
    if (typeof record === 'string') {
      sink.problem(offset, `${record}; line skipped`);
      return;
    }
    const { symbol, ...rest } = record;
    if (symbol !== undefined && typeof symbol !== 'string') {
      sink.problem(offset, `symbol must be a string; line skipped`);
      return;
    }
    const time = this.#timeOf(rest.time);
    if (Number.isNaN(time)) {
      sink.problem(offset, `time must be epoch ms or a date and time, got ${kindOf(rest.time)}; line skipped`);
      return;
    }
    const partial = flatRecord({ ...rest, time });
    if (typeof partial === 'string') {
      sink.problem(offset, `${partial}; line skipped`);
      return;
    }
    const target = (symbol ?? '') || this.#symbol;
    const quote = partial.quote ?? {};
    const tick = this.#tick;
    tick.time = time;
    tick.bid = quote.bid;
    tick.ask = quote.ask;
    tick.last = quote.last;
    tick.size = quote.lastSize;
    sink.tick(target, tick);
    if (partial.fields && Object.keys(partial.fields).length > 0) sink.fields(target, partial.fields);
  }
}

/** A line as a JSON object, or why it is not one. */
function parseRecord(text: string): JsonObject | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the line: say what is wrong, not what the line holds.
    return `line is not JSON (${Buffer.byteLength(text)} bytes)`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `expected a JSON object, found ${kindOf(value)}`;
  return value as JsonObject;
}

/** The JSON kind of a value (never the value itself: it comes from the file). */
function kindOf(value: unknown): string {
  if (value === undefined) return 'none';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
