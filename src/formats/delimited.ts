import { type Timeframe, TIMEFRAME_MS, windowSize } from '../model/document.js';
import { parseDate, parseDateTime, parseTimeOfDay, type DateOrder } from './datetime.js';
import { carriedNumber, carriedPart, savedNumber, type DecoderCarry } from './carry.js';
import { decodeRecord } from './record-guard.js';
import { firstLine, forEachLine, LineReader, lineTailStart, OVERLONG_LINE, sniffEncoding } from './text.js';
import { decideTimeframe, type TimeframeDecision } from './timeframe-inference.js';
import {
  DEFAULT_FORMAT_OPTIONS,
  FormatError,
  type ColumnRef,
  type DecoderContext,
  type Delimiter,
  type FormatOptions,
  type RandomAccessFile,
  type RecordSink,
  type TailDecoder,
  type TailOpenOptions,
  type TailStart,
  type TextEncoding,
  type TextLayoutSummary,
} from './types.js';

/**
 * The delimited-text layer shared by every line-based format (Sierra Chart text exports,
 * MetaTrader exports and EA files, generic CSV): encoding, delimiter and header sniffing
 * (or pinned per source), field splitting, times in the source's zone, and where to start
 * reading a large file.
 */

/** How a text file is laid out, as sniffed or pinned by configuration. */
export interface TextLayout {
  encoding: TextEncoding;
  delimiter: Delimiter;
  /** Header names as written (trimmed), or null when the file has none. */
  header: string[] | null;
  /** The first line's fields (the header's, or the first data row's). */
  first: string[];
  /** Offset of the first data line. */
  dataStart: number;
  /** Bytes that identify the file's content: BOM and first line. */
  fingerprintBytes: number;
}

const HEAD_BYTES = 4096;

/**
 * The delimiter of a line: tab when it has one, else whichever of `;` and `,` it has more of.
 * Sierra Chart's `", "` is a comma: fields are trimmed.
 */
export function sniffDelimiter(line: string): Delimiter {
  if (line.includes('\t')) return '\t';
  let commas = 0;
  let semicolons = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x2c) commas++;
    else if (c === 0x3b) semicolons++;
  }
  return semicolons > commas ? ';' : ',';
}

/** The trimmed fields of a line; double quotes around a field are removed. */
export function splitFields(line: string, delimiter: Delimiter): string[] {
  const fields = line.split(delimiter);
  for (let i = 0; i < fields.length; i++) {
    let field = (fields[i] as string).trim();
    if (field.length >= 2 && field.charCodeAt(0) === 0x22 && field.charCodeAt(field.length - 1) === 0x22) field = field.slice(1, -1);
    fields[i] = field;
  }
  return fields;
}

/**
 * The layout of a text file from its first bytes: undefined while its first line is not
 * complete, null when 4 KiB hold no line end (not text). `isHeader` decides whether the first
 * line is a header when the source does not say.
 */
export function readLayout(head: Buffer, options: FormatOptions, isHeader: (fields: string[]) => boolean): TextLayout | undefined | null {
  const sniffed = sniffEncoding(head);
  const encoding = options.encoding === 'auto' ? sniffed.encoding : options.encoding;
  const bomBytes = options.encoding === 'auto' || options.encoding === sniffed.encoding ? sniffed.bomBytes : 0;
  const line = firstLine(head.subarray(bomBytes), encoding);
  if (!line) return head.length >= HEAD_BYTES ? null : undefined;
  const delimiter = options.delimiter === 'auto' ? sniffDelimiter(line.text) : options.delimiter;
  const first = splitFields(line.text, delimiter);
  const hasHeader = options.header === 'auto' ? isHeader(first) : options.header;
  const end = bomBytes + line.length;
  return { encoding, delimiter, header: hasHeader ? first : null, first, dataStart: hasHeader ? end : bomBytes, fingerprintBytes: end };
}

/** A header name as compared: lower case, without `<>`, spaces, `#` and `_`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[<>\s#_]/g, '');
}

/** The 0-based index of a column given by 1-based position or header name, or -1. */
export function columnIndex(header: readonly string[] | null, ref: ColumnRef): number {
  if (typeof ref === 'number') return ref - 1;
  if (!header) return -1;
  const wanted = normalizeName(ref);
  return header.findIndex((name) => normalizeName(name) === wanted);
}

/** A price field: undefined when empty or zero (not given), null when not a number. */
export function price(field: string | undefined): number | undefined | null {
  if (field === undefined || field === '') return undefined;
  const value = Number(field);
  if (!Number.isFinite(value)) return null;
  return value === 0 ? undefined : value;
}

/** A text field as a JSON value: a number when it is one, the text otherwise, null when empty. */
export function fieldValue(field: string | undefined): number | string | null {
  if (field === undefined || field === '') return null;
  const value = Number(field);
  return Number.isFinite(value) ? value : field;
}

const EPOCH = /^\d{9,17}(\.\d+)?$/;
const EXPLICIT_ZONE = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Reads times as a source writes them: a date and a time (in one field or two) in the
 * source's zone and date order, epoch seconds or milliseconds, or ISO 8601 with an offset.
 */
export class TimeReader {
  readonly #options: FormatOptions;
  readonly #order: DateOrder;
  readonly #unpaddedMillis: boolean;
  #last = Number.NEGATIVE_INFINITY;

  constructor(options: FormatOptions, unpaddedMillis = false) {
    this.#options = options;
    const format = options.timeFormat;
    this.#order = format === 'dmy' || format === 'mdy' ? format : 'ymd';
    this.#unpaddedMillis = unpaddedMillis;
  }

  /** The instant of the last row remembered: it places a repeated (fall-back) hour. */
  checkpoint(): DecoderCarry {
    return { last: savedNumber(this.#last) };
  }

  resume(saved: DecoderCarry): void {
    this.#last = carriedNumber(saved, 'last', Number.NEGATIVE_INFINITY);
  }

  /**
   * Epoch ms of `date` (which may hold the time too) and `time`, or NaN. Rows read in order
   * `remember` theirs, which places a time of a repeated (fall-back) hour after the previous row.
   */
  read(date: string, time?: string, remember = true): number {
    const format = this.#options.timeFormat;
    if (format === 'epoch-s' || format === 'epoch-ms' || (format === 'auto' && EPOCH.test(date))) {
      const value = Number(date);
      if (format === 'epoch-s') return value * 1000;
      if (format === 'epoch-ms') return value;
      return value < 1e11 ? value * 1000 : value < 1e14 ? value : value / 1000;
    }
    if (time === undefined && EXPLICIT_ZONE.test(date)) return Date.parse(date);
    const wall =
      time === undefined ? parseDateTime(date, this.#order, this.#unpaddedMillis) : parseDate(date, this.#order) + parseTimeOfDay(time, this.#unpaddedMillis);
    if (Number.isNaN(wall)) return wall;
    const zone = this.#options.timeZone;
    if (zone.isUtc) return wall;
    const instant = zone.toUtc(wall, this.#last);
    if (remember) this.#last = instant;
    return instant;
  }
}

/** Why a row's time did not parse, with a hint when the date is not year-first. */
export function badTime(text: string, options: FormatOptions): string {
  const hint = options.timeFormat === 'auto' && /^\d{1,2}[./-]\d{1,2}[./-]\d{4}/.test(text.trim()) ? ' (set timeFormat to dmy or mdy)' : '';
  return `no valid date and time at the start of the line (${text.length} characters)${hint}; line skipped`;
}

/** History a file of bars of `timeframe` needs to fill its window (the configured history for null). */
function historyFor(options: TailOpenOptions, timeframe: Timeframe | null): number {
  if (timeframe === null) return options.historyMs;
  return Math.max(options.historyMs, windowSize(options.windows ?? {}, timeframe) * TIMEFRAME_MS[timeframe]);
}

/** Rows read from the start of the data to infer the timeframe (enough for a few sessions of bars). */
const PROBE_ROWS = 500;
const PROBE_BYTES = 64 * 1024;

/**
 * A tail decoder for a delimited text file: subclasses say whether a first line is a
 * header, set up their columns from it, and decode a row.
 */
export abstract class DelimitedDecoder implements TailDecoder {
  protected readonly symbol: string;
  protected readonly fileName: string;
  protected readonly options: FormatOptions;
  protected layout: TextLayout | null = null;
  #lines: LineReader | null = null;
  readonly #warn: ((message: string) => void) | undefined;

  constructor(context: DecoderContext) {
    this.symbol = context.symbol;
    this.fileName = context.fileName;
    this.options = context.options ?? DEFAULT_FORMAT_OPTIONS;
    this.#warn = context.warn;
  }

  /** Whether the first line is a header (asked when the source does not say). */
  protected abstract isHeader(fields: string[]): boolean;
  /** Sets up the columns; throws FormatError when the file is not of this format. */
  protected abstract configure(layout: TextLayout): void;
  /** What a row carries to the next (the time reader's state, the last bar's time), for a checkpoint. */
  protected abstract carried(): DecoderCarry;
  /** Takes back what carried() saved; throws CarryMismatch when it does not fit. */
  protected abstract resumeCarried(saved: DecoderCarry): void;
  /** Epoch ms of a row, NaN when it has none (used to find where to start a large file). */
  protected abstract timeOf(fields: string[]): number;
  protected abstract row(fields: string[], text: string, offset: number, sink: RecordSink): void;
  /** Reads what else the decoder needs to know before the first row (the bar timeframe); a format that needs nothing leaves it out. */
  protected prepare?(file: RandomAccessFile): Promise<void>;
  /** The timeframe of the bars when a file holds bars; null otherwise or when unknown. */
  protected barTimeframe(): Timeframe | null {
    return null;
  }

  async open(file: RandomAccessFile, options: TailOpenOptions): Promise<TailStart | null> {
    const head = await file.read(0, Math.min(HEAD_BYTES, file.size));
    const layout = readLayout(head, this.options, (fields) => this.isHeader(fields));
    if (layout === undefined) return null;
    if (layout === null) throw new FormatError('FORMAT_NOT_TEXT', 'no line end in the first 4 KiB: not a text export', 0);
    this.layout = layout;
    this.#lines = new LineReader(layout.encoding);
    this.configure(layout);
    await this.prepare?.(file);
    const offset = await lineTailStart(file, {
      ...options,
      historyMs: historyFor(options, this.barTimeframe()),
      dataStart: layout.dataStart,
      encoding: layout.encoding,
      timeOf: (line) => this.timeOf(splitFields(line, layout.delimiter)),
    });
    return { offset, fingerprintBytes: layout.fingerprintBytes };
  }

  textLayout(): TextLayoutSummary | null {
    const layout = this.layout;
    return layout && { encoding: layout.encoding, delimiter: layout.delimiter, header: layout.header };
  }

  checkpoint(): DecoderCarry {
    return { lines: this.#lines?.checkpoint() ?? null, rows: this.carried() };
  }

  resume(saved: DecoderCarry): void {
    this.#lines?.resume(carriedPart(saved, 'lines'));
    this.resumeCarried(carriedPart(saved, 'rows'));
  }

  decode(chunk: Buffer, offset: number, sink: RecordSink): number {
    const layout = this.layout;
    if (!layout || !this.#lines) return 0;
    return this.#lines.read(
      chunk,
      offset,
      (text, lineOffset, length) => {
        if (text.trim() !== '') decodeRecord(sink, lineOffset, length, () => this.row(splitFields(text, layout.delimiter), text, lineOffset, sink));
      },
      (lineOffset) => sink.problem(lineOffset, OVERLONG_LINE),
    );
  }

  /**
   * The timeframe of the file's bars from the source's pin, the file name and the first rows
   * (timeframe-inference.ts); a doubt is told to the context's `warn`. Throws FormatError for
   * a name stating bars that fit no window.
   */
  protected async timeframeOf(file: RandomAccessFile): Promise<TimeframeDecision> {
    const pinned = this.options.timeframe;
    const times = pinned === 'auto' ? await this.probeTimes(file) : [];
    const decision = decideTimeframe({ fileName: this.fileName, pinned, times, zone: this.options.timeZone });
    if (decision.warning !== null) this.#warn?.(decision.warning);
    return decision;
  }

  /** The times of the first rows of the file, for inferring the bar timeframe. */
  protected async probeTimes(file: RandomAccessFile): Promise<number[]> {
    const layout = this.layout as TextLayout;
    const bytes = await file.read(layout.dataStart, Math.min(PROBE_BYTES, file.size - layout.dataStart));
    const times: number[] = [];
    forEachLine(
      bytes,
      layout.dataStart,
      layout.encoding,
      (text) => {
        if (times.length >= PROBE_ROWS) return;
        const time = this.timeOf(splitFields(text, layout.delimiter));
        if (!Number.isNaN(time)) times.push(time);
      },
      () => undefined,
    );
    return times;
  }
}
