import { appendFile, open, writeFile } from 'node:fs/promises';
import { FIRST_SUB_TRADE_BITS, LAST_SUB_TRADE_BITS, SCID_HEADER_SIZE, SCID_MAGIC, SCID_RECORD_SIZE } from '../formats/scid.js';
import { writeLegacyScDateTime, writeScDateTime } from '../formats/sierra-time.js';
import type { MarketTick } from './random.js';

/** One `.scid` record as Sierra Chart stores it (FORMATS.md §1.3). */
export interface ScidRecord {
  /** Epoch ms; a fraction is the µs counter Sierra uses for same-ms trades. */
  time: number;
  /** A price for bar records; for single trades 0, or a sub-trade marker. */
  open: number | 'first-sub-trade' | 'last-sub-trade';
  high: number;
  low: number;
  close: number;
  trades: number;
  volume: number;
  bidVolume: number;
  askVolume: number;
}

/** The 56-byte header Sierra Chart writes (FORMATS.md §1.2). */
export function scidHeader(): Buffer {
  const header = Buffer.alloc(SCID_HEADER_SIZE);
  header.writeUInt32LE(SCID_MAGIC, 0);
  header.writeUInt32LE(SCID_HEADER_SIZE, 4);
  header.writeUInt32LE(SCID_RECORD_SIZE, 8);
  header.writeUInt16LE(1, 12);
  return header;
}

/** Encodes records; `legacyTime` writes the pre-int64 double-days DateTime. */
export function encodeScidRecords(records: readonly ScidRecord[], legacyTime = false): Buffer {
  const buffer = Buffer.alloc(records.length * SCID_RECORD_SIZE);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  records.forEach((record, i) => {
    const o = i * SCID_RECORD_SIZE;
    if (legacyTime) writeLegacyScDateTime(view, o, record.time);
    else writeScDateTime(view, o, record.time);
    if (record.open === 'first-sub-trade') view.setUint32(o + 8, FIRST_SUB_TRADE_BITS, true);
    else if (record.open === 'last-sub-trade') view.setUint32(o + 8, LAST_SUB_TRADE_BITS, true);
    else view.setFloat32(o + 8, record.open, true);
    view.setFloat32(o + 12, record.high, true);
    view.setFloat32(o + 16, record.low, true);
    view.setFloat32(o + 20, record.close, true);
    view.setUint32(o + 24, record.trades, true);
    view.setUint32(o + 28, record.volume, true);
    view.setUint32(o + 32, record.bidVolume, true);
    view.setUint32(o + 36, record.askVolume, true);
  });
  return buffer;
}

/** A tick as Sierra stores it: Open 0, High = ask, Low = bid, Close = trade (or a quote-only record). */
export function scidTickRecord(tick: MarketTick): ScidRecord {
  const traded = tick.last !== undefined;
  const size = tick.size ?? 0;
  return {
    time: tick.time,
    open: 0,
    high: tick.ask,
    low: tick.bid,
    close: traded ? (tick.last as number) : tick.bid,
    trades: 1,
    volume: traded ? size : 0,
    bidVolume: traded && tick.side === 'sell' ? size : 0,
    askVolume: traded && tick.side === 'buy' ? size : 0,
  };
}

/**
 * Writes a `.scid` file the way Sierra Chart does: a header, then records appended in
 * bursts; `appendPartial` can stop mid-record, as a reader sees during a flush.
 */
export class ScidWriter {
  #pending: Buffer = Buffer.alloc(0);

  constructor(
    readonly path: string,
    private readonly legacyTime = false,
  ) {}

  async create(records: readonly ScidRecord[] = []): Promise<void> {
    this.#pending = Buffer.alloc(0);
    await writeFile(this.path, Buffer.concat([scidHeader(), encodeScidRecords(records, this.legacyTime)]));
  }

  async append(records: readonly ScidRecord[]): Promise<void> {
    const bytes = Buffer.concat([this.#pending, encodeScidRecords(records, this.legacyTime)]);
    this.#pending = Buffer.alloc(0);
    await appendFile(this.path, bytes);
  }

  /** Rewrites the file's last record in place, as Sierra Chart does with the bar that is forming (FORMATS.md §1.6). */
  async rewriteLast(record: ScidRecord): Promise<void> {
    if (this.#pending.length > 0) throw new Error('the last record is not written whole yet');
    const handle = await open(this.path, 'r+');
    try {
      const { size } = await handle.stat();
      await handle.write(encodeScidRecords([record], this.legacyTime), 0, SCID_RECORD_SIZE, size - SCID_RECORD_SIZE);
    } finally {
      await handle.close();
    }
  }

  /** Appends all but the last `holdBack` bytes of the records; the next append completes them. */
  async appendPartial(records: readonly ScidRecord[], holdBack: number): Promise<void> {
    const bytes = Buffer.concat([this.#pending, encodeScidRecords(records, this.legacyTime)]);
    const cut = Math.max(0, bytes.length - holdBack);
    this.#pending = bytes.subarray(cut);
    await appendFile(this.path, bytes.subarray(0, cut));
  }
}
