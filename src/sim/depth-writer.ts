import { appendFile, writeFile } from 'node:fs/promises';
import { DEPTH_HEADER_SIZE, DEPTH_MAGIC, DEPTH_RECORD_SIZE, DepthCommand, FLAG_END_OF_BATCH } from '../formats/depth.js';
import { writeLegacyScDateTime, writeScDateTime } from '../formats/sierra-time.js';

/** One `.depth` record (FORMATS.md §2.3). */
export interface DepthRecord {
  /** Epoch ms (a fraction is the µs counter). */
  time: number;
  command: number;
  /** Ends a batch (FLAG_END_OF_BATCH). */
  end?: boolean;
  price?: number;
  quantity?: number;
  orders?: number;
}

/** A book as levels per side: [price, quantity, orders]. */
export interface DepthLevels {
  bids: [number, number, number][];
  asks: [number, number, number][];
}

/** The 64-byte header Sierra Chart writes (FORMATS.md §2.6). */
export function depthHeader(): Buffer {
  const header = Buffer.alloc(DEPTH_HEADER_SIZE);
  header.writeUInt32LE(DEPTH_MAGIC, 0);
  header.writeUInt32LE(DEPTH_HEADER_SIZE, 4);
  header.writeUInt32LE(DEPTH_RECORD_SIZE, 8);
  header.writeUInt32LE(1, 12);
  return header;
}

/** Encodes records; `legacy` writes the older layout (double-days DateTime, no flags or orders). */
export function encodeDepthRecords(records: readonly DepthRecord[], legacy = false): Buffer {
  const buffer = Buffer.alloc(records.length * DEPTH_RECORD_SIZE);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  records.forEach((record, i) => {
    const o = i * DEPTH_RECORD_SIZE;
    if (legacy) writeLegacyScDateTime(view, o, record.time);
    else writeScDateTime(view, o, record.time);
    view.setUint8(o + 8, record.command);
    if (!legacy) {
      view.setUint8(o + 9, record.end ? FLAG_END_OF_BATCH : 0);
      view.setUint16(o + 10, record.orders ?? 0, true);
    }
    view.setFloat32(o + 12, record.price ?? 0, true);
    view.setUint32(o + 16, record.quantity ?? 0, true);
  });
  return buffer;
}

/** A full snapshot: CLEAR_BOOK, then every level, the last record ending the batch. */
export function snapshotBatch(time: number, book: DepthLevels): DepthRecord[] {
  const records: DepthRecord[] = [{ time, command: DepthCommand.CLEAR_BOOK }];
  for (const [price, quantity, orders] of book.bids) records.push({ time, command: DepthCommand.ADD_BID, price, quantity, orders });
  for (const [price, quantity, orders] of book.asks) records.push({ time, command: DepthCommand.ADD_ASK, price, quantity, orders });
  return endBatch(records);
}

/** Marks the last record of `records` as the end of its batch. */
export function endBatch(records: DepthRecord[]): DepthRecord[] {
  const last = records[records.length - 1];
  if (last) last.end = true;
  return records;
}

/** Writes a `.depth` file as Sierra Chart does: a header, then batches appended (optionally cut mid-record). */
export class DepthWriter {
  #pending: Buffer = Buffer.alloc(0);

  constructor(
    readonly path: string,
    private readonly legacy = false,
  ) {}

  async create(records: readonly DepthRecord[] = []): Promise<void> {
    this.#pending = Buffer.alloc(0);
    await writeFile(this.path, Buffer.concat([depthHeader(), encodeDepthRecords(records, this.legacy)]));
  }

  async append(records: readonly DepthRecord[], holdBack = 0): Promise<void> {
    const bytes = Buffer.concat([this.#pending, encodeDepthRecords(records, this.legacy)]);
    const cut = Math.max(0, bytes.length - holdBack);
    this.#pending = bytes.subarray(cut);
    await appendFile(this.path, bytes.subarray(0, cut));
  }
}
