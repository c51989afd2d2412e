/**
 * Symbols fed through the state layer exactly as a `.scid` decoder feeds it (FileIngest →
 * Contribution → Store.commit: compose, diff, journal, serialise), without the files: for
 * the scenarios that measure what comes after reading (fan-out, payload).
 */
import { FileIngest } from '../../src/state/ingest.js';
import type { Store } from '../../src/state/store.js';
import { RandomMarket, type MarketTick } from '../../src/sim/random.js';

const FUTURES = { start: 6012.25, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.8 } as const;

interface Feed {
  symbol: string;
  ingest: FileIngest;
  market: RandomMarket;
}

/** Tick spacing of the history, and of live ticks. */
const HISTORY_STEP_MS = 2000;

export class TickDriver {
  readonly symbols: string[];
  readonly #feeds: Feed[];
  #time: number;
  #next = 0;

  /**
   * `count` futures with `historyMinutes` of trades behind them (a full M1 window with the
   * default 200), then ticks `stepMs` apart, round-robin over the symbols.
   */
  constructor(
    store: Store,
    count: number,
    readonly options: { historyMinutes: number; stepMs: number; seed?: number } = { historyMinutes: 200, stepMs: 7 },
  ) {
    this.symbols = Array.from({ length: count }, (_, i) => `F${String(i).padStart(2, '0')}_FUT_CME`);
    this.#feeds = this.symbols.map((symbol, i) => ({
      symbol,
      ingest: new FileIngest(store, {
        key: `${symbol}.scid`,
        source: 'sierra-scid',
        barBasis: 'trade',
        windows: { M1: 200 },
        onProblem: () => undefined,
      }),
      market: new RandomMarket({ ...FUTURES, seed: (options.seed ?? 1) + i }),
    }));
    // µs-precise times as Sierra writes them.
    const start = Date.UTC(2026, 10, 20, 14, 0) - options.historyMinutes * 60_000;
    for (const feed of this.#feeds) {
      feed.ingest.begin(true);
      for (let time = start; time < start + options.historyMinutes * 60_000; time += HISTORY_STEP_MS) tickTo(feed, time);
      feed.ingest.finish();
    }
    this.#time = start + options.historyMinutes * 60_000;
  }

  /** One tick of the next symbol, committed. */
  step(): string {
    const feed = this.#feeds[this.#next] as Feed;
    this.#next = (this.#next + 1) % this.#feeds.length;
    this.#time += this.options.stepMs + 0.001;
    feed.ingest.begin(false);
    tickTo(feed, Math.round(this.#time * 1000) / 1000);
    feed.ingest.finish();
    return feed.symbol;
  }
}

function tickTo(feed: Feed, time: number): MarketTick {
  const tick = feed.market.next(time);
  feed.ingest.tick(feed.symbol, { time, bid: tick.bid, ask: tick.ask, last: tick.last, size: tick.size });
  return tick;
}
