import { basename, extname } from 'node:path';
import type { Book, BookLevel, JsonValue } from '../model/document.js';
import { CarryMismatch, carriedBoolean, type DecoderCarry } from './carry.js';
import { decodeRecord } from './record-guard.js';
import { multiplierFor, scalePrice } from './price-multiplier.js';
import { readSierraHeader } from './sierra-header.js';
import { isLegacyScDateTime, readScDateTime, roundFloat32 } from './sierra-time.js';
import {
  DEFAULT_FORMAT_OPTIONS,
  type DecoderContext,
  type RandomAccessFile,
  type RecordSink,
  type TailDecoder,
  type TailFormat,
  type TailOpenOptions,
  type TailStart,
} from './types.js';

/**
 * Sierra Chart market depth data file (FORMATS.md §2): `SYMBOL.YYYY-MM-DD.depth`, one per
 * symbol and day, a 64-byte header and 24-byte records, each a command on a book keyed by
 * price. Commands are applied to a working book; the document's book (the top levels of
 * each side, best first, as `[price, size, orders]`) is published only at the end of a
 * batch, since the book inside a batch is not consistent.
 */
export const DEPTH_MAGIC = 0x44444353; // "SCDD" little-endian
export const DEPTH_HEADER_SIZE = 64;
export const DEPTH_RECORD_SIZE = 24;
/** Levels per side a checkpoint's book may hold (a real book has a few thousand at most). */
const MAX_SAVED_LEVELS = 100_000;
export const FLAG_END_OF_BATCH = 0x01;
export const DepthCommand = {
  NONE: 0,
  CLEAR_BOOK: 1,
  ADD_BID: 2,
  ADD_ASK: 3,
  MODIFY_BID: 4,
  MODIFY_ASK: 5,
  DELETE_BID: 6,
  DELETE_ASK: 7,
} as const;

const DEPTH_SPEC = { what: 'Sierra Chart market depth file', magic: DEPTH_MAGIC, magicText: 'SCDD', recordSize: DEPTH_RECORD_SIZE };
/** `.2025-03-24` before the extension: the file's day. */
const DAY_SUFFIX = /\.(\d{4}-\d{2}-\d{2})$/;
/** Bytes scanned per read when looking back for the last full-book snapshot. */
const SCAN_BYTES = 1024 * DEPTH_RECORD_SIZE * 40;

function stem(fileName: string): string {
  return basename(fileName, extname(fileName));
}

export const depthFormat: TailFormat = {
  name: 'sierra-depth',
  mode: 'tail',
  barBasis: 'trade',
  matchesName: (fileName) => extname(fileName).toLowerCase() === '.depth',
  symbolFor: (fileName) => stem(fileName).replace(DAY_SUFFIX, ''),
  seriesOf(fileName) {
    const name = stem(fileName);
    const day = DAY_SUFFIX.exec(name)?.[1];
    return day ? { key: `sierra-depth:${name.replace(DAY_SUFFIX, '')}`, rank: day } : null;
  },
  createDecoder: (context) => new DepthDecoder(context),
};

/** One side of the working book: levels sorted best first, keyed by the float32-rounded price. */
class BookSide {
  readonly levels: [price: number, size: number, orders: number][] = [];

  constructor(private readonly descending: boolean) {}

  /** A side as checkpoint() saved it: levels of three finite numbers, best first. */
  static from(descending: boolean, saved: JsonValue | undefined): BookSide {
    const side = new BookSide(descending);
    if (!Array.isArray(saved) || saved.length > MAX_SAVED_LEVELS) throw new CarryMismatch('a book side is not a list of levels');
    for (const level of saved) {
      if (!Array.isArray(level) || level.length !== 3 || !level.every((value) => typeof value === 'number' && Number.isFinite(value))) {
        throw new CarryMismatch('a book level is not [price, size, orders]');
      }
      const [price, size, orders] = level as [number, number, number];
      const previous = side.levels.at(-1);
      if (previous && (descending ? previous[0] <= price : previous[0] >= price)) throw new CarryMismatch('book levels are not sorted best first');
      side.levels.push([price, size, orders]);
    }
    return side;
  }

  /** Sets a level; returns its index. */
  set(price: number, size: number, orders: number): number {
    const index = this.#find(price);
    if (index >= 0) {
      const level = this.levels[index] as [number, number, number];
      level[1] = size;
      level[2] = orders;
      return index;
    }
    this.levels.splice(~index, 0, [price, size, orders]);
    return ~index;
  }

  /** Removes a level; returns the index it had, or -1. */
  delete(price: number): number {
    const index = this.#find(price);
    if (index < 0) return -1;
    this.levels.splice(index, 1);
    return index;
  }

  top(count: number): BookLevel[] {
    const top: BookLevel[] = [];
    for (let i = 0; i < count && i < this.levels.length; i++) {
      const [price, size, orders] = this.levels[i] as [number, number, number];
      top.push([price, size, orders]);
    }
    return top;
  }

  /** Index of `price`, or `~insertionPoint`. */
  #find(price: number): number {
    let lo = 0;
    let hi = this.levels.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = (this.levels[mid] as [number, number, number])[0];
      if (at === price) return mid;
      if (this.descending ? at > price : at < price) lo = mid + 1;
      else hi = mid - 1;
    }
    return ~lo;
  }
}

class DepthDecoder implements TailDecoder {
  readonly #symbol: string;
  readonly #levels: number;
  /** Prices are stored times 1 / this (native units); 1 for most files. */
  readonly #multiplier: number;
  #bids = new BookSide(true);
  #asks = new BookSide(false);
  /** The published levels changed since the last batch ended. */
  #dirty = false;

  constructor(context: DecoderContext) {
    this.#symbol = context.symbol;
    const options = context.options ?? DEFAULT_FORMAT_OPTIONS;
    this.#levels = options.bookLevels;
    this.#multiplier = multiplierFor(options, context.symbol);
  }

  async open(file: RandomAccessFile, options: TailOpenOptions): Promise<TailStart | null> {
    const headerSize = await readSierraHeader(file, DEPTH_SPEC);
    if (headerSize === null) return null;
    const offset = await lastSnapshot(file, headerSize, options.maxBackfillBytes);
    return { offset, fingerprintBytes: headerSize + DEPTH_RECORD_SIZE };
  }

  checkpoint(): DecoderCarry {
    return { bids: this.#bids.levels, asks: this.#asks.levels, dirty: this.#dirty };
  }

  resume(saved: DecoderCarry): void {
    this.#bids = BookSide.from(true, saved.bids);
    this.#asks = BookSide.from(false, saved.asks);
    this.#dirty = carriedBoolean(saved, 'dirty');
  }

  decode(chunk: Buffer, offset: number, sink: RecordSink): number {
    const count = Math.floor(chunk.length / DEPTH_RECORD_SIZE);
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let i = 0; i < count; i++) {
      const o = i * DEPTH_RECORD_SIZE;
      decodeRecord(sink, offset + o, DEPTH_RECORD_SIZE, () => this.#record(view, o, offset + o, sink));
    }
    return count * DEPTH_RECORD_SIZE;
  }

  /** Decodes the record at `o` (at byte `at` of the file) into the working book. */
  #record(view: DataView, o: number, at: number, sink: RecordSink): void {
    const time = readScDateTime(view, o);
    if (Number.isNaN(time)) {
      sink.problem(at, 'depth record has no DateTime (zero or not a number); skipped');
      return;
    }
    const command = view.getUint8(o + 8);
    if (!this.#apply(view, o, command)) {
      sink.problem(
        at,
        `depth record has ${command > DepthCommand.DELETE_ASK ? `an unknown command ${command}` : 'a price that is not a finite number'}; skipped`,
      );
      return;
    }
    // Files of the older layout (a double DateTime) have no flags: each record is a batch.
    const endOfBatch = (view.getUint8(o + 9) & FLAG_END_OF_BATCH) !== 0 || isLegacyScDateTime(view, o);
    if (endOfBatch && this.#dirty) {
      this.#dirty = false;
      const book: Book = { bids: this.#bids.top(this.#levels), asks: this.#asks.top(this.#levels), time };
      sink.book(this.#symbol, book);
    }
  }

  /** Applies a command to the working book; false when the record cannot be applied. */
  #apply(view: DataView, o: number, command: number): boolean {
    if (command === DepthCommand.NONE) return true;
    if (command === DepthCommand.CLEAR_BOOK) {
      this.#dirty = true;
      this.#bids = new BookSide(true);
      this.#asks = new BookSide(false);
      return true;
    }
    if (command > DepthCommand.DELETE_ASK) return false;
    const price = view.getFloat32(o + 12, true);
    if (!Number.isFinite(price)) return false;
    const key = scalePrice(roundFloat32(price), this.#multiplier);
    const bid = command % 2 === 0;
    const side = bid ? this.#bids : this.#asks;
    const index = command >= DepthCommand.DELETE_BID ? side.delete(key) : side.set(key, view.getUint32(o + 16, true), view.getUint16(o + 10, true));
    if (index >= 0 && index < this.#levels) this.#dirty = true;
    return true;
  }
}

/**
 * Where to start reading: the last CLEAR_BOOK (a full snapshot of the book follows it)
 * within the last `maxBackfillBytes`; the first record otherwise, since a book can only be
 * rebuilt from a snapshot. A CLEAR_BOOK without a DateTime does not count: reading skips it.
 */
async function lastSnapshot(file: RandomAccessFile, headerSize: number, maxBackfillBytes: number): Promise<number> {
  const count = Math.floor((file.size - headerSize) / DEPTH_RECORD_SIZE);
  const floor = Math.max(0, count - Math.floor(maxBackfillBytes / DEPTH_RECORD_SIZE));
  const perScan = SCAN_BYTES / DEPTH_RECORD_SIZE;
  for (let end = count; end > floor; end -= perScan) {
    const from = Math.max(floor, end - perScan);
    const bytes = await file.read(headerSize + from * DEPTH_RECORD_SIZE, (end - from) * DEPTH_RECORD_SIZE);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Fewer bytes than asked when the file was cut while being opened.
    for (let i = Math.floor(bytes.length / DEPTH_RECORD_SIZE) - 1; i >= 0; i--) {
      const o = i * DEPTH_RECORD_SIZE;
      if (bytes[o + 8] === DepthCommand.CLEAR_BOOK && !Number.isNaN(readScDateTime(view, o))) return headerSize + (from + i) * DEPTH_RECORD_SIZE;
    }
  }
  return headerSize;
}
