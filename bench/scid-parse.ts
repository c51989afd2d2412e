/**
 * `.scid` parse rate: a 100 MB synthetic intraday file (2.6 million records: trades at the
 * bid or ask, quote-only records, unbundled trades, 10-second bar records) decoded
 *
 * - in memory, by our decoder fed in 1 MiB runs as FileTail feeds it (ChunkedDecoder), into a
 *   sink that only counts; as the baseline, by a plainly written decoder with the same output
 *   (a BigInt per DateTime, toPrecision rounding, an object per record); and, as a floor, by a
 *   loop that only reads the nine fields of each record into an object;
 * - from disk (page cache warm), read in 1 MiB reads with a FileHandle, both decoders;
 * - in memory through the state layer (FileIngest into a Store: quote, M1 candles), for scale.
 *
 * Each figure is the median of the runs; ours, the baseline and the floor run in the same
 * process, interleaved round by round.
 *
 *   npx tsx bench/scid-parse.ts [--mb 100] [--runs 5]
 */
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ChunkedDecoder } from '../src/formats/chunked-decoder.js';
import { SCID_HEADER_SIZE, SCID_RECORD_SIZE, scidFormat } from '../src/formats/scid.js';
import type { RecordSink } from '../src/formats/types.js';
import { FileIngest } from '../src/state/ingest.js';
import { Store } from '../src/state/store.js';
import { RandomMarket, seededRandom } from '../src/sim/random.js';
import { encodeScidRecords, scidHeader, scidTickRecord, type ScidRecord } from '../src/sim/scid-writer.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '100' }, runs: { type: 'string', default: '5' } } });
const megabytes = Number(values.mb);
const runs = Number(values.runs);
const CHUNK = 1024 * 1024;

/** A realistic record mix, built in blocks so that building 100 MB stays quick. */
function syntheticFile(bytes: number): Buffer {
  const count = Math.floor((bytes - SCID_HEADER_SIZE) / SCID_RECORD_SIZE);
  const random = seededRandom(7);
  const market = new RandomMarket({ start: 6012.25, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.8, seed: 8 });
  const parts: Buffer[] = [scidHeader()];
  let time = Date.UTC(2026, 0, 2, 14);
  for (let done = 0; done < count; ) {
    const block: ScidRecord[] = [];
    for (let i = 0; i < 65_536 && done + block.length < count; i++) {
      time += Math.floor(random() * 40);
      const tick = market.next(time);
      const roll = random();
      if (roll < 0.85) block.push(scidTickRecord(tick));
      else if (roll < 0.95) {
        const part = { ...scidTickRecord({ ...tick, last: tick.ask, size: 2, side: 'buy' as const }) };
        block.push({ ...part, open: 'first-sub-trade' }, { ...part, time: time + 0.001, open: 'last-sub-trade' });
      } else {
        block.push({ time, open: tick.bid, high: tick.ask + 0.5, low: tick.bid - 0.25, close: tick.ask, trades: 12, volume: 30, bidVolume: 14, askVolume: 16 });
      }
    }
    parts.push(encodeScidRecords(block.slice(0, count - done)));
    done += Math.min(block.length, count - done);
  }
  return Buffer.concat(parts);
}

/** A sink that counts what it is given and keeps nothing. */
function countingSink(): RecordSink & { records: number; checksum: number } {
  const sink = {
    records: 0,
    checksum: 0,
    tick(_symbol: string, tick: { time: number; last?: number | undefined }) {
      sink.records++;
      sink.checksum += tick.last ?? 0;
    },
    bar(_symbol: string, bar: { c: number }) {
      sink.records++;
      sink.checksum += bar.c;
    },
    book: () => undefined,
    fields: () => undefined,
    document: () => undefined,
    problem: () => undefined,
  };
  return sink;
}

interface NaiveRecord {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  trades: number;
  volume: number;
  bidVolume: number;
  askVolume: number;
}

/** The floor: reading the nine fields of each record into an object, nothing more. */
function rawRead(chunk: Buffer, onRecord: (record: NaiveRecord) => void): number {
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const count = Math.floor(chunk.length / SCID_RECORD_SIZE);
  for (let i = 0; i < count; i++) {
    const o = i * SCID_RECORD_SIZE;
    onRecord({
      time: Number(view.getBigInt64(o, true) - 2_209_161_600_000_000n) / 1000,
      open: view.getFloat32(o + 8, true),
      high: view.getFloat32(o + 12, true),
      low: view.getFloat32(o + 16, true),
      close: view.getFloat32(o + 20, true),
      trades: view.getUint32(o + 24, true),
      volume: view.getUint32(o + 28, true),
      bidVolume: view.getUint32(o + 32, true),
      askVolume: view.getUint32(o + 36, true),
    });
  }
  return count * SCID_RECORD_SIZE;
}

type NaiveOutput =
  | { kind: 'tick'; time: number; bid: number; ask: number; last: number | undefined; size: number | undefined }
  | { kind: 'bar'; t: number; o: number; h: number; l: number; c: number; v: number; n: number; bv: number; av: number };

const round7 = (value: number): number => Number(value.toPrecision(7));

/**
 * The baseline: a straightforward decoder with the same output as ours (FORMATS.md §1.3's
 * DataView recipe): a BigInt per DateTime, the record kinds of §1.5, prices rounded to the
 * 7 digits a float32 carries with toPrecision, a new object per record.
 */
function naiveDecode(chunk: Buffer, onRecord: (record: NaiveOutput) => void): number {
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const count = Math.floor(chunk.length / SCID_RECORD_SIZE);
  for (let i = 0; i < count; i++) {
    const o = i * SCID_RECORD_SIZE;
    const time = Number(view.getBigInt64(o, true) - 2_209_161_600_000_000n) / 1000;
    const openBits = view.getUint32(o + 8, true);
    const high = view.getFloat32(o + 12, true);
    const low = view.getFloat32(o + 16, true);
    const close = view.getFloat32(o + 20, true);
    const trades = view.getUint32(o + 24, true);
    const volume = view.getUint32(o + 28, true);
    if (trades === 1 && (openBits === 0 || openBits === 0xfd709ef9 || openBits === 0xfd709f01)) {
      const quoteOnly = volume === 0 && openBits === 0;
      onRecord({ kind: 'tick', time, bid: round7(low), ask: round7(high), last: quoteOnly ? undefined : round7(close), size: quoteOnly ? undefined : volume });
    } else {
      onRecord({
        kind: 'bar', t: time, o: round7(view.getFloat32(o + 8, true)), h: round7(high), l: round7(low), c: round7(close),
        v: volume, n: trades, bv: view.getUint32(o + 32, true), av: view.getUint32(o + 36, true),
      });
    }
  }
  return count * SCID_RECORD_SIZE;
}

type Run = () => Promise<number> | number;

function oursInMemory(file: Buffer): Run {
  return () => {
    const sink = countingSink();
    const chunks = new ChunkedDecoder(scidFormat.createDecoder({ fileName: 'ES.scid', symbol: 'ES' }), SCID_HEADER_SIZE);
    for (let at = SCID_HEADER_SIZE; at < file.length; at = chunks.position) chunks.feed(file.subarray(at, Math.min(file.length, at + CHUNK)), sink);
    return sink.records;
  };
}

/** A decoder of the NaiveRecord kind fed 1 MiB runs, carrying a partial record. */
function chunkedRun<T>(decode: (chunk: Buffer, onRecord: (record: T) => void) => number, onRecord: (record: T) => void): (bytes: Buffer) => void {
  let carry = Buffer.alloc(0);
  return (bytes) => {
    const chunk = carry.length > 0 ? Buffer.concat([carry, bytes]) : bytes;
    carry = Buffer.from(chunk.subarray(decode(chunk, onRecord)));
  };
}

function inMemory<T>(file: Buffer, decode: (chunk: Buffer, onRecord: (record: T) => void) => number): Run {
  return () => {
    let records = 0;
    const feed = chunkedRun(decode, () => records++);
    for (let at = SCID_HEADER_SIZE; at < file.length; at += CHUNK) feed(file.subarray(at, Math.min(file.length, at + CHUNK)));
    return records;
  };
}

function fromDisk(path: string, size: number, decodeRun: (bytes: Buffer) => void): Run {
  return async () => {
    const handle = await open(path, 'r');
    const buffer = Buffer.allocUnsafe(CHUNK);
    try {
      for (let at = SCID_HEADER_SIZE; at < size; ) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK, size - at), at);
        if (bytesRead === 0) break;
        decodeRun(buffer.subarray(0, bytesRead));
        at += bytesRead;
      }
    } finally {
      await handle.close();
    }
    return 0;
  };
}

function throughState(file: Buffer): Run {
  return () => {
    const store = new Store({ journalSize: 10, epoch: 'bench' });
    const ingest = new FileIngest(store, { key: 'ES.scid', source: 'sierra-scid', barBasis: 'trade', windows: { M1: 200 }, onProblem: () => undefined });
    const chunks = new ChunkedDecoder(scidFormat.createDecoder({ fileName: 'ES.scid', symbol: 'ES' }), SCID_HEADER_SIZE);
    ingest.begin(true);
    for (let at = SCID_HEADER_SIZE; at < file.length; at = chunks.position) chunks.feed(file.subarray(at, Math.min(file.length, at + CHUNK)), ingest);
    return ingest.finish();
  };
}

interface Figure {
  seconds: number;
  recordsPerSecond: number;
  mbPerSecond: number;
}

/**
 * Times every subject `runs` times, interleaved (subject after subject within each round), so
 * that a busy moment of the machine falls on all of them alike; returns each one's median.
 */
async function measure<Name extends string>(subjects: Record<Name, Run>, records: number): Promise<Record<Name, Figure>> {
  const times = new Map<Name, number[]>();
  for (let round = 0; round < runs; round++) {
    for (const [name, run] of Object.entries(subjects) as [Name, Run][]) {
      const start = performance.now();
      await run();
      times.set(name, [...(times.get(name) ?? []), (performance.now() - start) / 1000]);
    }
  }
  const figures = {} as Record<Name, Figure>;
  for (const [name, seconds] of times) {
    seconds.sort((a, b) => a - b);
    const mid = seconds[Math.floor(seconds.length / 2)] as number;
    figures[name] = {
      seconds: Number(mid.toFixed(4)),
      recordsPerSecond: Math.round(records / mid),
      mbPerSecond: Number(((records * SCID_RECORD_SIZE) / 1e6 / mid).toFixed(1)),
    };
  }
  return figures;
}

const file = syntheticFile(megabytes * 1024 * 1024);
const records = (file.length - SCID_HEADER_SIZE) / SCID_RECORD_SIZE;
const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-'));
const path = join(dir, 'ES.scid');
await writeFile(path, file);

// The decoders agree on the record count before anything is timed.
const counts = [await oursInMemory(file)(), await inMemory(file, naiveDecode)(), await inMemory(file, rawRead)()];
if (counts.some((count) => count !== records)) throw new Error(`record counts differ: ${counts.join(' ')} (expected ${records})`);

const oursChunks = () => {
  const sink = countingSink();
  const chunks = new ChunkedDecoder(scidFormat.createDecoder({ fileName: 'ES.scid', symbol: 'ES' }), SCID_HEADER_SIZE);
  return (bytes: Buffer) => chunks.feed(bytes, sink);
};

// Warm up each (JIT), then measure.
await oursInMemory(file)();
await inMemory(file, naiveDecode)();
await inMemory(file, rawRead)();
const inMemoryFigures = await measure({ ours: oursInMemory(file), baseline: inMemory(file, naiveDecode), rawReadFloor: inMemory(file, rawRead) }, records);
const fromDiskFigures = await measure(
  {
    ours: () => fromDisk(path, file.length, oursChunks())(),
    baseline: () => fromDisk(path, file.length, chunkedRun(naiveDecode, () => undefined))(),
  },
  records,
);
const results = { inMemory: inMemoryFigures, fromDisk: fromDiskFigures, throughState: (await measure({ throughState: throughState(file) }, records)).throughState };
await rm(dir, { recursive: true, force: true });

const report = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform },
  file: { megabytes, records, mix: '85% trades/quotes at bid or ask, 10% unbundled trade pairs, 5% bar records' },
  method: `median of ${runs} interleaved runs after one warm-up each; 1 MiB runs as FileTail reads; disk figures with the page cache warm`,
  load: `load average ${loadavg().map((value) => value.toFixed(1)).join(' ')} on ${cpus().length} cores at the end`,
  baseline: 'same output, written plainly: DataView.getBigInt64 per DateTime, toPrecision(7) rounding, one object per record',
  rawReadFloor: 'the nine fields read into an object, no interpretation: a floor for any JavaScript decoder',
  results,
  speedup: {
    inMemory: Number((results.inMemory.ours.recordsPerSecond / results.inMemory.baseline.recordsPerSecond).toFixed(2)),
    fromDisk: Number((results.fromDisk.ours.recordsPerSecond / results.fromDisk.baseline.recordsPerSecond).toFixed(2)),
  },
};
const out = fileURLToPath(new URL('./results/scid-parse.json', import.meta.url));
await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
