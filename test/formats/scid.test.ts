import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkedDecoder } from '../../src/formats/chunked-decoder.js';
import { FIRST_SUB_TRADE_BITS, LAST_SUB_TRADE_BITS, SCID_HEADER_SIZE, SCID_MAGIC, SCID_RECORD_SIZE, scidFormat } from '../../src/formats/scid.js';
import { FormatError, type RecordSink, type TickRecord } from '../../src/formats/types.js';
import { encodeScidRecords, scidHeader, type ScidRecord } from '../../src/sim/scid-writer.js';
import {
  ALL_HISTORY,
  bufferFile,
  decodeAll,
  HAS_SAMPLE_SCID,
  readSampleScid,
  SAMPLE_SKIP_NOTE,
  scidDecoder,
  SCID_T0,
  scidFile,
  setScidFloat,
  syntheticScidRecords,
  zeroScidTime,
} from './fixtures.js';
import { RecordingSink } from './recording-sink.js';

const noSink: RecordSink = {
  tick: () => undefined,
  bar: () => undefined,
  book: () => undefined,
  fields: () => undefined,
  document: () => undefined,
  problem: () => undefined,
};

/** The ten tick records of test.scid as FORMATS.md §1 and §6 describe them (index 0-based): trades at the bid have BidVolume 1, at the ask AskVolume 1. */
const SAMPLE_TICKS = [
  { time: 1677011839026, bid: 4048, ask: 4048.75, last: 4048, size: 1, bidVolume: 1, askVolume: 0 },
  { time: 1677011863699, bid: 4048, ask: 4048.25, last: 4048, size: 1, bidVolume: 1, askVolume: 0 },
  { time: 1677011870544, bid: 4047.5, ask: 4048.25, last: 4047.5, size: 1, bidVolume: 1, askVolume: 0 },
  { time: 1677011882105, bid: 4047.75, ask: 4048.25, last: 4047.75, size: 1, bidVolume: 1, askVolume: 0 },
  { time: 1677011882105.001, bid: 4047.75, ask: 4048.25, last: 4047.75, size: 1, bidVolume: 1, askVolume: 0 },
  { time: 1677011892208, bid: 4048, ask: 4048.5, last: 4048, size: 1, bidVolume: 1, askVolume: 0 },
  { time: 1677011950708, bid: 4046.5, ask: 4047, last: 4047, size: 1, bidVolume: 0, askVolume: 1 },
  { time: 1677012028608, bid: 4047.5, ask: 4048, last: 4048, size: 1, bidVolume: 0, askVolume: 1 },
  { time: 1677012052682, bid: 4048.5, ask: 4049, last: 4048.5, size: 1, bidVolume: 1, askVolume: 0 },
  { time: 1677012052682.001, bid: 4048.5, ask: 4049, last: 4048.25, size: 1, bidVolume: 1, askVolume: 0 },
];

describe(`scid: the real sample test.scid${SAMPLE_SKIP_NOTE}`, () => {
  it.skipIf(!HAS_SAMPLE_SCID)('has the header bytes FORMATS.md §1.2 gives', () => {
    const sample = readSampleScid();
    expect(sample.length).toBe(456);
    expect(sample.subarray(0, 16).toString('hex')).toBe('53434944380000002800000001000000');
    expect(sample.subarray(16, 56).every((byte) => byte === 0)).toBe(true);
    // The writer used by the simulator produces exactly the same header.
    expect(scidHeader().equals(sample.subarray(0, 56))).toBe(true);
  });

  it.skipIf(!HAS_SAMPLE_SCID)('decodes to 10 tick records with the documented values', async () => {
    const sample = readSampleScid();
    const { sink, offset, consumed } = await decodeAll(scidDecoder('ESM23'), sample);
    expect(offset).toBe(SCID_HEADER_SIZE);
    expect(consumed).toBe(400);
    expect(sink.problems).toEqual([]);
    expect(sink.bars).toEqual([]);
    expect(sink.ticks).toHaveLength(10);
    expect(sink.events.every((event) => event.kind === 'tick' && event.symbol === 'ESM23')).toBe(true);
    expect(sink.ticks).toStrictEqual(SAMPLE_TICKS);
    const first = sink.ticks[0]!;
    expect(first.time).toBe(1677011839026);
    expect(new Date(first.time).toISOString()).toBe('2023-02-21T20:37:19.026Z');
  });

  it.skipIf(!HAS_SAMPLE_SCID)('keeps the +1 µs same-millisecond counter as a 0.001 ms fraction', async () => {
    const { sink } = await decodeAll(scidDecoder(), readSampleScid());
    const t = sink.ticks.map((tick) => tick.time);
    // Records 3 and 4 (0-based): 3886173482105000 and 3886173482105001 µs.
    expect(t[4]! - t[3]!).toBeCloseTo(0.001, 3);
    expect(t[4]).toBeGreaterThan(t[3]!);
    expect(Math.floor(t[4]!)).toBe(t[3]);
    expect(t[9]! - t[8]!).toBeCloseTo(0.001, 3);
    expect(t[9]).toBeGreaterThan(t[8]!);
    // Times never go backwards.
    for (let i = 1; i < t.length; i++) expect(t[i]).toBeGreaterThan(t[i - 1]!);
  });

  it.skipIf(!HAS_SAMPLE_SCID)('decodes both unbundled-trade sentinels (records 3 and 4) as trades', async () => {
    const sample = readSampleScid();
    expect(sample.readUInt32LE(56 + 3 * 40 + 8)).toBe(FIRST_SUB_TRADE_BITS);
    expect(sample.readUInt32LE(56 + 4 * 40 + 8)).toBe(LAST_SUB_TRADE_BITS);
    const { sink } = await decodeAll(scidDecoder(), sample);
    expect(sink.ticks[3]).toStrictEqual({ time: 1677011882105, bid: 4047.75, ask: 4048.25, last: 4047.75, size: 1, bidVolume: 1, askVolume: 0 });
    expect(sink.ticks[4]).toMatchObject({ bid: 4047.75, ask: 4048.25, last: 4047.75, size: 1 });
  });

  it.skipIf(!HAS_SAMPLE_SCID)('keeps a trade printed through the quote (record 9: bid 4048.5, trade 4048.25)', async () => {
    const { sink } = await decodeAll(scidDecoder(), readSampleScid());
    const through = sink.ticks[9]!;
    expect(through.bid).toBe(4048.5);
    expect(through.ask).toBe(4049);
    expect(through.last).toBe(4048.25);
    expect(through.last!).toBeLessThan(through.bid!);
  });

  it.skipIf(!HAS_SAMPLE_SCID)('returns null from open() while the file is shorter than the header', async () => {
    const sample = readSampleScid();
    for (const length of [0, 4, 15, 16, 40, 55]) {
      expect(await scidDecoder().open(bufferFile(sample.subarray(0, length)), ALL_HISTORY), `length ${length}`).toBeNull();
    }
    // Header only: valid, nothing to read yet.
    expect(await scidDecoder().open(bufferFile(sample.subarray(0, 56)), ALL_HISTORY)).toEqual({ offset: 56, fingerprintBytes: 96 });
  });
});

describe('scid: header validation', () => {
  const valid = (): Buffer => scidFile(syntheticScidRecords(1, 3));

  async function openError(buf: Buffer): Promise<FormatError> {
    const error = await scidDecoder()
      .open(bufferFile(buf), ALL_HISTORY)
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(FormatError);
    return error as FormatError;
  }

  it('opens a valid file at the first record', async () => {
    expect(await scidDecoder().open(bufferFile(valid()), ALL_HISTORY)).toEqual({ offset: 56, fingerprintBytes: 96 });
  });

  it('rejects a bad magic with FormatError at offset 0', async () => {
    const buf = valid();
    buf.write('SCIE', 0, 'latin1');
    const error = await openError(buf);
    expect(error.offset).toBe(0);
    expect(error.name).toBe('FormatError');
    expect(error.code).toBe('FORMAT_BAD_MAGIC');
    expect(error.message).toMatch(/magic/);
    // A text file that happens to be long enough is not a .scid either.
    expect((await openError(Buffer.from('<DATE>\t<TIME>\t<BID>\t<ASK>\r\n'))).offset).toBe(0);
  });

  it('rejects a record size other than 40 with FormatError at offset 8', async () => {
    const buf = valid();
    buf.writeUInt32LE(48, 8);
    const error = await openError(buf);
    expect(error.offset).toBe(8);
    expect(error.code).toBe('FORMAT_BAD_HEADER');
    expect(error.message).toMatch(/record size 48/);
  });

  it('rejects an absurd header size with FormatError at offset 4', async () => {
    for (const size of [0, 8, 1 << 20]) {
      const buf = valid();
      buf.writeUInt32LE(size, 4);
      expect(await openError(buf)).toMatchObject({ offset: 4, code: 'FORMAT_BAD_HEADER' });
    }
  });

  it('trusts HeaderSize from the file', async () => {
    const records = syntheticScidRecords(2, 4);
    const header = Buffer.alloc(64);
    header.writeUInt32LE(SCID_MAGIC, 0);
    header.writeUInt32LE(64, 4);
    header.writeUInt32LE(SCID_RECORD_SIZE, 8);
    const buf = Buffer.concat([header, encodeScidRecords(records)]);
    const { offset, sink } = await decodeAll(scidDecoder(), buf);
    expect(offset).toBe(64);
    expect(sink.ticks.length + sink.bars.length).toBe(4);
    expect(await scidDecoder().open(bufferFile(header.subarray(0, 60)), ALL_HISTORY)).toBeNull();
  });
});

describe('scid: record decoding', () => {
  const T = Date.UTC(2025, 0, 2, 14, 30, 0, 250);

  function decodeRecords(records: ScidRecord[], legacy = false, mutate?: (file: Buffer) => void): RecordingSink {
    const file = scidFile(records, legacy);
    mutate?.(file);
    const sink = new RecordingSink();
    const consumed = scidDecoder('ES').decode(file.subarray(56), 56, sink);
    expect(consumed).toBe(records.length * 40);
    return sink;
  }

  const trade = (time: number, bid: number, ask: number, last: number, size = 2): ScidRecord => ({
    time,
    open: 0,
    high: ask,
    low: bid,
    close: last,
    trades: 1,
    volume: size,
    bidVolume: last <= bid ? size : 0,
    askVolume: last >= ask ? size : 0,
  });

  it('reuses one tick object between calls, which the recording sink copies', () => {
    const seen: TickRecord[] = [];
    const file = scidFile([trade(T, 1, 1.5, 1.5), trade(T + 1, 1.25, 1.5, 1.25)]);
    const recording = new RecordingSink();
    const sink = {
      ...noSink,
      tick: (symbol: string, tick: TickRecord) => {
        seen.push(tick);
        recording.tick(symbol, tick);
      },
    };
    scidDecoder().decode(file.subarray(56), 56, sink);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    expect(recording.ticks.map((tick) => tick.time)).toEqual([T, T + 1]);
  });

  it('reads a single trade with bid in Low, ask in High and the trade in Close', () => {
    const sink = decodeRecords([trade(T, 6012.25, 6012.5, 6012.5, 3)]);
    expect(sink.ticks).toStrictEqual([{ time: T, bid: 6012.25, ask: 6012.5, last: 6012.5, size: 3, bidVolume: 0, askVolume: 3 }]);
  });

  it('decodes a legacy double-days DateTime to the same times within 1 ms', () => {
    const records = syntheticScidRecords(11, 200);
    const modern = decodeRecords(records);
    const legacy = decodeRecords(records, true);
    expect(legacy.problems).toEqual([]);
    expect(legacy.events).toHaveLength(modern.events.length);
    const times = (sink: RecordingSink): number[] =>
      sink.events.map((event) => (event.kind === 'tick' ? event.tick.time : event.kind === 'bar' ? event.bar.t : Number.NaN));
    const legacyTimes = times(legacy);
    times(modern).forEach((time, i) => {
      expect(Math.abs(legacyTimes[i]! - time)).toBeLessThan(1);
    });
    // Prices and kinds are unaffected by the DateTime encoding.
    expect(legacy.ticks.map(({ time: _t, ...rest }) => rest)).toEqual(modern.ticks.map(({ time: _t, ...rest }) => rest));
    // The bytes really are the legacy double (days since 1899-12-30).
    const file = scidFile(records.slice(0, 1), true);
    expect(file.readDoubleLE(56)).toBeCloseTo(records[0]!.time / 86_400_000 + 25_569, 9);
  });

  it('sends a bar record (Open is a price) to sink.bar with o/h/l/c/v/n/bv/av and no timeframe', () => {
    const sink = decodeRecords([{ time: T, open: 6010.75, high: 6012.5, low: 6010.25, close: 6012.25, trades: 37, volume: 120, bidVolume: 50, askVolume: 70 }]);
    expect(sink.ticks).toEqual([]);
    expect(sink.events).toStrictEqual([
      { kind: 'bar', symbol: 'ES', bar: { t: T, o: 6010.75, h: 6012.5, l: 6010.25, c: 6012.25, v: 120, n: 37, bv: 50, av: 70 }, timeframe: null },
    ]);
  });

  it('reads counts above INT_MAX as 0 (Sierra Chart Fix())', () => {
    const sink = decodeRecords([
      { time: T, open: 100.5, high: 101, low: 100, close: 100.75, trades: 0x80000000, volume: 0xffffffff, bidVolume: 0x7fffffff, askVolume: 0x80000001 },
    ]);
    expect(sink.bars).toStrictEqual([{ t: T, o: 100.5, h: 101, l: 100, c: 100.75, v: 0, n: 0, bv: 0x7fffffff, av: 0 }]);
  });

  it('reads a quote-only record (NumTrades 1, TotalVolume 0, Open 0) as bid/ask without last', () => {
    const sink = decodeRecords([{ time: T, open: 0, high: 6012.5, low: 6012.25, close: 6012.25, trades: 1, volume: 0, bidVolume: 0, askVolume: 0 }]);
    expect(sink.ticks).toStrictEqual([{ time: T, bid: 6012.25, ask: 6012.5 }]);
    expect(sink.bars).toEqual([]);
  });

  it('does not let a quote-only record inherit the previous trade (tick object reuse)', () => {
    const sink = decodeRecords([
      trade(T, 6012.25, 6012.5, 6012.5, 4),
      { time: T + 5, open: 0, high: 6012.75, low: 6012.5, close: 0, trades: 1, volume: 0, bidVolume: 0, askVolume: 0 },
    ]);
    expect(sink.ticks).toStrictEqual([
      { time: T, bid: 6012.25, ask: 6012.5, last: 6012.5, size: 4, bidVolume: 0, askVolume: 4 },
      { time: T + 5, bid: 6012.5, ask: 6012.75 },
    ]);
  });

  it('reports a zero DateTime via problem with its byte offset and skips it', () => {
    const records = [trade(T, 1, 1.5, 1.5), trade(T + 1, 1, 1.5, 1), trade(T + 2, 1.25, 1.5, 1.5)];
    const sink = decodeRecords(records, false, (file) => zeroScidTime(file, 1));
    expect(sink.problems).toHaveLength(1);
    expect(sink.problems[0]!.offset).toBe(56 + 40);
    expect(sink.problems[0]!.reason).toMatch(/DateTime/);
    expect(sink.ticks.map((tick) => tick.time)).toEqual([T, T + 2]);
  });

  it('reports a NaN or infinite price via problem with its byte offset and skips it', () => {
    const records = [
      trade(T, 1, 1.5, 1.5),
      trade(T + 1, 1, 1.5, 1),
      trade(T + 2, 1.25, 1.5, 1.5),
      trade(T + 3, 1.25, 1.5, 1.25),
      { time: T + 4, open: 1, high: 2, low: 0.5, close: 1.5, trades: 5, volume: 5, bidVolume: 2, askVolume: 3 },
    ];
    const sink = decodeRecords(records, false, (file) => {
      setScidFloat(file, 1, 20, Number.NaN); // Close
      setScidFloat(file, 2, 12, Number.POSITIVE_INFINITY); // High
      setScidFloat(file, 4, 8, Number.NaN); // Open of a bar
    });
    expect(sink.problems.map((problem) => problem.offset)).toEqual([56 + 40, 56 + 80, 56 + 160]);
    expect(sink.problems.every((problem) => problem.reason.includes('not a finite number'))).toBe(true);
    expect(sink.ticks.map((tick) => tick.time)).toEqual([T, T + 3]);
    expect(sink.bars).toEqual([]);
  });

  it('reports problems at the offset the chunk starts at', () => {
    const file = scidFile([trade(T, 1, 1.5, 1.5), trade(T + 1, 1, 1.5, 1)]);
    zeroScidTime(file, 1);
    const sink = new RecordingSink();
    // Decode only the second record, as a tail read would.
    expect(scidDecoder().decode(file.subarray(96), 96, sink)).toBe(40);
    expect(sink.problems).toEqual([{ kind: 'problem', offset: 96, reason: expect.any(String) }]);
  });

  it('publishes float32 prices rounded (1.10432 as float32 decodes to exactly 1.10432)', () => {
    expect(Math.fround(1.10432)).not.toBe(1.10432);
    const sink = decodeRecords([
      trade(T, 1.10432, 1.10445, 1.10432),
      { time: T + 1, open: 1.10433, high: 1.10452, low: 1.10401, close: 1.10447, trades: 9, volume: 9, bidVolume: 4, askVolume: 5 },
    ]);
    expect(sink.ticks).toStrictEqual([{ time: T, bid: 1.10432, ask: 1.10445, last: 1.10432, size: 2, bidVolume: 2, askVolume: 0 }]);
    expect(sink.bars[0]).toMatchObject({ o: 1.10433, h: 1.10452, l: 1.10401, c: 1.10447 });
  });

  it('consumes only whole records and leaves a partial one', () => {
    const file = scidFile(syntheticScidRecords(3, 5));
    const sink = new RecordingSink();
    expect(scidDecoder().decode(file.subarray(56, 56 + 2 * 40 + 39), 56, sink)).toBe(80);
    expect(sink.events).toHaveLength(2);
    expect(scidDecoder().decode(file.subarray(56, 56 + 39), 56, new RecordingSink())).toBe(0);
  });

  it('reports every record of a mixed synthetic file exactly once', () => {
    const records = syntheticScidRecords(5, 400);
    const sink = decodeRecords(records);
    expect(sink.problems).toEqual([]);
    const bars = records.filter((record) => record.trades !== 1);
    expect(sink.bars).toHaveLength(bars.length);
    expect(sink.ticks).toHaveLength(records.length - bars.length);
    expect(sink.bars.length).toBeGreaterThan(20);
    expect(sink.ticks.filter((tick) => tick.last === undefined).length).toBeGreaterThan(10);
  });
});

describe('scid: open() picks the start for the history needed', () => {
  const COUNT = 50_000;
  const records = syntheticScidRecords(9, COUNT);
  const file = scidFile(records);
  const times = records.map((record) => record.time);
  const newest = times[COUNT - 1]!;

  /** Index of the first record within historyMs of the newest (linear reference). */
  const firstWithin = (historyMs: number): number => times.findIndex((time) => time >= newest - historyMs);

  it('binary-searches the first record within historyMs of the newest, reading little', async () => {
    expect(file.length).toBeGreaterThan(1_900_000);
    const historyMs = 15 * 60_000;
    const disk = bufferFile(file);
    const start = await scidDecoder().open(disk, { historyMs, maxBackfillBytes: 64 << 20 });
    const index = firstWithin(historyMs);
    expect(index).toBeGreaterThan(COUNT / 2);
    expect(start).toEqual({ offset: 56 + index * 40, fingerprintBytes: 96 });
    expect(disk.stats.reads).toBeLessThan(25);
    expect(disk.stats.bytes).toBeLessThan(1000);
    // The record before the start is older than needed, the one at the start is not.
    expect(times[index - 1]!).toBeLessThan(newest - historyMs);
    expect(times[index]!).toBeGreaterThanOrEqual(newest - historyMs);
  });

  it('matches a linear scan for any history (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: Math.ceil(newest - times[0]!) + 10_000 }), async (historyMs) => {
        const start = await scidDecoder().open(bufferFile(file), { historyMs, maxBackfillBytes: 64 << 20 });
        expect(start?.offset).toBe(56 + firstWithin(historyMs) * 40);
      }),
      { numRuns: 60 },
    );
  });

  it('keeps a record exactly historyMs older than the newest (inclusive cutoff)', async () => {
    // One record a second, with same-second pairs, so that cutoffs fall exactly on records.
    const seconds = Array.from({ length: 3000 }, (_, i) => SCID_T0 + Math.floor(i / 2) * 1000);
    const exact = scidFile(seconds.map((time) => ({ time, open: 0, high: 2, low: 1, close: 1, trades: 1, volume: 1, bidVolume: 1, askVolume: 0 })));
    const last = seconds[seconds.length - 1]!;
    for (const back of [0, 1, 2, 17, 500, 1499]) {
      const start = await scidDecoder().open(bufferFile(exact), { historyMs: back * 1000, maxBackfillBytes: 64 << 20 });
      // The first of the two records of that second.
      expect(start?.offset, `${back} s`).toBe(56 + seconds.indexOf(last - back * 1000) * 40);
    }
  });

  it('respects maxBackfillBytes', async () => {
    // The whole history is wanted, but only the last 1000 records (40,000 bytes) may be read.
    const start = await scidDecoder().open(bufferFile(file), { historyMs: Number.MAX_SAFE_INTEGER, maxBackfillBytes: 40_000 });
    expect(start?.offset).toBe(56 + (COUNT - 1000) * 40);
    // A cap that is not a whole number of records rounds down to whole records.
    const odd = await scidDecoder().open(bufferFile(file), { historyMs: Number.MAX_SAFE_INTEGER, maxBackfillBytes: 40_039 });
    expect(odd?.offset).toBe(56 + (COUNT - 1000) * 40);
    // When history needs less than the cap, history decides.
    const historyMs = 60_000;
    const small = await scidDecoder().open(bufferFile(file), { historyMs, maxBackfillBytes: 40_000 });
    expect(small?.offset).toBe(56 + Math.max(COUNT - 1000, firstWithin(historyMs)) * 40);
    expect(small!.offset).toBeGreaterThan(56 + (COUNT - 1000) * 40);
    // A zero cap starts at the end of the whole records.
    const none = await scidDecoder().open(bufferFile(file), { historyMs: Number.MAX_SAFE_INTEGER, maxBackfillBytes: 0 });
    expect(none?.offset).toBe(file.length);
  });

  it('is not misled by records that do not decode: the start is as if they were not there (found by the soak)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 2_000 * 1000 }),
        async (broken, historyMs) => {
          const small = scidFile(records.slice(0, 2_001));
          // No DateTime, or a price that is not a number under a DateTime of any value.
          for (const index of broken) {
            if (index % 2 === 0) zeroScidTime(small, index);
            else {
              small.writeBigInt64LE(BigInt(index) * 7_777_777_777n * (index % 3 === 0 ? -1n : 1n), 56 + index * 40);
              setScidFloat(small, index, 16, Number.NaN);
            }
          }
          const valid = records.slice(0, 2_001).map((record, index) => (broken.includes(index) ? Number.NaN : record.time));
          const last = valid.findLast((time) => !Number.isNaN(time)) as number;
          // The first valid record within history, or a record of the garbage just before it.
          const firstValid = valid.findIndex((time) => time >= last - historyMs);
          let earliest = firstValid;
          while (earliest > 0 && Number.isNaN(valid[earliest - 1])) earliest--;
          const start = await scidDecoder().open(bufferFile(small), { historyMs, maxBackfillBytes: 64 << 20 });
          const index = (start!.offset - 56) / 40;
          expect(index).toBeGreaterThanOrEqual(earliest);
          expect(index).toBeLessThanOrEqual(firstValid);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('ignores a partial last record when choosing the start', async () => {
    const partial = Buffer.concat([file, encodeScidRecords(syntheticScidRecords(10, 1, newest + 60_000)).subarray(0, 23)]);
    const historyMs = 10 * 60_000;
    const start = await scidDecoder().open(bufferFile(partial), { historyMs, maxBackfillBytes: 64 << 20 });
    expect(start?.offset).toBe(56 + firstWithin(historyMs) * 40);
  });
});

describe('scid: format description', () => {
  it('matches .scid names and takes the symbol from the name', () => {
    expect(scidFormat.mode).toBe('tail');
    expect(scidFormat.matchesName('ESM23_FUT_CME.scid')).toBe(true);
    expect(scidFormat.matchesName('NQH26-CME.SCID')).toBe(true);
    expect(scidFormat.matchesName('ESM23.depth')).toBe(false);
    expect(scidFormat.matchesName('scid.csv')).toBe(false);
    expect(scidFormat.symbolFor('/data/ESM23_FUT_CME.scid')).toBe('ESM23_FUT_CME');
    expect(scidFormat.symbolFor('NQH26-CME.scid')).toBe('NQH26-CME');
  });
});

describe('scid: the forming bar record, rewritten in place', () => {
  const bar = (i: number, close: number, volume: number): ScidRecord => ({
    time: SCID_T0 + i * 10_000,
    open: 6000,
    high: Math.max(6000, close),
    low: Math.min(6000, close),
    close,
    trades: volume,
    volume,
    bidVolume: 0,
    askVolume: volume,
  });

  it('asks for the last record again while it is a bar, and decodes it again only when its bytes changed', () => {
    const decoder = scidDecoder('ES');
    const chunked = new ChunkedDecoder(decoder, SCID_HEADER_SIZE);
    const sink = new RecordingSink();
    const first = scidFile([bar(0, 6001, 5), bar(1, 6002, 3)]);
    chunked.feed(first.subarray(SCID_HEADER_SIZE), sink);
    expect(decoder.revisit).toBe(SCID_RECORD_SIZE);
    expect(chunked.position).toBe(first.length - SCID_RECORD_SIZE);
    expect(sink.bars.map((b) => b.c)).toEqual([6001, 6002]);

    // Read again unchanged: nothing new.
    chunked.feed(first.subarray(chunked.position), sink);
    expect(sink.events).toHaveLength(2);

    // Sierra rewrote the forming bar (more volume, new close), then appended the next bar.
    const later = scidFile([bar(0, 6001, 5), bar(1, 6003, 7), bar(2, 6004, 1)]);
    chunked.feed(later.subarray(chunked.position), sink);
    expect(sink.events.slice(2)).toEqual([
      { kind: 'bar', symbol: 'ES', bar: expect.objectContaining({ c: 6003, v: 7 }), timeframe: null, replacesLast: true },
      { kind: 'bar', symbol: 'ES', bar: expect.objectContaining({ c: 6004, v: 1 }), timeframe: null },
    ]);
    expect(chunked.position).toBe(later.length - SCID_RECORD_SIZE);
  });

  it('does not revisit tick records (they are never rewritten)', () => {
    const decoder = scidDecoder('ES');
    const chunked = new ChunkedDecoder(decoder, SCID_HEADER_SIZE);
    const ticks = scidFile([{ ...bar(0, 6001, 1), open: 0, trades: 1 }]);
    chunked.feed(ticks.subarray(SCID_HEADER_SIZE), new RecordingSink());
    expect(decoder.revisit).toBe(0);
    expect(chunked.position).toBe(ticks.length);
  });
});
