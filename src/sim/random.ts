/** A small seeded PRNG (mulberry32), so simulated markets and test files are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface MarketTick {
  time: number;
  bid: number;
  ask: number;
  /** Trade price and size when this tick is a trade. */
  last?: number;
  size?: number;
  /** Aggressor side of a trade. */
  side?: 'buy' | 'sell';
}

export interface RandomMarketOptions {
  start: number;
  tickSize: number;
  /** Spread in ticks. */
  spreadTicks: number;
  /** Share of ticks that are trades (0 for a quote-only FX feed). */
  tradeShare: number;
  seed: number;
}

/** A random walk of quotes on a tick grid, with trades at the bid or the ask. */
export class RandomMarket {
  readonly #options: RandomMarketOptions;
  readonly #random: () => number;
  #mid: number;

  constructor(options: RandomMarketOptions) {
    this.#options = options;
    this.#random = seededRandom(options.seed);
    this.#mid = Math.round(options.start / options.tickSize);
  }

  next(time: number): MarketTick {
    const { tickSize, spreadTicks, tradeShare } = this.#options;
    const step = this.#random();
    if (step < 0.3) this.#mid -= 1;
    else if (step > 0.7) this.#mid += 1;
    const round = (ticks: number): number => Number((ticks * tickSize).toFixed(decimals(tickSize)));
    const bid = round(this.#mid);
    const ask = round(this.#mid + spreadTicks);
    if (this.#random() >= tradeShare) return { time, bid, ask };
    const side = this.#random() < 0.5 ? 'buy' : 'sell';
    return { time, bid, ask, last: side === 'buy' ? ask : bid, size: 1 + Math.floor(this.#random() * 5), side };
  }
}

function decimals(step: number): number {
  const text = String(step);
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}
