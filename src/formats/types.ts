import type { Bar, Book, JsonObject, PartialDocument, Timeframe, WindowSizes } from '../model/document.js';
import { TimeZone } from '../model/zone.js';
import { TapeError } from '../model/errors.js';
import type { DecoderCarry } from './carry.js';

export type TextEncoding = 'utf8' | 'utf16le' | 'windows-1252';

/**
 * One tick as a decoder reports it. Decoders reuse one object across calls on hot paths:
 * a sink must copy what it keeps and never hold the reference.
 */
export interface TickRecord {
  /** Epoch milliseconds. */
  time: number;
  bid?: number | undefined;
  ask?: number | undefined;
  /** Trade price; present only when this tick is a trade. */
  last?: number | undefined;
  /** Trade size; meaningful only with `last`. */
  size?: number | undefined;
  /** Of a trade's size, what traded at the bid and at the ask (`.scid` records); absent when the source does not say. */
  bidVolume?: number | undefined;
  askVolume?: number | undefined;
}

/** Where decoders put what they read. Implemented by the state layer. */
export interface RecordSink {
  tick(symbol: string, tick: TickRecord): void;
  /**
   * A bar read from a file. With a `timeframe`, it is that timeframe's bar opening at `bar.t`
   * and replaces any bar held for that open time. `timeframe` null means a bar of unknown or
   * sub-minute length (a Sierra bar file's storage unit) that is merged into the bars held;
   * `replacesLast` says it is the last such bar this file reported, rewritten by its writer
   * (Sierra's forming bar), so it corrects that bar rather than adding to it twice.
   * `lengthMs`, with `timeframe` null, is the bars' length when the file says it (a 10-minute
   * chart): they are merged only into the windows that length divides, never a finer one.
   */
  bar(symbol: string, bar: Bar, timeframe: Timeframe | null, replacesLast?: boolean, lengthMs?: number): void;
  /** The order book as of `book.time` (a new object each time: the sink may keep it). */
  book(symbol: string, book: Book): void;
  /** Values with no home in the document's quote or bars, merged into `fields`. */
  fields(symbol: string, fields: JsonObject): void;
  /** The complete content a whole-file source holds for `symbol` (replaces the previous one). */
  document(symbol: string, partial: PartialDocument, sourceTime: number): void;
  /** A record or line that could not be decoded: skipped, reported once with its place. */
  problem(offset: number, reason: string, line?: number): void;
  /**
   * The records that follow come from the record at `offset` of the file (until the next
   * call): what the sink refuses of them (a time far ahead of the clock) is reported there.
   */
  at?(offset: number): void;
}

/** When the change a commit publishes was written and found. */
export interface CommitTiming {
  /** The file's modification time (epoch ms). */
  writtenAt: number;
  /** performance.now() when the read that found the change began. */
  readAt: number;
}

/**
 * The sink of one file's records, read in cycles: `begin`, records, then `finish`, which
 * commits what the cycle read, or `abandon`, which drops it. The watcher reads files into
 * it; the state layer implements it.
 */
export interface ReadCycleSink extends RecordSink {
  /** `fresh`: the cycle reads the file from its start; `timing`: when its bytes were written and read (null: not timed). */
  begin(fresh: boolean, timing?: CommitTiming | null): void;
  /** Commits what the cycle read; returns the number of records it applied. */
  finish(): number;
  /** Ends a cycle without committing it (its decoder failed as a whole): the published state stays. */
  abandon(): void;
  /** What a checkpoint saves of the file's records, between cycles: JSON the state layer reads back itself. */
  checkpoint(): unknown;
}

/** The file a read-cycle sink is opened for. */
export interface ReadCycleFile {
  /** Identifies the file's contributions (its path). */
  key: string;
  /** Format name, published in `sources`. */
  source: string;
  barBasis: BarBasis;
  /** A record skipped (`record`, a decoder's doubt about it) or content the state's bounds refused (`refused`). */
  onProblem: (offset: number, reason: string, line?: number, kind?: ProblemKind) => void;
}

export type ProblemKind = 'record' | 'refused';

/** Opens the sink a file's records go to, once the file's format is known. */
export type OpenReadCycleSink = (file: ReadCycleFile) => ReadCycleSink;

/** Random access to a file while choosing where to start reading. */
export interface RandomAccessFile {
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

export interface TailOpenOptions {
  /** How much history (ms before the newest record) the document needs; older data is skipped. */
  historyMs: number;
  /** Never read more than this many bytes of history when a file is first opened. */
  maxBackfillBytes: number;
  /** Bars kept per timeframe, for files whose bars are of one timeframe. */
  windows?: WindowSizes;
}

export interface TailStart {
  /** Byte offset at which reading starts. */
  offset: number;
  /** How many leading bytes identify the file's content; when they change the file was rewritten. */
  fingerprintBytes: number;
}

/** Decoder state for one append-only file (one identity of it: a reset makes a new one). */
export interface TailDecoder {
  /**
   * Validates the header and chooses where to start. Returns null when the file is too
   * short to tell yet (not an error: the writer has not finished). Throws FormatError when
   * the content is not of this format.
   */
  open(file: RandomAccessFile, options: TailOpenOptions): Promise<TailStart | null>;
  /**
   * Decodes the complete records at the start of `chunk` (which begins at byte `offset` of
   * the file) and returns how many bytes it consumed. A partial last record is left
   * unconsumed and offered again with the bytes that follow.
   */
  decode(chunk: Buffer, offset: number, sink: RecordSink): number;
  /**
   * Bytes at the end of what decode() consumed that the writer may still rewrite in place
   * (Sierra's forming bar record): they are read again, and decoded only if they changed.
   */
  readonly revisit?: number;
  /**
   * What the decoder carries from one read to the next (a forming bar, the working book, the
   * line and time state), for a checkpoint: with it, a decoder opened on the same file goes on
   * at the checkpoint's offset exactly as this one would.
   */
  checkpoint(): DecoderCarry;
  /** Goes on from a checkpoint's carry, after open() on the same file; throws CarryMismatch when it does not fit. */
  resume(saved: DecoderCarry): void;
  /** How a text file was found laid out, once open() read it (what `tapebridge scan` shows); binary formats have none. */
  textLayout?(): TextLayoutSummary | null;
}

/** The encoding, delimiter and header a text decoder reads a file with (sniffed, or pinned by the source). */
export interface TextLayoutSummary {
  encoding: TextEncoding;
  /** Null for line formats without fields (JSON lines). */
  delimiter: Delimiter | null;
  /** Header names as written, or null when the file has none. */
  header: readonly string[] | null;
}

/**
 * `incomplete` holds why the content could not be read when it may be half-written
 * (empty, or JSON cut short): it should be read again shortly, and nothing was emitted.
 */
export type WholeDecodeResult = { ok: true } | { ok: false; incomplete: string };

/** Decoder for a file that is rewritten whole (a JSON snapshot). */
export interface WholeDecoder {
  decode(content: Buffer, sink: RecordSink, context: { mtimeMs: number }): WholeDecodeResult;
}

/**
 * How bars are built from ticks: 'trade' uses trades only (exchange data such as
 * Sierra Chart); 'auto' uses trades when the source has any, and the bid otherwise
 * (MetaTrader's convention for FX and CFDs).
 */
export type BarBasis = 'trade' | 'auto';

interface FormatBase {
  /** Stable name, published in the document's `sources`. */
  readonly name: string;
  readonly barBasis: BarBasis;
  /** Cheap check by file name alone: can this format possibly read the file? */
  matchesName(fileName: string): boolean;
  /**
   * Content check on the first bytes (up to 4 KiB) for formats that share an extension.
   * Returns undefined when there are not enough bytes to decide yet.
   */
  sniff?(head: Buffer, options: FormatOptions, fileName?: string): boolean | undefined;
  /** The symbol a file feeds, from its name. */
  symbolFor(fileName: string): string;
  /** The series a file belongs to (Sierra's one depth file per symbol and day), if any. */
  seriesOf?(fileName: string): FileSeries | null;
}

/** Where several files form one series (one per day), only the newest is read. */
export interface FileSeries {
  /** Files with the same key form a series. */
  key: string;
  /** Orders the files of a series (compared as strings); the greatest is the current one. */
  rank: string;
}

/** What a decoder knows of the file it reads. */
export interface DecoderContext {
  fileName: string;
  /** The symbol `symbolFor(fileName)` gave, for formats that hold one symbol per file. */
  symbol: string;
  /** The source's reading options; the defaults when absent. */
  options?: FormatOptions;
  /** Told what was assumed about the file where its content leaves doubt (the bars' timeframe). */
  warn?: (message: string) => void;
}

export type Delimiter = '\t' | ',' | ';';
/** How a time column is written: dates in an order (`ymd` etc.), or epoch seconds or ms. */
export type TimeFormat = 'auto' | 'ymd' | 'dmy' | 'mdy' | 'epoch-s' | 'epoch-ms';
/** A column by its 1-based position or by its header name. */
export type ColumnRef = number | string;
export const COLUMN_ROLES = ['symbol', 'time', 'date', 'bid', 'ask', 'last', 'volume', 'open', 'high', 'low', 'close'] as const;
export type ColumnRole = (typeof COLUMN_ROLES)[number];
export type ColumnMapping = Partial<Record<ColumnRole, ColumnRef>>;

/** Per-source reading options (docs/configuration.md). `auto` sniffs per file. */
export interface FormatOptions {
  encoding: TextEncoding | 'auto';
  delimiter: Delimiter | 'auto';
  /** Whether text files start with a header line. */
  header: boolean | 'auto';
  /** Zone of the local times text exports and MetaTrader files print. */
  timeZone: TimeZone;
  timeFormat: TimeFormat;
  /** Which columns of a generic CSV are what; by header names when absent. */
  columns: ColumnMapping | undefined;
  /** Timeframe of the bars a text file holds; inferred from its first rows with `auto`. */
  timeframe: Timeframe | 'auto';
  /** A JSON file holds one symbol (named after the file) or a map of symbols. */
  json: 'auto' | 'symbol' | 'map';
  /** Book levels published per side. */
  bookLevels: number;
  /** Multiplies every price of Sierra files (`.scid`, `.depth`, text): 0.01 reads 642350 as 6423.50. */
  priceMultiplier: number;
  /** Per symbol as the file names it, or a `*`/`?` pattern: overrides `priceMultiplier`. */
  priceMultipliers: Readonly<Record<string, number>>;
}

export const DEFAULT_FORMAT_OPTIONS: FormatOptions = Object.freeze({
  encoding: 'auto',
  delimiter: 'auto',
  header: 'auto',
  timeZone: TimeZone.UTC,
  timeFormat: 'auto',
  columns: undefined,
  timeframe: 'auto',
  json: 'auto',
  bookLevels: 10,
  priceMultiplier: 1,
  priceMultipliers: {},
});

export interface TailFormat extends FormatBase {
  readonly mode: 'tail';
  createDecoder(context: DecoderContext): TailDecoder;
}

export interface WholeFormat extends FormatBase {
  readonly mode: 'whole';
  createDecoder(context: DecoderContext): WholeDecoder;
}

export type FileFormat = TailFormat | WholeFormat;

/** What a FormatError says is wrong with the content. */
export type FormatErrorCode =
  | 'FORMAT_BAD_MAGIC'
  | 'FORMAT_BAD_HEADER'
  | 'FORMAT_MISSING_COLUMNS'
  | 'FORMAT_NOT_TEXT'
  | 'FORMAT_TIMEFRAME'
  | 'FORMAT_TOO_LARGE'
  | 'FORMAT_TRUNCATED'
  | 'FORMAT_UNDECODABLE';

/** Content that is definitely not of the format (bad magic, wrong record size). */
export class FormatError extends TapeError {
  declare readonly code: FormatErrorCode;

  constructor(
    code: FormatErrorCode,
    message: string,
    readonly offset: number,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.name = 'FormatError';
  }
}
