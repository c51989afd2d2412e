/**
 * payload: bytes per patch for tick updates, bar rolls and book updates, against the full
 * document each patch brings up to date (what a snapshot or a poll sends) and against a
 * generic JSON diff of the same two documents (fast-json-patch `compare`), in the same run.
 * Two documents: the default one (bars M1/M5/M15/H1 and indicators on M5/M15/H1, as
 * DEFAULT_CONFIG sets them) and one with a single 200-bar M1 window, each with full windows;
 * the updates go through the state layer as the decoders feed it (FileIngest → Store:
 * compose, derive, diff, serialise).
 *
 *   npx tsx bench/payload.ts [--quick] [--ticks 20000]
 */
import jsonpatch from 'fast-json-patch';
import { IndicatorPlan } from '../src/derive/indicators/deriver.js';
import { DEFAULT_CONFIG } from '../src/app/config.js';
import { RandomMarket, seededRandom, type MarketTick } from '../src/sim/random.js';
import { type Book, type BookLevel, type InstrumentDocument, type Timeframe, TIMEFRAME_MS, type WindowSizes } from '../src/model/document.js';
import { FileIngest } from '../src/state/ingest.js';
import { Store } from '../src/state/store.js';
import { wsDeflateFrame, wsTextFrame } from '../src/transports/frames.js';
import { parseView, restrictOps, type View } from '../src/model/view.js';
import { patchMessage } from '../src/model/wire.js';
import { load, median, percentile, round, scenarioArgs, writeResult, type TargetCheck } from './lib/report.js';

const args = scenarioArgs({ ticks: [20_000, 2000] });
const { ticks } = args.params;
const loadBefore = load();

/** What changed in an update. */
type Kind = 'trade tick' | 'quote tick' | 'fx tick' | 'bar roll' | 'book update';
const KINDS: Kind[] = ['trade tick', 'quote tick', 'fx tick', 'bar roll', 'book update'];
const TICK_KINDS: Kind[] = ['trade tick', 'quote tick', 'fx tick'];

interface Sample {
  kind: Kind;
  opsBytes: number;
  messageBytes: number;
  ops: number;
  documentBytes: number;
  genericBytes: number;
  /** The message as a WebSocket frame, plain and deflated (permessage-deflate, no context takeover, as transports/frames.ts builds it). */
  frameBytes: number;
  deflatedFrameBytes: number;
  messageJson: string;
  /** The patch message a subscriber of each view gets (null: the commit touches nothing in it, and it gets none). */
  viewMessageBytes: Record<ViewName, number | null>;
}

/** The views measured: what an alert engine and a chart of one window read (PROTOCOL.md §8). */
const VIEWS = { quote: ['/quote'], quoteAndM1: ['/quote', '/bars/M1'] } as const;
type ViewName = keyof typeof VIEWS;
const PARSED_VIEWS = Object.fromEntries(Object.entries(VIEWS).map(([name, parts]) => [name, parseView(parts) as View])) as Record<ViewName, View>;

/** The document a symbol carries: its bar windows and the indicators it publishes. */
interface Shape {
  key: 'default' | 'oneM1Window';
  label: string;
  bars: WindowSizes;
  indicators: Partial<Record<Timeframe, string[]>>;
}

const SHAPES: Shape[] = [
  {
    key: 'default',
    label: 'default document (bars M1/M5/M15/H1, indicators on M5/M15/H1)',
    bars: DEFAULT_CONFIG.document.bars,
    indicators: DEFAULT_CONFIG.document.indicators,
  },
  { key: 'oneM1Window', label: 'one 200-bar M1 window', bars: { M1: 200 }, indicators: {} },
];

const minute = 60_000;

/**
 * Feeds a future and an FX pair with history filling `shape`'s longest window, then live
 * ticks and book updates, and gives every patch committed after the history.
 */
function measure(shape: Shape): { samples: Sample[]; lastPatches: Record<string, string | undefined> } {
  const store = new Store({ journalSize: 1, epoch: 'k3j2a9', indicators: new IndicatorPlan(shape.indicators) });
  const samples: Sample[] = [];
  let kind: Kind = 'trade tick';
  const previous = new Map<string, InstrumentDocument>();
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
      frameBytes: wsTextFrame(entry.messageJson).length,
      deflatedFrameBytes: wsDeflateFrame(entry.messageJson, 0).length,
      messageJson: entry.messageJson,
      viewMessageBytes: Object.fromEntries(
        Object.entries(PARSED_VIEWS).map(([name, view]) => {
          const restricted = restrictOps(ops, view);
          // A view's base is the seq of the last commit that changed it: seq - 1 when it changes on every tick.
          return [name, restricted.length === 0 ? null : Buffer.byteLength(patchMessage(state.symbol, store.epoch, entry.seq, entry.seq - 1, restricted))];
        }),
      ) as Record<ViewName, number | null>,
    });
  });

  const feed = (symbol: string, source: string, barBasis: 'trade' | 'auto'): FileIngest =>
    new FileIngest(store, { key: `${symbol}.${source}`, source, barBasis, windows: shape.bars, onProblem: () => undefined });

  /** A tick into `ingest` as its decoder would give it, committed as `as`. */
  const tick = (ingest: FileIngest, symbol: string, next: MarketTick, as: Kind): void => {
    kind = as;
    ingest.begin(false);
    ingest.tick(symbol, { time: next.time, bid: next.bid, ask: next.ask, last: next.last, size: next.size });
    ingest.finish();
  };

  const historyMs = Math.max(...Object.entries(shape.bars).map(([timeframe, size]) => size * TIMEFRAME_MS[timeframe as Timeframe]));
  const liveFrom = Date.UTC(2026, 10, 20, 10, 0);
  // A future (.scid: trades at bid or ask and quote-only records, µs times) and an FX pair
  // (MT5 ticks: bid/ask only, bars from the bid), each with a tick every 2 s of history.
  const futures = {
    symbol: 'ESZ25_FUT_CME',
    ingest: feed('ESZ25_FUT_CME', 'sierra-scid', 'trade'),
    market: new RandomMarket({ start: 6012.25, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.8, seed: 1 }),
  };
  const fx = {
    symbol: 'EURUSD',
    ingest: feed('EURUSD', 'mt5-ticks', 'auto'),
    market: new RandomMarket({ start: 1.0842, tickSize: 0.00001, spreadTicks: 12, tradeShare: 0, seed: 2 }),
  };
  for (const { symbol, ingest, market } of [futures, fx]) {
    ingest.begin(true);
    for (let time = liveFrom - historyMs; time < liveFrom; time += 2000) {
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

  // The future's book, ten levels a side, from a second file of the same symbol (as a
  // `.depth` file's decoder feeds it at the end of each batch): on each update one or two
  // sizes change, and now and then the price moves a level (one level out, one in, on each side).
  const depth = feed(futures.symbol, 'sierra-depth', 'trade');
  let mid = 601_250;
  /** Resting size per price level (in hundredths), as a book keeps it. */
  const sizes = new Map<number, number>();
  const sizeAt = (price: number): number => {
    if (!sizes.has(price)) sizes.set(price, 1 + Math.floor(random() * 50));
    return sizes.get(price) as number;
  };
  for (let i = 0; i < ticks / 4; i++) {
    time = Math.floor(time) + 100 + Math.floor(random() * 400);
    if (random() < 0.1) mid += random() < 0.5 ? 25 : -25;
    for (let k = 0; k < 1 + Math.floor(random() * 2); k++) sizes.set(mid + (Math.floor(random() * 20) - 10) * 25, 1 + Math.floor(random() * 50));
    const bids: BookLevel[] = Array.from({ length: 10 }, (_, k) => [(mid - 25 - k * 25) / 100, sizeAt(mid - 25 - k * 25)]);
    const asks: BookLevel[] = Array.from({ length: 10 }, (_, k) => [(mid + k * 25) / 100, sizeAt(mid + k * 25)]);
    const book: Book = { bids, asks, time };
    kind = 'book update';
    depth.begin(false);
    depth.book(futures.symbol, book);
    depth.finish();
  }

  const lastOps = (symbol: string): string | undefined => {
    const state = store.get(symbol);
    return state?.journal.since(state.seq - 1)?.[0]?.opsJson;
  };
  return { samples, lastPatches: { EURUSD: lastOps(fx.symbol), [futures.symbol]: lastOps(futures.symbol) } };
}

interface Summary {
  patches: number;
  /** Per view: the median message a subscriber of it gets, over the commits it gets one for, and how many those are. */
  views: Record<ViewName, { medianMessageBytes: number | null; messages: number }>;
  medianFrameBytes: number;
  medianDeflatedFrameBytes: number;
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
  const viewSummary = (name: ViewName) => {
    const sizes = part.flatMap((sample) => (sample.viewMessageBytes[name] === null ? [] : [sample.viewMessageBytes[name]]));
    return { medianMessageBytes: sizes.length === 0 ? null : median(sizes), messages: sizes.length };
  };
  return {
    patches: part.length,
    views: { quote: viewSummary('quote'), quoteAndM1: viewSummary('quoteAndM1') },
    medianFrameBytes: median(part.map((sample) => sample.frameBytes)),
    medianDeflatedFrameBytes: median(part.map((sample) => sample.deflatedFrameBytes)),
    medianOpsBytes: median(part.map((sample) => sample.opsBytes)),
    p90OpsBytes: percentile(
      sorted((sample) => sample.opsBytes),
      90,
    ),
    medianMessageBytes: median(part.map((sample) => sample.messageBytes)),
    medianOps: median(part.map((sample) => sample.ops)),
    medianDocumentBytes: median(part.map((sample) => sample.documentBytes)),
    medianReduction: round(median(part.map((sample) => 1 - sample.opsBytes / sample.documentBytes)), 4),
    medianGenericBytes: median(part.map((sample) => sample.genericBytes)),
  };
}

/**
 * CPU per message of framing `messages` plain and deflated, in µs (median of interleaved
 * passes): what permessage-deflate costs per distinct message (the hub frames each message
 * once per encoding, whatever the number of clients).
 */
function framingCost(messages: readonly string[]): { plainUs: number; deflatedUs: number } {
  const pass = (frame: (json: string) => Buffer): number => {
    const started = performance.now();
    for (const json of messages) frame(json);
    return ((performance.now() - started) * 1000) / messages.length;
  };
  const plain: number[] = [];
  const deflated: number[] = [];
  for (let run = 0; run < 7; run++) {
    plain.push(pass(wsTextFrame));
    deflated.push(pass((json) => wsDeflateFrame(json, 0)));
  }
  return { plainUs: round(median(plain), 2), deflatedUs: round(median(deflated), 2) };
}

interface Measured {
  framing: { plainUs: number; deflatedUs: number };
  tickUpdates: Summary;
  all: Summary;
  byKind: Record<string, Summary>;
  lastPatches: Record<string, string | undefined>;
}

const measured = Object.fromEntries(
  SHAPES.map((shape): [Shape['key'], Measured] => {
    const { samples, lastPatches } = measure(shape);
    const byKind = Object.fromEntries(KINDS.map((name) => [name, summary(samples.filter((sample) => sample.kind === name))]));
    const tickSamples = samples.filter((sample) => TICK_KINDS.includes(sample.kind));
    const framing = framingCost(tickSamples.map((sample) => sample.messageJson));
    for (const sample of samples) sample.messageJson = '';
    return [shape.key, { framing, tickUpdates: summary(tickSamples), all: summary(samples), byKind, lastPatches }];
  }),
) as Record<Shape['key'], Measured>;

/** Ratios of one shape, their names ending in `suffix`. */
const ratioOf = ({ tickUpdates, byKind }: Measured, suffix = ''): Record<string, number> => ({
  [`tickPatchOverDocument${suffix}`]: round(tickUpdates.medianOpsBytes / tickUpdates.medianDocumentBytes, 4),
  [`tickPatchOverGenericDiff${suffix}`]: round(tickUpdates.medianOpsBytes / tickUpdates.medianGenericBytes, 3),
  [`barRollOverGenericDiff${suffix}`]: round((byKind['bar roll']?.medianOpsBytes ?? 0) / (byKind['bar roll']?.medianGenericBytes ?? 1), 3),
});

function targetsOf({ label, key }: Shape): TargetCheck[] {
  const { tickUpdates } = measured[key];
  return [
    {
      what: `median patch for a tick update, ${label}`,
      target: '<= 150 bytes',
      measured: `${tickUpdates.medianOpsBytes} bytes of ops (${tickUpdates.medianMessageBytes} as a whole message)`,
      met: tickUpdates.medianOpsBytes <= 150,
    },
    {
      what: `smaller than the full document (seeds: 80% is the floor), ${label}`,
      target: '>= 95%',
      measured: `${round(tickUpdates.medianReduction * 100, 1)}% (median tick patch ${tickUpdates.medianOpsBytes} B vs document ${tickUpdates.medianDocumentBytes} B)`,
      met: tickUpdates.medianReduction >= 0.95,
    },
  ];
}

/** permessage-deflate: bytes and CPU per tick message, against the plain frame (a report, not a bound). */
function compressionTargetOf({ label, key }: Shape): TargetCheck {
  const { tickUpdates, framing } = measured[key];
  return {
    what: `tick patch compressed (permessage-deflate, each message alone), ${label}`,
    target: 'report bytes and CPU per message against uncompressed',
    measured: `${tickUpdates.medianDeflatedFrameBytes} B against ${tickUpdates.medianFrameBytes} B per frame; ${framing.deflatedUs} µs against ${framing.plainUs} µs of CPU per message, once per message whatever the clients`,
    met: true,
  };
}

/** The views of the default document: the message a subscriber of each gets for a tick. */
function viewTargets(): TargetCheck[] {
  const { views } = measured.default.tickUpdates;
  const check = (name: ViewName, bound: number): TargetCheck => {
    const { medianMessageBytes, messages } = views[name];
    return {
      what: `tick patch, view ${VIEWS[name].join(' + ')} (default document): median message on the wire`,
      target: `<= ${bound} bytes`,
      measured: `${medianMessageBytes ?? '-'} bytes (whole document: ${measured.default.tickUpdates.medianMessageBytes}); ${messages} of ${measured.default.tickUpdates.patches} tick commits reach the view`,
      met: medianMessageBytes !== null && medianMessageBytes <= bound,
    };
  };
  return [check('quote', 150), check('quoteAndM1', 300)];
}

await writeResult(args, loadBefore, {
  scenario: 'payload',
  measures:
    'bytes of JSON Patch ops per update kind, against the full document and a generic JSON diff (fast-json-patch compare), for the default document and for one M1 window',
  params: { ticks, shapes: SHAPES, bookLevels: 10 },
  figures: measured,
  baseline: Object.fromEntries(
    Object.entries(measured).map(([key, { tickUpdates, all, byKind }]) => [
      key,
      {
        fullDocumentMedianBytes: { tickUpdates: tickUpdates.medianDocumentBytes, all: all.medianDocumentBytes },
        genericDiffMedianBytes: Object.fromEntries(Object.entries(byKind).map(([kind, part]) => [kind, part.medianGenericBytes])),
      },
    ]),
  ),
  ratio: { ...ratioOf(measured.default), ...ratioOf(measured.oneM1Window, 'OneM1Window') },
  targets: [...SHAPES.flatMap(targetsOf), ...SHAPES.map(compressionTargetOf), ...viewTargets()],
  notes: [
    'A tick patch of the default document replaces the quote, the forming bar of each of the four windows and the indicators of three timeframes (RFC 6902 needs an operation, with its path, for each): the 150-byte target fits a quote and one bar at most.',
  ],
});
