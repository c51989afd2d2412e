/**
 * payload: bytes per patch for tick updates, bar rolls and book updates, against the full
 * document each patch brings up to date (what a snapshot or a poll sends) and against a
 * generic JSON diff of the same two documents (fast-json-patch `compare`), in the same run.
 * The documents are realistic: a full 200-bar M1 window; the updates go through the state
 * layer as the decoders feed it (FileIngest → Store: compose, diff, serialise).
 *
 *   npx tsx bench/payload.ts [--quick] [--ticks 20000]
 */
import jsonpatch from 'fast-json-patch';
import { RandomMarket, seededRandom, type MarketTick } from '../src/sim/random.js';
import type { Book, BookLevel, InstrumentDocument } from '../src/state/document.js';
import { FileIngest } from '../src/state/ingest.js';
import { Store } from '../src/state/store.js';
import { load, median, percentile, round, scenarioArgs, writeResult } from './lib/report.js';

const args = scenarioArgs({ ticks: [20_000, 2000] });
const { ticks } = args.params;
const loadBefore = load();

/** What changed in an update. */
type Kind = 'trade tick' | 'quote tick' | 'fx tick' | 'bar roll' | 'book update';
const TICK_KINDS: Kind[] = ['trade tick', 'quote tick', 'fx tick'];

interface Sample {
  kind: Kind;
  opsBytes: number;
  messageBytes: number;
  ops: number;
  documentBytes: number;
  genericBytes: number;
}

const store = new Store({ journalSize: 1, epoch: 'k3j2a9' });
const samples: Sample[] = [];
let kind: Kind = 'trade tick';
let previous = new Map<string, InstrumentDocument>();
store.onCommit(({ state, entry, ops }) => {
  const before = previous.get(state.symbol);
  previous.set(state.symbol, state.document);
  if (!entry || !ops || !before) return;
  samples.push({
    kind,
    opsBytes: Buffer.byteLength(entry.opsJson),
    messageBytes: Buffer.byteLength(entry.messageJson),
    ops: ops.length,
    documentBytes: Buffer.byteLength(state.documentJson()),
    genericBytes: Buffer.byteLength(JSON.stringify(jsonpatch.compare(before, state.document))),
  });
});

function feed(symbol: string, source: string, barBasis: 'trade' | 'auto'): FileIngest {
  return new FileIngest(store, { key: `${symbol}.${source}`, source, barBasis, windows: { M1: 200 }, onProblem: () => undefined });
}

const minute = 60_000;
const start = Date.UTC(2026, 10, 20, 10, 0);
const liveFrom = start + 200 * minute;

/** A tick into `ingest` as its decoder would give it, committed as `as`. */
function tick(ingest: FileIngest, symbol: string, next: MarketTick, as: Kind): void {
  kind = as;
  ingest.begin(false);
  ingest.tick(symbol, { time: next.time, bid: next.bid, ask: next.ask, last: next.last, size: next.size });
  ingest.finish();
}

// A future (.scid: trades at bid or ask and quote-only records, µs times) and an FX pair
// (MT5 ticks: bid/ask only, bars from the bid), each with 200 minutes of history.
const futures = { symbol: 'ESZ25_FUT_CME', ingest: feed('ESZ25_FUT_CME', 'sierra-scid', 'trade'), market: new RandomMarket({ start: 6012.25, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.8, seed: 1 }) };
const fx = { symbol: 'EURUSD', ingest: feed('EURUSD', 'mt5-ticks', 'auto'), market: new RandomMarket({ start: 1.0842, tickSize: 0.00001, spreadTicks: 12, tradeShare: 0, seed: 2 }) };
for (const { symbol, ingest, market } of [futures, fx]) {
  ingest.begin(true);
  for (let time = start; time < liveFrom; time += 2000) {
    const next = market.next(time);
    ingest.tick(symbol, { time, bid: next.bid, ask: next.ask, last: next.last, size: next.size });
  }
  ingest.finish();
}

// Live ticks: a few per second, so that minutes roll now and then.
const random = seededRandom(3);
let time = liveFrom;
for (let i = 0; i < ticks; i++) {
  const previousMinute = Math.floor(time / minute);
  // Sierra times carry µs; MT5 times are whole ms.
  time += 50 + Math.floor(random() * 400) + Math.floor(random() * 1000) / 1000;
  const rolls = Math.floor(time / minute) !== previousMinute;
  if (i % 2 === 1) {
    tick(fx.ingest, fx.symbol, fx.market.next(Math.floor(time)), rolls ? 'bar roll' : 'fx tick');
  } else {
    const next = futures.market.next(time);
    tick(futures.ingest, futures.symbol, next, rolls ? 'bar roll' : next.last === undefined ? 'quote tick' : 'trade tick');
  }
}

// The future's book, ten levels a side, from a second file of the same symbol (as a `.depth`
// file's decoder feeds it at the end of each batch): on each update one or two sizes change, and now and then the price
// moves a level (one level out, one in, on each side).
const depth = feed(futures.symbol, 'sierra-depth', 'trade');
let mid = 601_250;
/** Resting size per price level (in hundredths), as a book keeps it. */
const sizes = new Map<number, number>();
const sizeAt = (price: number): number => {
  if (!sizes.has(price)) sizes.set(price, 1 + Math.floor(random() * 50));
  return sizes.get(price) as number;
};
function writeBook(at: number): void {
  const bids: BookLevel[] = Array.from({ length: 10 }, (_, k) => [(mid - 25 - k * 25) / 100, sizeAt(mid - 25 - k * 25)]);
  const asks: BookLevel[] = Array.from({ length: 10 }, (_, k) => [(mid + k * 25) / 100, sizeAt(mid + k * 25)]);
  const book: Book = { bids, asks, time: at };
  kind = 'book update';
  depth.begin(false);
  depth.book(futures.symbol, book);
  depth.finish();
}
for (let i = 0; i < ticks / 4; i++) {
  time = Math.floor(time) + 100 + Math.floor(random() * 400);
  if (random() < 0.1) mid += random() < 0.5 ? 25 : -25;
  for (let k = 0; k < 1 + Math.floor(random() * 2); k++) sizes.set(mid + (Math.floor(random() * 20) - 10) * 25, 1 + Math.floor(random() * 50));
  writeBook(time);
}

interface Summary {
  patches: number;
  medianOpsBytes: number;
  p90OpsBytes: number;
  medianMessageBytes: number;
  medianOps: number;
  medianDocumentBytes: number;
  medianReduction: number;
  medianGenericBytes: number;
}

function summary(part: Sample[]): Summary {
  const sorted = (pick: (sample: Sample) => number): number[] => part.map(pick).sort((a, b) => a - b);
  return {
    patches: part.length,
    medianOpsBytes: median(part.map((sample) => sample.opsBytes)),
    p90OpsBytes: percentile(sorted((sample) => sample.opsBytes), 90),
    medianMessageBytes: median(part.map((sample) => sample.messageBytes)),
    medianOps: median(part.map((sample) => sample.ops)),
    medianDocumentBytes: median(part.map((sample) => sample.documentBytes)),
    medianReduction: round(median(part.map((sample) => 1 - sample.opsBytes / sample.documentBytes)), 4),
    medianGenericBytes: median(part.map((sample) => sample.genericBytes)),
  };
}

const byKind = Object.fromEntries((['trade tick', 'quote tick', 'fx tick', 'bar roll', 'book update'] as Kind[]).map((name) => [name, summary(samples.filter((sample) => sample.kind === name))]));
const tickUpdates = summary(samples.filter((sample) => TICK_KINDS.includes(sample.kind)));
const all = summary(samples);
const lastOps = (symbol: string): string | undefined => {
  const state = store.get(symbol);
  return state?.journal.since(state.seq - 1)?.[0]?.opsJson;
};

await writeResult(args, loadBefore, {
  scenario: 'payload',
  measures: 'bytes of JSON Patch ops per update kind, against the full document and a generic JSON diff (fast-json-patch compare)',
  params: { ticks, barWindow: 200, bookLevels: 10 },
  figures: {
    tickUpdates,
    byKind,
    lastPatches: { EURUSD: lastOps(fx.symbol), [futures.symbol]: lastOps(futures.symbol) },
  },
  baseline: {
    fullDocumentMedianBytes: { tickUpdates: tickUpdates.medianDocumentBytes, all: all.medianDocumentBytes },
    genericDiffMedianBytes: Object.fromEntries(Object.entries(byKind).map(([name, part]) => [name, part.medianGenericBytes])),
  },
  ratio: {
    tickPatchOverDocument: round(tickUpdates.medianOpsBytes / tickUpdates.medianDocumentBytes, 4),
    tickPatchOverGenericDiff: round(tickUpdates.medianOpsBytes / tickUpdates.medianGenericBytes, 3),
    barRollOverGenericDiff: round((byKind['bar roll']?.medianOpsBytes ?? 0) / (byKind['bar roll']?.medianGenericBytes ?? 1), 3),
  },
  targets: [
    { what: 'median patch for a tick update', target: '<= 150 bytes', measured: `${tickUpdates.medianOpsBytes} bytes of ops (${tickUpdates.medianMessageBytes} as a whole message)`, met: tickUpdates.medianOpsBytes <= 150 },
    { what: 'smaller than the full document (seeds: 80% is the floor)', target: '>= 95%', measured: `${round(tickUpdates.medianReduction * 100, 1)}% (median tick patch ${tickUpdates.medianOpsBytes} B vs document ${tickUpdates.medianDocumentBytes} B)`, met: tickUpdates.medianReduction >= 0.95 },
  ],
});
