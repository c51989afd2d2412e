import type { SymbolState } from '../state/symbol-state.js';

/** One symbol's line on the dashboard (`GET /v1/dashboard/sse`). A value the source never gave is absent. */
export interface SummaryRow {
  symbol: string;
  seq: number;
  last?: number;
  bid?: number;
  ask?: number;
  /**
   * The last minute's move: the price (`last`, or the latest M1 close for a source without
   * trades) minus the close of the M1 bar before the latest. Absent with fewer than two M1 bars.
   */
  change?: number;
  /** Epoch ms of the symbol's last commit. */
  updatedAt: number;
  /** Commits per second over the last few seconds; absent until two summaries were taken. */
  updatesPerSecond?: number;
}

export function summaryRow(state: SymbolState, updatesPerSecond: number | undefined): SummaryRow {
  const { quote, bars } = state.document;
  const row: SummaryRow = { symbol: state.symbol, seq: state.seq, updatedAt: state.updatedAt };
  if (quote.last !== undefined) row.last = quote.last;
  if (quote.bid !== undefined) row.bid = quote.bid;
  if (quote.ask !== undefined) row.ask = quote.ask;
  const m1 = bars.M1 ?? [];
  const price = quote.last ?? m1[m1.length - 1]?.c;
  const previous = m1[m1.length - 2];
  if (price !== undefined && previous) row.change = difference(price, previous.c);
  if (updatesPerSecond !== undefined) row.updatesPerSecond = Math.round(updatesPerSecond * 100) / 100;
  return row;
}

/**
 * Commits per second per symbol, from the seq deltas between samples taken at each summary:
 * nothing is counted on the commit path.
 */
export class UpdateRates {
  readonly #samples: { time: number; seqs: Map<string, number> }[] = [];

  constructor(
    /** The rates cover at least this much time once there is that much history. */
    readonly windowMs: number,
  ) {}

  sample(time: number, states: Iterable<SymbolState>): Map<string, number> {
    const seqs = new Map<string, number>();
    for (const state of states) seqs.set(state.symbol, state.seq);
    this.#samples.push({ time, seqs });
    while (this.#samples.length > 2 && time - (this.#samples[1] as { time: number }).time >= this.windowMs) this.#samples.shift();
    const rates = new Map<string, number>();
    const oldest = this.#samples[0] as { time: number; seqs: Map<string, number> };
    if (time <= oldest.time) return rates;
    for (const [symbol, seq] of seqs) {
      const before = oldest.seqs.get(symbol);
      if (before !== undefined) rates.set(symbol, ((seq - before) * 1000) / (time - oldest.time));
    }
    return rates;
  }
}

/** a - b without binary noise: rounded to the decimals the operands carry. */
function difference(a: number, b: number): number {
  return Number((a - b).toFixed(Math.min(12, Math.max(decimals(a), decimals(b)))));
}

function decimals(value: number): number {
  const text = String(value);
  if (text.includes('e')) return 12;
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}
