import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkedDecoder } from '../../src/formats/chunked-decoder.js';
import type { TailDecoder } from '../../src/formats/types.js';
import type { Mt5Encoding } from '../../src/sim/mt5-writer.js';
import { scidTickRecord } from '../../src/sim/scid-writer.js';
import {
  ALL_HISTORY,
  bufferFile,
  feedInRuns,
  HAS_SAMPLE_SCID,
  marketTicks,
  mt5Decoder,
  mt5File,
  mt5Rows,
  readSampleScid,
  SAMPLE_SKIP_NOTE,
  scidDecoder,
  scidFile,
  setScidFloat,
  syntheticScidRecords,
  zeroScidTime,
} from './fixtures.js';
import { RecordingSink, type RecordedEvent } from './recording-sink.js';

/**
 * The key property of a tail decoder: the records it reports do not depend on how the
 * writer's bytes were split into runs (FORMATS.md §1.6: partial records and lines).
 */

interface Subject {
  buf: Buffer;
  start: number;
  decoder: () => TailDecoder;
}

/** Opens a fresh decoder (MT5 learns its columns and encoding in open()) and returns it. */
async function opened(subject: Subject): Promise<TailDecoder> {
  const decoder = subject.decoder();
  const start = await decoder.open(bufferFile(subject.buf), ALL_HISTORY);
  expect(start?.offset).toBe(subject.start);
  return decoder;
}

/** The events of the whole data fed in one run. */
async function reference(subject: Subject): Promise<RecordedEvent[]> {
  return feedInRuns(await opened(subject), subject.buf, subject.start, []).events;
}

/** Every split of the data into two runs gives the same events as one run. */
async function everyTwoWaySplit(subject: Subject, whole: RecordedEvent[]): Promise<void> {
  for (let at = subject.start; at <= subject.buf.length; at++) {
    const sink = feedInRuns(await opened(subject), subject.buf, subject.start, [at]);
    if (sink.events.length !== whole.length || JSON.stringify(sink.events) !== JSON.stringify(whole)) {
      // Let the matcher print the difference.
      expect(sink.events, `split at byte ${at}`).toStrictEqual(whole);
    }
  }
}

/** Random sets of split points (fresh decoder per case) give the same events as one run. */
async function randomSplits(subject: Subject, whole: RecordedEvent[], numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: subject.start, max: subject.buf.length }), { maxLength: 40 }), async (splits) => {
      const sink = feedInRuns(await opened(subject), subject.buf, subject.start, splits);
      expect(sink.events).toStrictEqual(whole);
    }),
    { numRuns },
  );
}

describe(`chunking: the real test.scid${SAMPLE_SKIP_NOTE}`, () => {
  it.skipIf(!HAS_SAMPLE_SCID)('gives the same records for a split at every byte boundary', async () => {
    const subject: Subject = { buf: readSampleScid(), start: 56, decoder: () => scidDecoder('ESM23') };
    const whole = await reference(subject);
    expect(whole).toHaveLength(10);
    await everyTwoWaySplit(subject, whole);
  });

  it.skipIf(!HAS_SAMPLE_SCID)('gives the same records fed one byte at a time', async () => {
    const buf = readSampleScid();
    const subject: Subject = { buf, start: 56, decoder: () => scidDecoder('ESM23') };
    const whole = await reference(subject);
    const everyByte = Array.from({ length: buf.length }, (_, i) => i);
    expect(feedInRuns(await opened(subject), buf, 56, everyByte).events).toStrictEqual(whole);
  });
});

describe('chunking: ChunkedDecoder bookkeeping', () => {
  // Tick records: a bar record as the last one read is revisited (see the .scid tests).
  const ticks = (count: number): Buffer => scidFile(marketTicks(4, count).map(scidTickRecord));

  it('keeps a partial record, advances position and reports file offsets', () => {
    const buf = ticks(3);
    zeroScidTime(buf, 2);
    const chunked = new ChunkedDecoder(scidDecoder(), 56);
    const sink = new RecordingSink();
    chunked.feed(buf.subarray(56, 56 + 57), sink);
    expect(chunked.position).toBe(56 + 57);
    expect(chunked.pendingBytes).toBe(17);
    expect(sink.events).toHaveLength(1);
    chunked.feed(buf.subarray(56 + 57, 56 + 57), sink);
    expect(chunked.pendingBytes).toBe(17);
    chunked.feed(buf.subarray(56 + 57, 56 + 110), sink);
    expect(chunked.pendingBytes).toBe(30);
    expect(sink.events).toHaveLength(2);
    chunked.feed(buf.subarray(56 + 110), sink);
    expect(chunked.pendingBytes).toBe(0);
    expect(chunked.position).toBe(buf.length);
    // The problem in the third record is reported at its place in the file.
    expect(sink.problems.map((problem) => problem.offset)).toEqual([56 + 80]);
  });

  it('does not keep the caller buffer alive through the carry', () => {
    const buf = ticks(2);
    const chunked = new ChunkedDecoder(scidDecoder(), 56);
    const run = Buffer.from(buf.subarray(56, 56 + 50));
    chunked.feed(run, new RecordingSink());
    run.fill(0);
    const sink = new RecordingSink();
    chunked.feed(buf.subarray(56 + 50), sink);
    expect(sink.events).toHaveLength(1);
    expect(sink.problems).toEqual([]);
  });
});

describe('chunking: synthetic .scid files (ticks, trades, sub-trades, bars, bad records)', () => {
  const records = syntheticScidRecords(42, 300);
  const buf = scidFile(records);
  zeroScidTime(buf, 17);
  setScidFloat(buf, 123, 20, Number.NaN);
  const subject: Subject = { buf, start: 56, decoder: () => scidDecoder('ESZ25') };

  it('is a realistic mix', async () => {
    const whole = await reference(subject);
    const kinds = new Map<string, number>();
    for (const event of whole) kinds.set(event.kind, (kinds.get(event.kind) ?? 0) + 1);
    expect(kinds.get('bar')).toBeGreaterThan(30);
    expect(kinds.get('tick')).toBeGreaterThan(150);
    expect(kinds.get('problem')).toBe(2);
    expect(whole.filter((event) => event.kind === 'tick' && event.tick.last === undefined).length).toBeGreaterThan(20);
    expect(whole).toHaveLength(300);
  });

  it('gives the same records for a split at every byte boundary (first 40 records)', async () => {
    const head: Subject = { ...subject, buf: buf.subarray(0, 56 + 40 * 40) };
    const whole = await reference(head);
    expect(whole).toHaveLength(40);
    expect(whole.some((event) => event.kind === 'bar')).toBe(true);
    expect(whole.some((event) => event.kind === 'problem')).toBe(true);
    await everyTwoWaySplit(head, whole);
  });

  it('gives the same records for random sets of split points (property)', async () => {
    await randomSplits(subject, await reference(subject), 150);
  });

  it('gives the same records for legacy DateTime files too (property)', async () => {
    const legacy: Subject = { buf: scidFile(syntheticScidRecords(43, 200), true), start: 56, decoder: () => scidDecoder() };
    const whole = await reference(legacy);
    expect(whole).toHaveLength(200);
    await randomSplits(legacy, whole, 60);
  });

  it('gives the same records for a trailing partial record', async () => {
    const partial = buf.subarray(0, buf.length - 13);
    const cut: Subject = { buf: partial, start: 56, decoder: () => scidDecoder('ESZ25') };
    const whole = await reference(cut);
    expect(whole).toHaveLength(299);
    await randomSplits(cut, whole, 40);
  });
});

describe.each<Mt5Encoding>(['utf8', 'utf16le'])('chunking: synthetic MT5 tick exports (%s)', (encoding) => {
  /** Rows as the terminal writes them, plus the odd things a reader meets in practice. */
  function rowsWithOddities(count: number, seed: number): string[] {
    const rows = mt5Rows(marketTicks(seed, count, { stepMs: 400, tradeShare: 0.35 }));
    rows.splice(7, 0, 'not a tick at all');
    rows.splice(12, 0, '');
    rows.splice(20, 0, '2025.01.02\t00:00:09.000\t1.0x\t\t\t\t2');
    rows.splice(25, 0, '2025.01.02\t00:00:09.500\t\t\t\t\t6 ; note: café €');
    return rows;
  }

  function subject(rows: string[], lineEnd = '\r\n'): Subject {
    const buf = mt5File(rows, encoding, lineEnd);
    const unit = encoding === 'utf16le' ? 2 : 1;
    const start = (encoding === 'utf16le' ? 2 : 0) + ('<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>'.length + lineEnd.length) * unit;
    return { buf, start, decoder: () => mt5Decoder('EURUSD') };
  }

  it('gives the same records for a split at every byte boundary (CRLF)', async () => {
    const small = subject(rowsWithOddities(30, 5));
    const whole = await reference(small);
    expect(whole.filter((event) => event.kind === 'tick')).toHaveLength(31);
    expect(whole.filter((event) => event.kind === 'problem')).toHaveLength(2);
    await everyTwoWaySplit(small, whole);
  });

  it('gives the same records for a split at every byte boundary (LF)', async () => {
    const small = subject(rowsWithOddities(20, 6), '\n');
    const whole = await reference(small);
    expect(whole.filter((event) => event.kind === 'tick')).toHaveLength(21);
    await everyTwoWaySplit(small, whole);
  });

  it('gives the same records for random sets of split points (property)', async () => {
    const large = subject(rowsWithOddities(400, 8));
    const whole = await reference(large);
    expect(whole.filter((event) => event.kind === 'tick' && event.tick.last !== undefined).length).toBeGreaterThan(80);
    await randomSplits(large, whole, 150);
  });

  it('gives the same records with a partial last line left unread', async () => {
    const full = subject(rowsWithOddities(100, 9));
    const cut: Subject = { ...full, buf: full.buf.subarray(0, full.buf.length - 9) };
    const whole = await reference(cut);
    expect(whole.filter((event) => event.kind === 'tick')).toHaveLength((await reference(full)).filter((event) => event.kind === 'tick').length - 1);
    await randomSplits(cut, whole, 40);
  });
});
