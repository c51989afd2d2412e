import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChunkedDecoder } from '../../src/formats/chunked-decoder.js';
import { mt5TicksFormat } from '../../src/formats/mt5-ticks.js';
import { scidFormat } from '../../src/formats/scid.js';
import {
  DEFAULT_FORMAT_OPTIONS,
  type FormatOptions,
  type RandomAccessFile,
  type TailDecoder,
  type TailFormat,
  type TailOpenOptions,
} from '../../src/formats/types.js';
import { MT5_TICK_HEADER, mt5TickRow, type Mt5Encoding } from '../../src/sim/mt5-writer.js';
import { RandomMarket, seededRandom, type MarketTick } from '../../src/sim/random.js';
import { encodeScidRecords, scidHeader, scidTickRecord, type ScidRecord } from '../../src/sim/scid-writer.js';
import { RecordingSink } from './recording-sink.js';

/** The samples' folder: ../shared/samples next to the checkout, or $SHARED_SAMPLES_DIR (a checkout elsewhere, such as a git worktree; not TAPEBRIDGE_*, which is config). */
const SAMPLES_DIR = process.env.SHARED_SAMPLES_DIR ?? fileURLToPath(new URL('../../../shared/samples/', import.meta.url));

/** The real Sierra Chart sample kept next to the project (FORMATS.md §6). */
export const SAMPLE_SCID_PATH = join(SAMPLES_DIR, 'test.scid');
export const HAS_SAMPLE_SCID = existsSync(SAMPLE_SCID_PATH);
/** Appended to the name of a suite that needs the sample, so a skip says why. */
export const SAMPLE_SKIP_NOTE = HAS_SAMPLE_SCID ? '' : ' [SKIPPED: ../shared/samples/test.scid is absent]';

export function readSampleScid(): Buffer {
  return readFileSync(SAMPLE_SCID_PATH);
}

/** A real sample file in ../shared/samples/ (FORMATS.md §6), or null when the folder is absent. */
export function samplePath(name: string): string {
  return join(SAMPLES_DIR, name);
}

export const HAS_SAMPLES = ['test.scid', 'ES.txt', 'BBDC4MN1.csv', 'WDOV24M5-MA20.csv'].every((name) => existsSync(samplePath(name)));
export const SAMPLES_SKIP_NOTE = HAS_SAMPLES ? '' : ' [SKIPPED: ../shared/samples/ is absent]';

/** A decoder of `format` for a file name, with the options of a source. */
export function decoderFor(format: TailFormat, fileName: string, options: Partial<FormatOptions> = {}): TailDecoder {
  return format.createDecoder({ fileName, symbol: format.symbolFor(fileName), options: { ...DEFAULT_FORMAT_OPTIONS, ...options } });
}

/** Options that keep the whole file. */
export const ALL_HISTORY: TailOpenOptions = { historyMs: Number.MAX_SAFE_INTEGER, maxBackfillBytes: Number.MAX_SAFE_INTEGER };

export interface CountingFile extends RandomAccessFile {
  /** Number of read() calls and bytes returned so far. */
  readonly stats: { reads: number; bytes: number };
}

/** A RandomAccessFile over a Buffer that counts what is read. */
export function bufferFile(buf: Buffer): CountingFile {
  const stats = { reads: 0, bytes: 0 };
  return {
    size: buf.length,
    stats,
    read: (offset: number, length: number) => {
      const bytes = buf.subarray(offset, offset + length);
      stats.reads++;
      stats.bytes += bytes.length;
      return Promise.resolve(bytes);
    },
  };
}

export function scidDecoder(symbol = 'ES'): TailDecoder {
  return scidFormat.createDecoder({ fileName: `${symbol}.scid`, symbol });
}

export function mt5Decoder(symbol = 'EURUSD'): TailDecoder {
  return mt5TicksFormat.createDecoder({ fileName: `${symbol}_202501020000_202501030000.csv`, symbol });
}

/** Opens `buf` with `decoder` and decodes everything from the start offset in one run. */
export async function decodeAll(
  decoder: TailDecoder,
  buf: Buffer,
  options: TailOpenOptions = ALL_HISTORY,
): Promise<{ sink: RecordingSink; offset: number; consumed: number }> {
  const start = await decoder.open(bufferFile(buf), options);
  if (!start) throw new Error('open() returned null');
  const sink = new RecordingSink();
  const consumed = decoder.decode(buf.subarray(start.offset), start.offset, sink);
  return { sink, offset: start.offset, consumed };
}

/**
 * Feeds buf[start..] through a ChunkedDecoder cut at `splits` (absolute file offsets, any
 * order, duplicates allowed) and returns what the sink saw.
 */
export function feedInRuns(decoder: TailDecoder, buf: Buffer, start: number, splits: readonly number[], sink = new RecordingSink()): RecordingSink {
  const cuts = [...new Set(splits.filter((at) => at > start && at < buf.length))].sort((a, b) => a - b);
  const chunked = new ChunkedDecoder(decoder, start);
  // Each run is read from where the decoder wants the next bytes (it may revisit a record).
  for (const at of [...cuts, buf.length]) {
    if (at > chunked.position) chunked.feed(buf.subarray(chunked.position, at), sink);
  }
  const revisit = decoder.revisit ?? 0;
  if (chunked.position + revisit !== buf.length) throw new Error(`ChunkedDecoder position ${chunked.position} (+${revisit} revisited), expected ${buf.length}`);
  return sink;
}

// ---------------------------------------------------------------- synthetic .scid

export const SCID_T0 = Date.UTC(2025, 0, 2, 14, 30);

/**
 * A realistic mix of `.scid` records: trade ticks at bid/ask, quote-only records,
 * unbundled trades (first/last sentinels, +1 µs counter) and bar records.
 */
export function syntheticScidRecords(seed: number, count: number, start = SCID_T0): ScidRecord[] {
  const random = seededRandom(seed);
  const market = new RandomMarket({ start: 6012.25, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.7, seed: seed + 1 });
  const records: ScidRecord[] = [];
  let time = start;
  while (records.length < count) {
    const roll = random();
    time += random() < 0.15 ? 0 : Math.floor(random() * 1500);
    const base = Math.floor(time);
    // Same millisecond as the previous record: Sierra's +1 µs counter.
    const previous = records[records.length - 1];
    const stamp = previous && Math.floor(previous.time) === base ? previous.time + 0.001 : base;
    if (roll < 0.6) {
      records.push(scidTickRecord(market.next(stamp)));
    } else if (roll < 0.75 && records.length + 1 < count) {
      const tick = market.next(stamp);
      const price = tick.last ?? tick.ask;
      const part = (open: ScidRecord['open'], at: number, size: number): ScidRecord => ({
        time: at,
        open,
        high: tick.ask,
        low: tick.bid,
        close: price,
        trades: 1,
        volume: size,
        bidVolume: 0,
        askVolume: size,
      });
      records.push(part('first-sub-trade', stamp, 3), part('last-sub-trade', stamp + 0.001, 2));
    } else {
      const tick = market.next(stamp);
      const open = tick.bid;
      const close = tick.ask;
      const bidVolume = Math.floor(random() * 40);
      const askVolume = Math.floor(random() * 40);
      records.push({
        time: stamp,
        open,
        high: Math.max(open, close) + 0.5,
        low: Math.min(open, close) - 0.25,
        close,
        trades: 2 + Math.floor(random() * 30),
        volume: bidVolume + askVolume + 1,
        bidVolume,
        askVolume,
      });
    }
    time = Math.floor(records[records.length - 1]?.time ?? time);
  }
  return records.slice(0, count);
}

export function scidFile(records: readonly ScidRecord[], legacyTime = false): Buffer {
  return Buffer.concat([scidHeader(), encodeScidRecords(records, legacyTime)]);
}

/** Zeroes the DateTime of record `index` of a whole file (header included). */
export function zeroScidTime(file: Buffer, index: number): void {
  file.fill(0, 56 + index * 40, 56 + index * 40 + 8);
}

/** Writes a float32 at field offset `field` (8 Open, 12 High, 16 Low, 20 Close) of record `index`. */
export function setScidFloat(file: Buffer, index: number, field: number, value: number): void {
  file.writeFloatLE(value, 56 + index * 40 + field);
}

// ---------------------------------------------------------------- synthetic MT5 tick export

export const MT5_T0 = Date.UTC(2025, 0, 2, 0, 0, 0, 351);

export function marketTicks(seed: number, count: number, options: { start?: number; stepMs?: number; tradeShare?: number } = {}): MarketTick[] {
  const random = seededRandom(seed);
  const market = new RandomMarket({ start: 1.03512, tickSize: 0.00001, spreadTicks: 12, tradeShare: options.tradeShare ?? 0.3, seed: seed + 7 });
  const stepMs = options.stepMs ?? 700;
  const ticks: MarketTick[] = [];
  let time = options.start ?? MT5_T0;
  for (let i = 0; i < count; i++) {
    ticks.push(market.next(time));
    time += 1 + Math.floor(random() * stepMs * 2);
  }
  return ticks;
}

/** Rows as the terminal writes them (unchanged fields empty), without line ends. */
export function mt5Rows(ticks: readonly MarketTick[], digits = 5): string[] {
  let previous: MarketTick | undefined;
  return ticks.map((tick) => {
    const row = mt5TickRow(tick, previous, digits);
    previous = tick;
    return row;
  });
}

/** A whole tick export: BOM in UTF-16LE, header, `rows` each ended by `lineEnd`. */
export function mt5File(rows: readonly string[], encoding: Mt5Encoding = 'utf8', lineEnd = '\r\n', header = MT5_TICK_HEADER): Buffer {
  const text = [header, ...rows].map((row) => `${row}${lineEnd}`).join('');
  const bom = encoding === 'utf16le' ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0);
  return Buffer.concat([bom, Buffer.from(text, encoding)]);
}

/** The tick a decoder should report for a MarketTick (what the rows say, bid/ask carried). */
export function expectedTick(tick: MarketTick): { time: number; bid: number; ask: number; last?: number; size?: number } {
  return tick.last === undefined
    ? { time: tick.time, bid: tick.bid, ask: tick.ask }
    : { time: tick.time, bid: tick.bid, ask: tick.ask, last: tick.last, size: tick.size ?? 0 };
}
