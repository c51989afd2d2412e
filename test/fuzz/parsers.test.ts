import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkedDecoder } from '../../src/formats/chunked-decoder.js';
import { FormatRegistry, FORMATS } from '../../src/formats/registry.js';
import type { DecoderCarry } from '../../src/formats/carry.js';
import { DEFAULT_FORMAT_OPTIONS, FormatError, type FileFormat, type FormatOptions } from '../../src/formats/types.js';
import { depthHeader, encodeDepthRecords, endBatch, snapshotBatch } from '../../src/sim/depth-writer.js';
import { EaFileWriter } from '../../src/sim/ea-writer.js';
import { mt5BarHeader, mt5BarRow } from '../../src/sim/mt5-writer.js';
import { sierraTextFile, type SierraBar } from '../../src/sim/sierra-text-writer.js';
import { DepthCommand } from '../../src/formats/depth.js';
import { ALL_HISTORY, bufferFile, marketTicks, mt5File, mt5Rows, scidFile, syntheticScidRecords } from '../formats/fixtures.js';
import { RecordingSink, type RecordedEvent } from '../formats/recording-sink.js';

/**
 * Every parser, fed random bytes and mutated valid files (bits flipped, cut short, ranges
 * repeated or deleted, garbage bytes and lines inserted): it never throws (a tail decoder's
 * open() may reject the file with a FormatError, the classified error); what it reports is
 * well-formed records or problems with an offset inside the file; and for tail formats the
 * records do not depend on how the bytes were split into reads.
 */

interface Subject {
  name: string;
  format: FileFormat;
  fileName: string;
  bytes: Buffer;
  options?: Partial<FormatOptions>;
}

const format = (name: string): FileFormat => FORMATS.find((candidate) => candidate.name === name) as FileFormat;
const T0 = Date.UTC(2026, 10, 20, 14);

function bars(count: number, periodMs: number): SierraBar[] {
  return Array.from({ length: count }, (_, i) => {
    const o = 6000 + (i % 7) * 0.25;
    return { t: T0 + i * periodMs, o, h: o + 1, l: o - 0.5, c: o + 0.25, v: 10 + i, n: 3 + i, bv: 4, av: 6 + i, openInterest: 100 };
  });
}

function eaFile(encoding: 'utf16le' | 'windows-1252' | 'utf8', delimiter: string): Buffer {
  const writer = new EaFileWriter('unused', { encoding, delimiter, header: ['Time', 'Bid', 'Ask', 'Volume', 'Händler'] });
  return writer.content(
    marketTicks(5, 12).map((tick, i) => [`2026.11.20 14:00:${String(i).padStart(2, '0')}`, tick.bid, tick.ask, 1, i % 2 ? 'Müller' : 'José']),
  );
}

const SUBJECTS: Subject[] = [
  { name: 'sierra-scid', format: format('sierra-scid'), fileName: 'ESZ25.scid', bytes: scidFile(syntheticScidRecords(3, 30)) },
  {
    name: 'sierra-depth',
    format: format('sierra-depth'),
    fileName: 'ESZ25.2026-11-20.depth',
    bytes: Buffer.concat([
      depthHeader(),
      encodeDepthRecords([
        ...snapshotBatch(T0, {
          bids: [
            [6000, 5, 1],
            [5999.75, 8, 2],
          ],
          asks: [[6000.25, 4, 1]],
        }),
        ...endBatch([
          { time: T0 + 1, command: DepthCommand.MODIFY_BID, price: 6000, quantity: 9, orders: 3 },
          { time: T0 + 1, command: DepthCommand.DELETE_ASK, price: 6000.25 },
        ]),
      ]),
    ]),
  },
  { name: 'mt5-ticks utf8', format: format('mt5-ticks'), fileName: 'EURUSD_202611200000_202611202359.csv', bytes: mt5File(mt5Rows(marketTicks(1, 15))) },
  {
    name: 'mt5-ticks utf16le',
    format: format('mt5-ticks'),
    fileName: 'GBPUSD_202611200000_202611202359.csv',
    bytes: mt5File(mt5Rows(marketTicks(2, 15)), 'utf16le'),
  },
  {
    name: 'mt5-bars',
    format: format('mt5-bars'),
    fileName: 'EURUSD_M5_202611200000_202611202359.csv',
    bytes: Buffer.from(
      [mt5BarHeader(), ...bars(8, 300_000).map((bar) => mt5BarRow({ ...bar, tickVolume: bar.n, volume: 0, spread: 7 }, 5))].map((row) => `${row}\r\n`).join(''),
    ),
  },
  { name: 'sierra-text export', format: format('sierra-text'), fileName: 'ESZ25-BarData.txt', bytes: Buffer.from(sierraTextFile(bars(8, 60_000), 'export')) },
  {
    name: 'sierra-text study2025',
    format: format('sierra-text'),
    fileName: 'ESZ25-BarStudyData.csv',
    bytes: Buffer.from(
      sierraTextFile(
        bars(8, 300_000).map((bar) => ({ ...bar, studies: [1, 2, 3] })),
        'study2025',
        { studyNames: ['Top', 'Bottom', 'Top'] },
      ),
    ),
  },
  { name: 'sierra-text dly', format: format('sierra-text'), fileName: 'ESZ25.dly', bytes: Buffer.from(sierraTextFile(bars(8, 86_400_000), 'dly')) },
  { name: 'csv utf16le', format: format('csv'), fileName: 'XAUUSDc_TickData.csv', bytes: eaFile('utf16le', ';') },
  { name: 'csv windows-1252', format: format('csv'), fileName: 'XAGUSD_TickData.csv', bytes: eaFile('windows-1252', '\t') },
  {
    name: 'csv utf8 mapped',
    format: format('csv'),
    fileName: 'ACME.csv',
    bytes: Buffer.from('ts,price,qty,exchange\r\n1795185000,101.25,300,NYSE\r\n1795185001,101.5,100,NYSE\r\n'),
    options: { columns: { time: 'ts', last: 'price', volume: 'qty' } },
  },
  {
    name: 'json flat',
    format: format('json'),
    fileName: 'XAUUSD.json',
    bytes: Buffer.from('{"bid": 2650.1, "ask": 2650.4, "time": "2026-11-20T14:00:00Z", "spread": 30}\r\n'),
  },
  {
    name: 'json document',
    format: format('json'),
    fileName: 'XAUUSD.json',
    bytes: Buffer.from(
      JSON.stringify({
        quote: { bid: 1, ask: 2, time: T0 },
        bars: { M1: bars(3, 60_000).map(({ t, o, h, l, c, v }) => ({ t, o, h, l, c, v })) },
        book: { bids: [[1, 2, 3]], asks: [[2, 1]], time: T0 },
        fields: { a: 'b' },
      }),
    ),
  },
  {
    name: 'json map',
    format: format('json'),
    fileName: 'DWX_Market_Data.txt',
    bytes: Buffer.from(
      '{"EURUSD": {"bid": 1.08123, "ask": 1.08125, "last": 0.00000}, "EURUSD_M1": {"time": "2026.11.20 14:00", "open": 1.1, "high": 1.2, "low": 1.0, "close": 1.15, "tick_volume": 12}}',
    ),
  },
  {
    name: 'ndjson',
    format: format('ndjson'),
    fileName: 'feed.ndjson',
    bytes: Buffer.from(
      [
        '{"symbol":"BTCUSD","bid":91250.5,"ask":91251,"time":"2026-11-20T14:30:00.250Z","venue":"X"}',
        '{"symbol":"BTCUSD","last":91251,"volume":0.25,"time":1795185000480}',
        '{"bid":1,"time":"2026.11.20 14:30:01"}',
      ]
        .map((line) => `${line}\n`)
        .join(''),
    ),
  },
];

/**
 * A sink whose delivery of record number `poisoned` (counted by RecordSink.at) throws, as a bug
 * or a stack overflow would: it keeps how many deliveries every other record made.
 */
class PoisonedSink extends RecordingSink {
  readonly counts = new Map<number, number>();
  #record = -1;

  constructor(readonly poisoned: number | null) {
    super();
  }

  at(): void {
    this.#record++;
  }

  override tick(...args: Parameters<RecordingSink['tick']>): void {
    this.#deliver();
    super.tick(...args);
  }

  override bar(...args: Parameters<RecordingSink['bar']>): void {
    this.#deliver();
    super.bar(...args);
  }

  override book(...args: Parameters<RecordingSink['book']>): void {
    this.#deliver();
    super.book(...args);
  }

  override fields(...args: Parameters<RecordingSink['fields']>): void {
    this.#deliver();
    super.fields(...args);
  }

  override document(...args: Parameters<RecordingSink['document']>): void {
    this.#deliver();
    super.document(...args);
  }

  #deliver(): void {
    if (this.#record === this.poisoned) throw new RangeError('Maximum call stack size exceeded');
    this.counts.set(this.#record, (this.counts.get(this.#record) ?? 0) + 1);
  }
}

/** Deliveries per record of `bytes` read whole, the `poisoned` record's throwing. */
async function deliveries(subject: Subject, bytes: Buffer, poisoned: number | null): Promise<Map<number, number> & { problems: string[] }> {
  const options = { ...DEFAULT_FORMAT_OPTIONS, ...subject.options };
  const context = { fileName: subject.fileName, symbol: subject.format.symbolFor(subject.fileName), options };
  const sink = new PoisonedSink(poisoned);
  if (subject.format.mode === 'whole') {
    expect(subject.format.createDecoder(context).decode(bytes, sink, { mtimeMs: T0 }).ok).toBe(true);
  } else {
    const decoder = subject.format.createDecoder(context);
    const start = await decoder.open(bufferFile(bytes), ALL_HISTORY);
    if (start) new ChunkedDecoder(decoder, start.offset).feed(bytes.subarray(start.offset), sink);
  }
  const problems = sink.events.flatMap((event) => (event.kind === 'problem' ? [event.reason] : []));
  return Object.assign(sink.counts, { problems });
}

type Outcome = { kind: 'events'; events: RecordedEvent[] } | { kind: 'rejected' } | { kind: 'not-ready' };

/** Parses `bytes` as `subject`'s format, cut into reads at `splits`; checks what comes out. */
async function parse(subject: Subject, bytes: Buffer, splits: readonly number[]): Promise<Outcome> {
  const options = { ...DEFAULT_FORMAT_OPTIONS, ...subject.options };
  const context = { fileName: subject.fileName, symbol: subject.format.symbolFor(subject.fileName), options };
  // Detection looks at the same bytes first.
  new FormatRegistry('auto', options).detect(subject.fileName, bytes.subarray(0, 4096));
  if (subject.format.mode === 'whole') {
    const sink = new RecordingSink();
    const result = subject.format.createDecoder(context).decode(bytes, sink, { mtimeMs: T0 });
    if (!result.ok) {
      expect(sink.events).toEqual([]);
      expect(result.incomplete).toMatch(/./);
      return { kind: 'not-ready' };
    }
    checkEvents(sink.events, bytes.length);
    return { kind: 'events', events: sink.events };
  }
  const decoder = subject.format.createDecoder(context);
  let start;
  try {
    start = await decoder.open(bufferFile(bytes), ALL_HISTORY);
  } catch (error) {
    if (!(error instanceof FormatError)) throw error;
    expect(error.offset).toBeGreaterThanOrEqual(0);
    expect(error.offset).toBeLessThanOrEqual(bytes.length);
    return { kind: 'rejected' };
  }
  if (!start) return { kind: 'not-ready' };
  expect(start.offset).toBeGreaterThanOrEqual(0);
  expect(start.offset).toBeLessThanOrEqual(bytes.length);
  // As FileTail reads: each run from where the decoder wants the next bytes (it may go back
  // over a record its writer can still rewrite), up to the next split.
  const sink = new RecordingSink();
  const chunked = new ChunkedDecoder(decoder, start.offset);
  for (const at of [...new Set(splits)].sort((a, b) => a - b).concat(bytes.length)) {
    if (at > chunked.position) chunked.feed(bytes.subarray(chunked.position, at), sink);
  }
  expect(chunked.position).toBeLessThanOrEqual(bytes.length);
  checkEvents(sink.events, bytes.length);
  return { kind: 'events', events: sink.events };
}

/**
 * As parse(), but at the read that ends at `at` the decoder is saved as a checkpoint saves it
 * (its carry through JSON, the position and the bytes pending), and a new decoder, opened on
 * the same file for its layout only, goes on from there.
 */
async function parseAcrossCheckpoint(subject: Subject, bytes: Buffer, splits: readonly number[], at: number): Promise<Outcome> {
  const options = { ...DEFAULT_FORMAT_OPTIONS, ...subject.options };
  const context = { fileName: subject.fileName, symbol: subject.format.symbolFor(subject.fileName), options };
  if (subject.format.mode === 'whole') return { kind: 'not-ready' };
  const tail = subject.format;
  const decoder = tail.createDecoder(context);
  let start;
  try {
    start = await decoder.open(bufferFile(bytes), ALL_HISTORY);
  } catch (error) {
    if (!(error instanceof FormatError)) throw error;
    return { kind: 'rejected' };
  }
  if (!start) return { kind: 'not-ready' };
  const sink = new RecordingSink();
  let chunked = new ChunkedDecoder(decoder, start.offset);
  let saved = false;
  for (const cut of [...new Set([...splits, at])].sort((a, b) => a - b).concat(bytes.length)) {
    if (cut > chunked.position) chunked.feed(bytes.subarray(chunked.position, cut), sink);
    if (!saved && cut >= at) {
      saved = true;
      const carry = JSON.parse(JSON.stringify(chunked.decoder.checkpoint())) as DecoderCarry;
      const pending = chunked.pending && Buffer.from(chunked.pending.toString('base64'), 'base64');
      const resumed = tail.createDecoder(context);
      expect(await resumed.open(bufferFile(bytes), { ...ALL_HISTORY, historyMs: 0 })).not.toBeNull();
      resumed.resume(carry);
      chunked = new ChunkedDecoder(resumed, chunked.position, pending);
    }
  }
  return { kind: 'events', events: sink.events };
}

const finite = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value);
const optionalFinite = (value: unknown): boolean => value === undefined || finite(value);

/** Records a sink can take as they are: finite numbers, named symbols, problems placed in the file. */
function checkEvents(events: readonly RecordedEvent[], length: number): void {
  for (const event of events) {
    if (event.kind === 'problem') {
      expect(Number.isInteger(event.offset) && event.offset >= 0 && event.offset <= length, `problem offset ${event.offset} of ${length}`).toBe(true);
      expect(event.reason).toMatch(/./);
      continue;
    }
    expect(typeof event.symbol === 'string' && event.symbol.length > 0, `symbol ${JSON.stringify(event.symbol)}`).toBe(true);
    switch (event.kind) {
      case 'tick': {
        const { time, bid, ask, last, size } = event.tick;
        expect(finite(time) && [bid, ask, last, size].every(optionalFinite), JSON.stringify(event.tick)).toBe(true);
        break;
      }
      case 'bar':
        expect([event.bar.t, event.bar.o, event.bar.h, event.bar.l, event.bar.c, event.bar.v].every(finite), JSON.stringify(event.bar)).toBe(true);
        break;
      case 'book':
        expect(
          [...event.book.bids, ...event.book.asks].every((level) => level.every(finite)),
          JSON.stringify(event.book),
        ).toBe(true);
        break;
      case 'document':
        expect(finite(event.sourceTime)).toBe(true);
        expect(() => JSON.stringify(event.partial)).not.toThrow();
        break;
      case 'fields':
        expect(() => JSON.stringify(event.fields)).not.toThrow();
        break;
    }
  }
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'repeat'; from: number; length: number; to: number }
  | { kind: 'delete'; from: number; length: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'line'; at: number; text: string }
  | { kind: 'poison'; at: number; text: string };

/** Lines that have thrown out of decoders or broken what follows them: deep nesting, huge numbers, odd Unicode. */
const POISON_LINES = [
  `{"symbol":"X","bid":1,"time":1795185000000,"x":${'['.repeat(30_000)}${']'.repeat(30_000)}}`,
  `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
  `{"symbol":"X","bid":1e400,"time":1795185000000}`,
  `{"symbol":"X","bid":${'9'.repeat(400)},"time":${'9'.repeat(30)}}`,
  `2026.11.20\t14:00:00\t${'9'.repeat(400)}\t1e999\t\t\t6`,
  `{"symbol":"\u202EX\ud800","bid":1,"time":1795185000000,"\u0000":"\ufeff"}`,
  '\u202E\u200B\ufeff\ud800,\u0000;\t\u2028',
];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('repeat' as const), from: fc.nat(), length: fc.integer({ min: 1, max: 80 }), to: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), from: fc.nat(), length: fc.integer({ min: 1, max: 80 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({ kind: fc.constant('line' as const), at: fc.nat(), text: fc.string({ maxLength: 60 }) }),
  fc.record({ kind: fc.constant('poison' as const), at: fc.nat(), text: fc.constantFrom(...POISON_LINES) }),
);

function mutate(original: Buffer, mutations: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(original);
  for (const m of mutations) {
    const n = Math.max(1, bytes.length);
    switch (m.kind) {
      case 'flip':
        if (bytes.length > 0) bytes[m.at % n]! ^= 1 << m.bit;
        break;
      case 'truncate':
        bytes = bytes.subarray(0, m.at % (bytes.length + 1));
        break;
      case 'repeat': {
        const from = m.from % n;
        const slice = bytes.subarray(from, from + m.length);
        const to = m.to % (bytes.length + 1);
        bytes = Buffer.concat([bytes.subarray(0, to), slice, bytes.subarray(to)]);
        break;
      }
      case 'delete': {
        const from = m.from % n;
        bytes = Buffer.concat([bytes.subarray(0, from), bytes.subarray(from + m.length)]);
        break;
      }
      case 'insert': {
        const at = m.at % (bytes.length + 1);
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(m.bytes), bytes.subarray(at)]);
        break;
      }
      case 'line':
      case 'poison': {
        // At a line start when there is one near, as a writer's stray line would be.
        const at = bytes.indexOf(0x0a, m.at % n);
        const cut = at < 0 ? bytes.length : at + 1;
        bytes = Buffer.concat([bytes.subarray(0, cut), Buffer.from(`${m.text}\r\n`), bytes.subarray(cut)]);
        break;
      }
    }
  }
  return bytes;
}

const splitsOf = (length: number): fc.Arbitrary<number[]> => fc.array(fc.integer({ min: 0, max: Math.max(0, length) }), { maxLength: 12 });

describe('fuzzing every parser', () => {
  it('covers every format of the registry', () => {
    expect(new Set(SUBJECTS.map((subject) => subject.format.name))).toEqual(new Set(FORMATS.map((candidate) => candidate.name)));
  });

  for (const subject of SUBJECTS) {
    describe(subject.name, () => {
      it('reads the valid file it is mutated from', async () => {
        const outcome = await parse(subject, subject.bytes, []);
        expect(outcome.kind).toBe('events');
        const events = outcome.kind === 'events' ? outcome.events : [];
        expect(events.filter((event) => event.kind !== 'problem').length).toBeGreaterThan(0);
        expect(events.filter((event) => event.kind === 'problem')).toEqual([]);
      });

      it('random bytes: never throws; records or classified problems only', async () => {
        await fc.assert(
          fc.asyncProperty(fc.uint8Array({ maxLength: 1500 }), fc.array(fc.nat(), { maxLength: 8 }), async (bytes, splits) => {
            await parse(subject, Buffer.from(bytes), splits);
          }),
          { numRuns: 60 },
        );
      });

      it('a file cut while it is opened (shorter than its size said): never throws', async () => {
        const tail = subject.format;
        if (tail.mode === 'whole') return;
        await fc.assert(
          fc.asyncProperty(fc.nat(subject.bytes.length), async (cut) => {
            const bytes = subject.bytes.subarray(0, cut);
            const file = { size: subject.bytes.length, read: (offset: number, length: number) => Promise.resolve(bytes.subarray(offset, offset + length)) };
            const decoder = tail.createDecoder({ fileName: subject.fileName, symbol: 'S', options: { ...DEFAULT_FORMAT_OPTIONS, ...subject.options } });
            try {
              await decoder.open(file, ALL_HISTORY);
            } catch (error) {
              if (!(error instanceof FormatError)) throw error;
            }
          }),
          { numRuns: 40 },
        );
      });

      it('an exception on one record never loses the other records', async () => {
        const clean = await deliveries(subject, subject.bytes, null);
        const records = [...clean.keys()];
        expect(records.length).toBeGreaterThan(0);
        // A JSON file of one symbol is one record: what it throws is the file's (FileTail keeps its last good state).
        if (records.length < 2) return;
        await fc.assert(
          fc.asyncProperty(fc.constantFrom(...records), async (poisoned) => {
            const got = await deliveries(subject, subject.bytes, poisoned);
            for (const [record, count] of clean) if (record !== poisoned) expect(got.get(record), `record ${record}`).toBe(count);
            expect(got.has(poisoned)).toBe(false);
            expect(got.problems.some((reason) => reason.includes('could not be decoded (RangeError'))).toBe(true);
          }),
          { numRuns: Math.min(20, records.length) },
        );
      });

      it('a checkpoint after any read goes on exactly as the decoder would have (mutated files too)', async () => {
        if (subject.format.mode === 'whole') return;
        await fc.assert(
          fc.asyncProperty(
            fc.array(mutation, { maxLength: 3 }).chain((mutations) => {
              const bytes = mutate(subject.bytes, mutations);
              return fc.tuple(fc.constant(bytes), splitsOf(bytes.length), fc.integer({ min: 0, max: bytes.length }));
            }),
            async ([bytes, splits, at]) => {
              const straight = await parse(subject, bytes, splits);
              const resumed = await parseAcrossCheckpoint(subject, bytes, splits, at);
              expect(resumed).toStrictEqual(straight);
            },
          ),
          { numRuns: 80 },
        );
      });

      it('mutated valid file: never throws, and the records do not depend on how the bytes are split', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(mutation, { minLength: 1, maxLength: 4 }).chain((mutations) => {
              const bytes = mutate(subject.bytes, mutations);
              return fc.tuple(fc.constant(bytes), splitsOf(bytes.length));
            }),
            async ([bytes, splits]) => {
              const whole = await parse(subject, bytes, []);
              const split = await parse(subject, bytes, splits);
              expect(split).toStrictEqual(whole);
            },
          ),
          { numRuns: 120 },
        );
      });
    });
  }
});
