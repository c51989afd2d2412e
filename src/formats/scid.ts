import { basename, extname } from 'node:path';
import type { Bar } from '../state/document.js';
import { readScDateTime, roundFloat32 } from './sierra-time.js';
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

/** Sierra Chart intraday data file (FORMATS.md §1). */
export const SCID_MAGIC = 0x44494353; // "SCID" little-endian
export const SCID_HEADER_SIZE = 56;
export const SCID_RECORD_SIZE = 40;
/** Open-field sentinels of single-trade records, compared as raw float32 bits. */
export const FIRST_SUB_TRADE_BITS = 0xfd709ef9;
export const LAST_SUB_TRADE_BITS = 0xfd709f01;
/** Sierra Chart's own Fix(): counts above INT_MAX are corrupt and read as zero. */
const INT_MAX = 0x7fffffff;
/** A header claiming more than this is corrupt. */
const MAX_HEADER_SIZE = 4096;

export const scidFormat: TailFormat = {
  name: 'sierra-scid',
  mode: 'tail',
  barBasis: 'trade',
  matchesName: (fileName) => extname(fileName).toLowerCase() === '.scid',
  symbolFor: (fileName) => basename(fileName, extname(fileName)),
  createDecoder: (context) => new ScidDecoder(context),
};

class ScidDecoder implements TailDecoder {
  readonly #symbol: string;
  readonly #tick: TickRecord = { time: 0 };

  constructor(context: DecoderContext) {
    this.#symbol = context.symbol;
  }

  async open(file: RandomAccessFile, options: TailOpenOptions): Promise<TailStart | null> {
    if (file.size < 16) return null;
    const head = await file.read(0, 16);
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    if (view.getUint32(0, true) !== SCID_MAGIC) {
      throw new FormatError(`not a Sierra Chart intraday file: magic is 0x${view.getUint32(0, true).toString(16)}, expected "SCID"`, 0);
    }
    const headerSize = view.getUint32(4, true);
    const recordSize = view.getUint32(8, true);
    if (headerSize < 16 || headerSize > MAX_HEADER_SIZE) {
      throw new FormatError(`header size ${headerSize} is out of range (16..${MAX_HEADER_SIZE})`, 4);
    }
    if (recordSize !== SCID_RECORD_SIZE) {
      throw new FormatError(`record size ${recordSize} is not supported (expected ${SCID_RECORD_SIZE})`, 8);
    }
    if (file.size < headerSize) return null;
    const count = Math.floor((file.size - headerSize) / SCID_RECORD_SIZE);
    const first = await firstRecordWithin(file, headerSize, count, options);
    return { offset: headerSize + first * SCID_RECORD_SIZE, fingerprintBytes: headerSize + SCID_RECORD_SIZE };
  }

  decode(chunk: Buffer, offset: number, sink: RecordSink): number {
    const count = Math.floor(chunk.length / SCID_RECORD_SIZE);
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const tick = this.#tick;
    const symbol = this.#symbol;
    for (let i = 0; i < count; i++) {
      const o = i * SCID_RECORD_SIZE;
      const time = readScDateTime(view, o);
      if (Number.isNaN(time)) {
        sink.problem(offset + o, 'record has no DateTime (zero or not a number); skipped');
        continue;
      }
      const openBits = view.getUint32(o + 8, true);
      const high = view.getFloat32(o + 12, true);
      const low = view.getFloat32(o + 16, true);
      const close = view.getFloat32(o + 20, true);
      const trades = countField(view, o + 24);
      const volume = countField(view, o + 28);
      if (!Number.isFinite(high) || !Number.isFinite(low) || !Number.isFinite(close)) {
        sink.problem(offset + o, 'record has a price that is not a finite number; skipped');
        continue;
      }
      const singleTrade =
        trades === 1 && (openBits === 0 || openBits === FIRST_SUB_TRADE_BITS || openBits === LAST_SUB_TRADE_BITS);
      if (singleTrade) {
        // High holds the ask and Low the bid at the time of the trade (IntradayRecord.h).
        tick.time = time;
        tick.bid = low === 0 ? undefined : roundFloat32(low);
        tick.ask = high === 0 ? undefined : roundFloat32(high);
        const quoteOnly = volume === 0 && openBits === 0 && high !== 0 && low !== 0;
        tick.last = quoteOnly ? undefined : roundFloat32(close);
        tick.size = quoteOnly ? undefined : volume;
        sink.tick(symbol, tick);
        continue;
      }
      const open = view.getFloat32(o + 8, true);
      if (!Number.isFinite(open)) {
        sink.problem(offset + o, 'bar record has an Open that is not a finite number; skipped');
        continue;
      }
      const bar: Bar = {
        t: time,
        o: roundFloat32(open),
        h: roundFloat32(high),
        l: roundFloat32(low),
        c: roundFloat32(close),
        v: volume,
        n: trades,
        bv: countField(view, o + 32),
        av: countField(view, o + 36),
      };
      sink.bar(symbol, bar, null);
    }
    return count * SCID_RECORD_SIZE;
  }
}

function countField(view: DataView, offset: number): number {
  const value = view.getUint32(offset, true);
  return value > INT_MAX ? 0 : value;
}

/**
 * Index of the first record the document needs: records are in time order, so a binary
 * search finds the first one within `historyMs` of the newest, bounded by the backfill cap.
 */
async function firstRecordWithin(
  file: RandomAccessFile,
  headerSize: number,
  count: number,
  options: TailOpenOptions,
): Promise<number> {
  if (count === 0) return 0;
  const floor = Math.max(0, count - Math.floor(options.maxBackfillBytes / SCID_RECORD_SIZE));
  const timeAt = async (index: number): Promise<number> => {
    const bytes = await file.read(headerSize + index * SCID_RECORD_SIZE, 8);
    const time = readScDateTime(new DataView(bytes.buffer, bytes.byteOffset, 8), 0);
    return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
  };
  const newest = await timeAt(count - 1);
  if (!Number.isFinite(newest)) return floor;
  const cutoff = newest - options.historyMs;
  let lo = floor;
  let hi = count - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((await timeAt(mid)) < cutoff) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
