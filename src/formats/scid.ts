import { basename, extname } from 'node:path';
import type { Bar } from '../model/document.js';
import { CarryMismatch, carriedNumber, type DecoderCarry } from './carry.js';
import { decodeRecord } from './record-guard.js';
import { multiplierFor, scalePrice } from './price-multiplier.js';
import { readSierraHeader } from './sierra-header.js';
import { readScDateTime, roundFloat32 } from './sierra-time.js';
import {
  DEFAULT_FORMAT_OPTIONS,
  type DecoderContext,
  type RandomAccessFile,
  type RecordSink,
  type TailDecoder,
  type TailFormat,
  type TailOpenOptions,
  type TailStart,
  type TickRecord,
} from './types.js';

/** Sierra Chart intraday data file (FORMATS.md §1). */
export const SCID_MAGIC = 0x44494353; // "SCID" little-endian
export const SCID_HEADER_SIZE = 56;
export const SCID_RECORD_SIZE = 40;
/** Open-field sentinels of single-trade records, compared as raw float32 bits. */
export const FIRST_SUB_TRADE_BITS = 0xfd709ef9;
export const LAST_SUB_TRADE_BITS = 0xfd709f01;
/** Sierra Chart's own Fix(): counts above INT_MAX are corrupt and read as zero. */
const INT_MAX = 0x7fffffff;
const SCID_SPEC = { what: 'Sierra Chart intraday file', magic: SCID_MAGIC, magicText: 'SCID', recordSize: SCID_RECORD_SIZE };

export const scidFormat: TailFormat = {
  name: 'sierra-scid',
  mode: 'tail',
  barBasis: 'trade',
  matchesName: (fileName) => extname(fileName).toLowerCase() === '.scid',
  symbolFor: (fileName) => basename(fileName, extname(fileName)),
  createDecoder: (context) => new ScidDecoder(context),
};

/**
 * The record objects a decoder reuses, one class per kind: a trade's fields always hold
 * numbers and a quote's `last` and `size` never do, so V8 keeps each class's numbers unboxed
 * instead of allocating one per field and record (a third of the decode time otherwise).
 */
class TradeTick implements TickRecord {
  time = 0;
  bid: number | undefined = 0;
  ask: number | undefined = 0;
  last = 0;
  size = 0;
  bidVolume = 0;
  askVolume = 0;
}

class QuoteTick implements TickRecord {
  time = 0;
  bid = 0;
  ask = 0;
  last = undefined;
  size = undefined;
  bidVolume = undefined;
  askVolume = undefined;
}

class ScidDecoder implements TailDecoder {
  readonly #symbol: string;
  readonly #trade = new TradeTick();
  readonly #quote = new QuoteTick();
  /**
   * The last record when it is a bar (its writer may rewrite it in place while the bar forms,
   * FORMATS.md §1.6): its offset and bytes. It is read again and decoded only if it changed.
   */
  #formingOffset = -1;
  #forming: Buffer | null = null;

  /** Prices are stored times 1 / this (native units); 1 for most files. */
  readonly #multiplier: number;

  constructor(context: DecoderContext) {
    this.#symbol = context.symbol;
    this.#multiplier = multiplierFor(context.options ?? DEFAULT_FORMAT_OPTIONS, context.symbol);
  }

  /** A stored float32 price as the document states it. */
  #price(stored: number): number {
    return scalePrice(roundFloat32(stored), this.#multiplier);
  }

  get revisit(): number {
    return this.#forming ? SCID_RECORD_SIZE : 0;
  }

  async open(file: RandomAccessFile, options: TailOpenOptions): Promise<TailStart | null> {
    const headerSize = await readSierraHeader(file, SCID_SPEC);
    if (headerSize === null) return null;
    const count = Math.floor((file.size - headerSize) / SCID_RECORD_SIZE);
    const first = await firstRecordWithin(file, headerSize, count, options);
    return { offset: headerSize + first * SCID_RECORD_SIZE, fingerprintBytes: headerSize + SCID_RECORD_SIZE };
  }

  checkpoint(): DecoderCarry {
    return { formingOffset: this.#formingOffset, forming: this.#forming?.toString('base64') ?? null };
  }

  resume(saved: DecoderCarry): void {
    const forming = saved.forming;
    if (forming !== null && (typeof forming !== 'string' || Buffer.byteLength(forming, 'base64') !== SCID_RECORD_SIZE)) {
      throw new CarryMismatch('forming is not a record');
    }
    this.#formingOffset = carriedNumber(saved, 'formingOffset', -1);
    this.#forming = forming === null ? null : Buffer.from(forming, 'base64');
  }

  decode(chunk: Buffer, offset: number, sink: RecordSink): number {
    const count = Math.floor(chunk.length / SCID_RECORD_SIZE);
    if (count === 0) return 0;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let lastWasBar = false;
    for (let i = 0; i < count; i++) {
      const o = i * SCID_RECORD_SIZE;
      let replacesLast = false;
      if (offset + o === this.#formingOffset) {
        if (this.#forming?.equals(chunk.subarray(o, o + SCID_RECORD_SIZE))) {
          lastWasBar = true;
          continue;
        }
        replacesLast = true;
      }
      lastWasBar = false;
      decodeRecord(sink, offset + o, SCID_RECORD_SIZE, () => {
        lastWasBar = this.#record(view, o, offset + o, sink, replacesLast);
      });
    }
    const lastOffset = (count - 1) * SCID_RECORD_SIZE;
    this.#formingOffset = lastWasBar ? offset + lastOffset : -1;
    this.#forming = lastWasBar ? Buffer.from(chunk.subarray(lastOffset, lastOffset + SCID_RECORD_SIZE)) : null;
    return count * SCID_RECORD_SIZE;
  }

  /** Decodes the record at `o`; returns whether it is a bar record. */
  #record(view: DataView, o: number, at: number, sink: RecordSink, replacesLast: boolean): boolean {
    const time = readScDateTime(view, o);
    if (Number.isNaN(time)) {
      sink.problem(at, 'record has no DateTime (zero or not a number); skipped');
      return false;
    }
    const openBits = view.getUint32(o + 8, true);
    const high = view.getFloat32(o + 12, true);
    const low = view.getFloat32(o + 16, true);
    const close = view.getFloat32(o + 20, true);
    const trades = countField(view, o + 24);
    const volume = countField(view, o + 28);
    if (!Number.isFinite(high) || !Number.isFinite(low) || !Number.isFinite(close)) {
      sink.problem(at, 'record has a price that is not a finite number; skipped');
      return false;
    }
    const singleTrade = trades === 1 && (openBits === 0 || openBits === FIRST_SUB_TRADE_BITS || openBits === LAST_SUB_TRADE_BITS);
    if (singleTrade) {
      // High holds the ask and Low the bid at the time of the trade (IntradayRecord.h).
      if (volume === 0 && openBits === 0 && high !== 0 && low !== 0) {
        const quote = this.#quote;
        quote.time = time;
        quote.bid = this.#price(low);
        quote.ask = this.#price(high);
        sink.tick(this.#symbol, quote);
        return false;
      }
      const trade = this.#trade;
      trade.time = time;
      trade.bid = low === 0 ? undefined : this.#price(low);
      trade.ask = high === 0 ? undefined : this.#price(high);
      trade.last = this.#price(close);
      trade.size = volume;
      trade.bidVolume = countField(view, o + 32);
      trade.askVolume = countField(view, o + 36);
      sink.tick(this.#symbol, trade);
      return false;
    }
    const open = view.getFloat32(o + 8, true);
    if (!Number.isFinite(open)) {
      sink.problem(at, 'bar record has an Open that is not a finite number; skipped');
      return false;
    }
    const bar: Bar = {
      t: time,
      o: this.#price(open),
      h: this.#price(high),
      l: this.#price(low),
      c: this.#price(close),
      v: volume,
      n: trades,
      bv: countField(view, o + 32),
      av: countField(view, o + 36),
    };
    sink.bar(this.#symbol, bar, null, replacesLast);
    return true;
  }
}

function countField(view: DataView, offset: number): number {
  const value = view.getUint32(offset, true);
  return value > INT_MAX ? 0 : value;
}

/** Records looked at past a corrupt one, for one that decodes, while searching. */
const SEARCH_SKIP = 64;

/**
 * Index of the first record the document needs: records are in time order, so a binary
 * search finds the first one within `historyMs` of the newest, bounded by the backfill cap.
 * A record that does not decode (no DateTime, a price that is not a number: reading skips
 * it) has no place in that order, whatever its DateTime field holds: the search looks past
 * it to the next record that decodes, so that it never skips the good records before it.
 */
async function firstRecordWithin(file: RandomAccessFile, headerSize: number, count: number, options: TailOpenOptions): Promise<number> {
  if (count === 0) return 0;
  const floor = Math.max(0, count - Math.floor(options.maxBackfillBytes / SCID_RECORD_SIZE));
  /** The record's time, NaN when it does not decode. */
  const timeAt = async (index: number): Promise<number> => {
    const bytes = await file.read(headerSize + index * SCID_RECORD_SIZE, 24);
    // Shorter when the file was cut while being opened: the record is gone.
    if (bytes.length < 24) return Number.NaN;
    const view = new DataView(bytes.buffer, bytes.byteOffset, 24);
    for (let o = 8; o < 24; o += 4) if (!Number.isFinite(view.getFloat32(o, true))) return Number.NaN;
    return readScDateTime(view, 0);
  };
  /** The first record from `index` to `last` that decodes (within SEARCH_SKIP), or null. */
  const validFrom = async (index: number, last: number, step: 1 | -1): Promise<{ index: number; time: number } | null> => {
    for (let i = index, seen = 0; step > 0 ? i <= last : i >= last; i += step, seen++) {
      if (seen > SEARCH_SKIP) return null;
      const time = await timeAt(i);
      if (!Number.isNaN(time)) return { index: i, time };
    }
    return null;
  };
  const newest = await validFrom(count - 1, floor, -1);
  if (!newest) return floor;
  const cutoff = newest.time - options.historyMs;
  // The cap is nearer than the history wanted (a tail read first, a small maxBackfillBytes): no search.
  const first = await validFrom(floor, newest.index, 1);
  if (first && first.time >= cutoff) return floor;
  let lo = floor;
  let hi = count - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const next = await validFrom(mid, hi, 1);
    if (next && next.time < cutoff) lo = next.index + 1;
    else hi = mid;
  }
  return lo;
}
