import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEPTH_HEADER_SIZE, DepthCommand, depthFormat } from '../../src/formats/depth.js';
import { FormatError } from '../../src/formats/types.js';
import { depthHeader, encodeDepthRecords, endBatch, snapshotBatch, type DepthRecord } from '../../src/sim/depth-writer.js';
import { ALL_HISTORY, bufferFile, decodeAll, decoderFor, feedInRuns } from './fixtures.js';

const T0 = Date.UTC(2025, 2, 24, 14, 30);
const file = (records: readonly DepthRecord[], legacy = false): Buffer => Buffer.concat([depthHeader(), encodeDepthRecords(records, legacy)]);
const decoder = (levels = 10) => decoderFor(depthFormat, 'ESM25_FUT_CME.2025-03-24.depth', { bookLevels: levels });

/** Everything from the first record (open() would start at the last CLEAR_BOOK). */
function decodeFromStart(buf: Buffer) {
  return feedInRuns(decoder(), buf, DEPTH_HEADER_SIZE, []);
}

const SNAPSHOT = snapshotBatch(T0, {
  bids: [
    [6012.25, 41, 3],
    [6012, 87, 5],
    [6011.75, 12, 1],
  ],
  asks: [
    [6012.5, 12, 2],
    [6012.75, 66, 4],
  ],
});

describe('depth: the file name', () => {
  it('maps SYMBOL.YYYY-MM-DD.depth to SYMBOL, and its day is the rank of a series', () => {
    expect(depthFormat.symbolFor('ESM25_FUT_CME.2025-03-24.depth')).toBe('ESM25_FUT_CME');
    expect(depthFormat.symbolFor('NQH26-CME.depth')).toBe('NQH26-CME');
    expect(depthFormat.seriesOf?.('ESM25_FUT_CME.2025-03-24.depth')).toEqual({ key: 'sierra-depth:ESM25_FUT_CME', rank: '2025-03-24' });
    expect((depthFormat.seriesOf?.('ESM25_FUT_CME.2025-03-25.depth')?.rank ?? '') > '2025-03-24').toBe(true);
    expect(depthFormat.seriesOf?.('NQH26-CME.depth')).toBeNull();
  });
});

describe('depth: building the book', () => {
  it('publishes a snapshot batch as the top levels, best first, [price, size, orders]', async () => {
    const { sink, offset } = await decodeAll(decoder(), file(SNAPSHOT));
    expect(offset).toBe(DEPTH_HEADER_SIZE);
    expect(sink.problems).toEqual([]);
    expect(sink.books).toEqual([
      {
        bids: [
          [6012.25, 41, 3],
          [6012, 87, 5],
          [6011.75, 12, 1],
        ],
        asks: [
          [6012.5, 12, 2],
          [6012.75, 66, 4],
        ],
        time: T0,
      },
    ]);
    expect(sink.events.every((event) => event.kind !== 'book' || event.symbol === 'ESM25_FUT_CME')).toBe(true);
  });

  it('publishes only at the end of a batch: a book crossed inside a batch is never seen', async () => {
    const t = T0 + 5;
    const batch = endBatch([
      // The ask moves down through the old bid before the bid is removed: crossed mid-batch.
      { time: t, command: DepthCommand.ADD_ASK, price: 6012, quantity: 9, orders: 1 },
      { time: t, command: DepthCommand.DELETE_BID, price: 6012.25 },
      { time: t, command: DepthCommand.DELETE_BID, price: 6012 },
      { time: t, command: DepthCommand.DELETE_ASK, price: 6012.5 },
    ]);
    const { sink } = await decodeAll(decoder(), file([...SNAPSHOT, ...batch]));
    expect(sink.books).toHaveLength(2);
    for (const book of sink.books) expect(book.bids[0]![0]).toBeLessThan(book.asks[0]![0]);
    expect(sink.books[1]).toEqual({
      bids: [[6011.75, 12, 1]],
      asks: [
        [6012, 9, 1],
        [6012.75, 66, 4],
      ],
      time: t,
    });
  });

  it('modifies levels by price (float32 prices keyed after rounding), deletes, and ignores unknown deletes', async () => {
    const t = T0 + 10;
    const batch = endBatch([
      { time: t, command: DepthCommand.MODIFY_BID, price: 6012.25, quantity: 50, orders: 4 },
      { time: t, command: DepthCommand.MODIFY_ASK, price: 6013, quantity: 7, orders: 2 },
      { time: t, command: DepthCommand.DELETE_ASK, price: 7000 },
      { time: t, command: DepthCommand.NONE },
    ]);
    const fx = endBatch([
      { time: t, command: DepthCommand.ADD_BID, price: 1.10432, quantity: 1, orders: 1 },
      { time: t, command: DepthCommand.MODIFY_BID, price: 1.10432, quantity: 2, orders: 1 },
    ]);
    const { sink } = await decodeAll(decoder(), file([...SNAPSHOT, ...batch, ...fx]));
    expect(sink.books[1]).toEqual({
      bids: [
        [6012.25, 50, 4],
        [6012, 87, 5],
        [6011.75, 12, 1],
      ],
      asks: [
        [6012.5, 12, 2],
        [6012.75, 66, 4],
        [6013, 7, 2],
      ],
      time: t,
    });
    // 1.10432 is not exact in float32: both records key the same level, published as 1.10432.
    expect(sink.books[2]?.bids.at(-1)).toEqual([1.10432, 2, 1]);
  });

  it('keeps only the configured number of levels per side, and publishes nothing when no published level changed', async () => {
    const bids = Array.from({ length: 15 }, (_, i): [number, number, number] => [100 - i, 10 + i, 1]);
    const asks = Array.from({ length: 15 }, (_, i): [number, number, number] => [101 + i, 20 + i, 1]);
    const deep = endBatch([{ time: T0 + 1, command: DepthCommand.MODIFY_BID, price: 90, quantity: 999, orders: 9 }]);
    const top = endBatch([{ time: T0 + 2, command: DepthCommand.MODIFY_ASK, price: 101, quantity: 1, orders: 1 }]);
    const { sink } = await decodeAll(decoder(5), file([...snapshotBatch(T0, { bids, asks }), ...deep, ...top]));
    expect(sink.books).toHaveLength(2);
    expect(sink.books[0]?.bids).toEqual(bids.slice(0, 5));
    expect(sink.books[0]?.asks).toEqual(asks.slice(0, 5));
    // The 11th bid level changed: the top 5 did not, so no book was published for it.
    expect(sink.books[1]?.asks[0]).toEqual([101, 1, 1]);
    expect(sink.books[1]?.time).toBe(T0 + 2);
  });

  it('CLEAR_BOOK empties both sides; the next batch rebuilds them', () => {
    const clear = endBatch([{ time: T0 + 1, command: DepthCommand.CLEAR_BOOK }]);
    const again = snapshotBatch(T0 + 2, { bids: [[5000, 1, 1]], asks: [[5001, 2, 1]] });
    const sink = decodeFromStart(file([...SNAPSHOT, ...clear, ...again]));
    expect(sink.books.map((book) => [book.bids.length, book.asks.length])).toEqual([
      [3, 2],
      [0, 0],
      [1, 1],
    ]);
    expect(sink.books[2]).toEqual({ bids: [[5000, 1, 1]], asks: [[5001, 2, 1]], time: T0 + 2 });
  });

  it('reads the older layout (double DateTime, no flags): every record is a batch', () => {
    const records: DepthRecord[] = [
      { time: T0, command: DepthCommand.CLEAR_BOOK },
      { time: T0, command: DepthCommand.ADD_BID, price: 10, quantity: 5 },
      { time: T0 + 1000, command: DepthCommand.ADD_ASK, price: 11, quantity: 6 },
    ];
    const sink = decodeFromStart(file(records, true));
    // A double of days carries the time to within a microsecond.
    expect(sink.books.map((book) => ({ ...book, time: Math.round(book.time ?? 0) }))).toEqual([
      { bids: [], asks: [], time: T0 },
      { bids: [[10, 5, 0]], asks: [], time: T0 },
      { bids: [[10, 5, 0]], asks: [[11, 6, 0]], time: T0 + 1000 },
    ]);
  });

  it('reports a record with an unknown command, no time or a bad price at its offset, and goes on', async () => {
    const buf = file([...SNAPSHOT, ...endBatch([{ time: T0 + 1, command: DepthCommand.MODIFY_BID, price: 6012, quantity: 1, orders: 1 }])]);
    const at = (index: number): number => DEPTH_HEADER_SIZE + index * 24;
    buf[at(1) + 8] = 9; // the first ADD_BID becomes command 9
    buf.fill(0, at(2), at(2) + 8); // no DateTime
    buf.writeFloatLE(Number.NaN, at(3) + 12);
    const { sink } = await decodeAll(decoder(), buf);
    expect(sink.problems.map((problem) => problem.offset)).toEqual([at(1), at(2), at(3)]);
    expect(sink.problems[0]?.reason).toMatch(/unknown command 9/);
    expect(sink.problems[1]?.reason).toMatch(/no DateTime/);
    expect(sink.problems[2]?.reason).toMatch(/not a finite number/);
    expect(sink.books.at(-1)?.bids).toEqual([[6012, 1, 1]]);
  });
});

describe('depth: opening a file', () => {
  it('rejects a bad magic or record size with FormatError, and waits for a short header', async () => {
    const bad = file(SNAPSHOT);
    bad.write('SCID', 0, 'latin1');
    await expect(decoder().open(bufferFile(bad), ALL_HISTORY)).rejects.toThrow(FormatError);
    const size = file(SNAPSHOT);
    size.writeUInt32LE(40, 8);
    await expect(decoder().open(bufferFile(size), ALL_HISTORY)).rejects.toThrow(/record size 40/);
    expect(await decoder().open(bufferFile(file(SNAPSHOT).subarray(0, 40)), ALL_HISTORY)).toBeNull();
  });

  it('starts a large file at its last full-book snapshot, never mid-way through the book', async () => {
    const updates: DepthRecord[] = [];
    for (let i = 1; i <= 100_000; i++) updates.push(...endBatch([{ time: T0 + i, command: DepthCommand.MODIFY_BID, price: 6012, quantity: i, orders: 1 }]));
    const later = snapshotBatch(T0 + 200_000, { bids: [[6100, 1, 1]], asks: [[6101, 1, 1]] });
    const buf = file([
      ...SNAPSHOT,
      ...updates,
      ...later,
      ...endBatch([{ time: T0 + 200_001, command: DepthCommand.MODIFY_ASK, price: 6101, quantity: 4, orders: 2 }]),
    ]);
    const snapshotAt = DEPTH_HEADER_SIZE + (SNAPSHOT.length + updates.length) * 24;
    const read = bufferFile(buf);
    const start = await decoder().open(read, ALL_HISTORY);
    expect(start?.offset).toBe(snapshotAt);
    expect(read.stats.bytes).toBeLessThan(buf.length / 2);
    // No snapshot within the backfill limit: the book is rebuilt from the start.
    expect((await decoder().open(bufferFile(buf), { ...ALL_HISTORY, maxBackfillBytes: 24 }))?.offset).toBe(DEPTH_HEADER_SIZE);
    const { sink } = await decodeAll(decoder(), buf);
    expect(sink.books).toEqual([
      { bids: [[6100, 1, 1]], asks: [[6101, 1, 1]], time: T0 + 200_000 },
      { bids: [[6100, 1, 1]], asks: [[6101, 4, 2]], time: T0 + 200_001 },
    ]);
  });
});

describe('depth: a CLEAR_BOOK without a DateTime', () => {
  it('is skipped when read, so reading never starts at it: the book stays the one the file gives (a fault the soak injects)', async () => {
    const update = endBatch([{ time: T0 + 1, command: DepthCommand.MODIFY_ASK, price: 6012.5, quantity: 30, orders: 3 }]);
    const corrupt = encodeDepthRecords([{ time: T0 + 2, command: DepthCommand.CLEAR_BOOK }]);
    corrupt.fill(0, 0, 8);
    const buf = Buffer.concat([file([...SNAPSHOT, ...update]), corrupt]);
    const start = await decoder().open(bufferFile(buf), ALL_HISTORY);
    expect(start?.offset).toBe(DEPTH_HEADER_SIZE);
    const fromStart = decodeFromStart(buf);
    expect(fromStart.problems.map((problem) => problem.reason)).toEqual(['depth record has no DateTime (zero or not a number); skipped']);
    const { sink } = await decodeAll(decoder(), buf);
    expect(sink.books.at(-1)).toEqual(fromStart.books.at(-1));
    expect(sink.books.at(-1)?.asks[0]).toEqual([6012.5, 30, 3]);
  });
});

describe('depth: byte-split invariance', () => {
  it('gives the same books whatever the runs the bytes arrive in', async () => {
    const records: DepthRecord[] = [...SNAPSHOT];
    for (let i = 1; i <= 40; i++) {
      records.push(
        ...endBatch([
          { time: T0 + i, command: i % 3 === 0 ? DepthCommand.DELETE_ASK : DepthCommand.MODIFY_ASK, price: 6012.5 + (i % 4) * 0.25, quantity: i, orders: 1 },
          { time: T0 + i, command: DepthCommand.MODIFY_BID, price: 6012 - (i % 5) * 0.25, quantity: i * 2, orders: 2 },
        ]),
      );
    }
    const buf = file(records);
    const whole = (await decodeAll(decoder(), buf)).sink.events;
    expect(whole.length).toBeGreaterThan(30);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: DEPTH_HEADER_SIZE, max: buf.length }), { maxLength: 30 }), async (splits) => {
        const fresh = decoder();
        await fresh.open(bufferFile(buf), ALL_HISTORY);
        expect(feedInRuns(fresh, buf, DEPTH_HEADER_SIZE, splits).events).toStrictEqual(whole);
      }),
      { numRuns: 150 },
    );
  });
});
