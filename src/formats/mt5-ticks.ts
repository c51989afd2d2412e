import { basename, extname } from 'node:path';
import { parseDate, parseTimeOfDay } from './datetime.js';
import { firstLine, forEachLine, lineTailStart, sniffEncoding, type TextEncoding } from './text.js';
import {
  FormatError,
  type DecoderContext,
  type RandomAccessFile,
  type RecordSink,
  type TailDecoder,
  type TailFormat,
  type TailOpenOptions,
  type TailStart,
  type TickRecord,
} from './types.js';

/**
 * MetaTrader 5 tick export from the Symbols window (FORMATS.md §4.1):
 * `<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>`, CRLF. A field that did not
 * change may be empty (or 0): the previous bid and ask carry over.
 */

/** MqlTick flags that mark a trade. */
const TICK_FLAG_LAST = 8;
const TICK_FLAG_BUY = 32;
const TICK_FLAG_SELL = 64;
const TRADE_FLAGS = TICK_FLAG_LAST | TICK_FLAG_BUY | TICK_FLAG_SELL;

const HEAD_BYTES = 4096;
/** `_YYYYMMDDHHMM_YYYYMMDDHHMM` that the terminal appends to the symbol in export names. */
const EXPORT_RANGE_SUFFIX = /_\d{12}_\d{12}$/;

export const mt5TicksFormat: TailFormat = {
  name: 'mt5-ticks',
  mode: 'tail',
  barBasis: 'auto',
  matchesName: (fileName) => ['.csv', '.txt'].includes(extname(fileName).toLowerCase()),
  sniff(head) {
    const header = headerLine(head);
    if (header === undefined) return undefined;
    return header !== null && isTickHeader(parseHeader(header.text));
  },
  symbolFor: (fileName) => basename(fileName, extname(fileName)).replace(EXPORT_RANGE_SUFFIX, ''),
  createDecoder: (context) => new Mt5TickDecoder(context),
};

interface Columns {
  date: number;
  time: number;
  bid: number;
  ask: number;
  last: number;
  volume: number;
  flags: number;
}

function parseHeader(text: string): Columns {
  const names = text.split('\t').map((name) => name.trim().toUpperCase());
  const at = (name: string): number => names.indexOf(`<${name}>`);
  return {
    date: at('DATE'),
    time: at('TIME'),
    bid: at('BID'),
    ask: at('ASK'),
    last: at('LAST'),
    volume: at('VOLUME'),
    flags: at('FLAGS'),
  };
}

function isTickHeader(columns: Columns): boolean {
  return columns.date >= 0 && columns.time >= 0 && (columns.bid >= 0 || columns.last >= 0);
}

/**
 * The header line of a file from its first bytes: undefined when it is not complete yet,
 * null when 4 KiB hold no line end (not a text export).
 */
function headerLine(head: Buffer): { text: string; end: number; encoding: TextEncoding } | undefined | null {
  const { encoding, bomBytes } = sniffEncoding(head);
  const line = firstLine(head.subarray(bomBytes), encoding);
  if (line) return { text: line.text, end: bomBytes + line.length, encoding };
  return head.length >= HEAD_BYTES ? null : undefined;
}

class Mt5TickDecoder implements TailDecoder {
  readonly #symbol: string;
  readonly #tick: TickRecord = { time: 0 };
  #encoding: TextEncoding = 'utf8';
  #columns: Columns | null = null;
  #bid: number | undefined;
  #ask: number | undefined;

  constructor(context: DecoderContext) {
    this.#symbol = context.symbol;
  }

  async open(file: RandomAccessFile, options: TailOpenOptions): Promise<TailStart | null> {
    const head = await file.read(0, Math.min(HEAD_BYTES, file.size));
    const header = headerLine(head);
    if (header === undefined) return null;
    if (header === null) throw new FormatError('no header line in the first 4 KiB', 0);
    const columns = parseHeader(header.text);
    if (!isTickHeader(columns)) {
      throw new FormatError(`header ${JSON.stringify(header.text.slice(0, 120))} lacks <DATE>, <TIME> and <BID> or <LAST>`, 0);
    }
    this.#encoding = header.encoding;
    this.#columns = columns;
    const offset = await lineTailStart(file, {
      ...options,
      dataStart: header.end,
      encoding: header.encoding,
      timeOf: (line) => this.#timeOf(line.split('\t')),
    });
    return { offset, fingerprintBytes: header.end };
  }

  decode(chunk: Buffer, offset: number, sink: RecordSink): number {
    return forEachLine(
      chunk,
      offset,
      this.#encoding,
      (text, lineOffset) => this.#decodeLine(text, lineOffset, sink),
      (lineOffset, length) => sink.problem(lineOffset, `line longer than the limit (${length} bytes without a line end); skipped`),
    );
  }

  #timeOf(fields: string[]): number {
    const columns = this.#columns;
    if (!columns) return Number.NaN;
    return parseDate(fields[columns.date] ?? '') + parseTimeOfDay(fields[columns.time] ?? '');
  }

  #decodeLine(text: string, offset: number, sink: RecordSink): void {
    if (text.trim() === '') return;
    const columns = this.#columns;
    if (!columns) return;
    const fields = text.split('\t');
    const time = this.#timeOf(fields);
    if (Number.isNaN(time)) {
      sink.problem(offset, `no valid <DATE> <TIME> in ${JSON.stringify(text.slice(0, 80))}; line skipped`);
      return;
    }
    const bid = price(fields[columns.bid]);
    const ask = price(fields[columns.ask]);
    const last = price(fields[columns.last]);
    const volume = price(fields[columns.volume]);
    const flags = flagsField(columns.flags >= 0 ? fields[columns.flags] : undefined);
    if (bid === null || ask === null || last === null || volume === null) {
      sink.problem(offset, `a price or volume is not a number in ${JSON.stringify(text.slice(0, 80))}; line skipped`);
      return;
    }
    if (bid !== undefined) this.#bid = bid;
    if (ask !== undefined) this.#ask = ask;
    const trade = last !== undefined && (Number.isNaN(flags) || (flags & TRADE_FLAGS) !== 0);
    const tick = this.#tick;
    tick.time = time;
    tick.bid = this.#bid;
    tick.ask = this.#ask;
    tick.last = trade ? last : undefined;
    tick.size = trade ? volume : undefined;
    sink.tick(this.#symbol, tick);
  }
}

/**
 * The FLAGS bitmask, or NaN when it gives no answer (no column, empty or not a number):
 * `Number('')` is 0, which would read an empty field as "not a trade".
 */
function flagsField(field: string | undefined): number {
  const trimmed = field?.trim() ?? '';
  return trimmed === '' ? Number.NaN : Number(trimmed);
}

/** A price field: undefined when empty or zero (not given), null when not a number. */
function price(field: string | undefined): number | undefined | null {
  if (field === undefined) return undefined;
  const trimmed = field.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  if (!Number.isFinite(value)) return null;
  return value === 0 ? undefined : value;
}
