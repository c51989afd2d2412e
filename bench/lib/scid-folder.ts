/**
 * A folder of Sierra Chart `.scid` files written as the terminal writes them (the simulator's
 * records, src/sim/scid-writer.ts): each file held open and appended to one tick record at a
 * time, round-robin, with synchronous writes so that the time taken after each one is when
 * write() returned (for write-to-client latency, see client-worker.ts).
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RandomMarket, type MarketTick } from '../../src/sim/random.js';
import { encodeScidRecords, scidHeader, scidTickRecord } from '../../src/sim/scid-writer.js';
import { monotonicMs } from './clients.js';
import type { Write } from './terminal-writer.js';

const HISTORY_STEP_MS = 2000;

/** The `document` config of a quote alone (no bars, no indicators): the fan-out runs, whose cost is per delivery. */
export const QUOTE_ONLY = { bars: { M1: 0, M5: 0, M15: 0, H1: 0 }, indicators: { M1: [], M5: [], M15: [], H1: [] } };

export class ScidFolder {
  readonly symbols: string[];
  readonly #markets: RandomMarket[];
  readonly #fds: number[] = [];
  /** Per file, the time of its last record in µs: times only grow. */
  readonly #lastUs: number[];
  #next = 0;

  /** `count` files with `historyMinutes` of ticks each. */
  constructor(
    readonly dir: string,
    count: number,
    readonly historyMinutes = 10,
  ) {
    this.symbols = Array.from({ length: count }, (_, i) => `F${String(i).padStart(2, '0')}_FUT_CME`);
    this.#markets = this.symbols.map((_, i) => new RandomMarket({ start: 6012.25, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.8, seed: i + 1 }));
    this.#lastUs = this.symbols.map(() => 0);
  }

  create(): void {
    const now = Date.now();
    this.symbols.forEach((symbol, i) => {
      const market = this.#markets[i] as RandomMarket;
      const ticks: MarketTick[] = [];
      for (let time = now - this.historyMinutes * 60_000; time < now - 1000; time += HISTORY_STEP_MS) ticks.push(market.next(time));
      this.#lastUs[i] = (ticks[ticks.length - 1]?.time ?? 0) * 1000;
      const path = join(this.dir, `${symbol}.scid`);
      writeFileSync(path, Buffer.concat([scidHeader(), encodeScidRecords(ticks.map(scidTickRecord))]));
      this.#fds.push(openSync(path, 'a'));
    });
  }

  /** Appends the next file's next tick and says when write() returned. */
  write(): Write {
    const index = this.#next;
    this.#next = (index + 1) % this.symbols.length;
    const timeUs = Math.max((this.#lastUs[index] as number) + 1, Math.round(Date.now() * 1000));
    this.#lastUs[index] = timeUs;
    const tick = (this.#markets[index] as RandomMarket).next(timeUs / 1000);
    writeSync(this.#fds[index] as number, encodeScidRecords([scidTickRecord(tick)]));
    return { symbol: index, timeUs, atMs: monotonicMs() };
  }

  close(): void {
    for (const fd of this.#fds) closeSync(fd);
    this.#fds.length = 0;
  }
}

/** Calls `step` `rate` times a second, evenly, for `seconds`; resolves with what each returned. */
export async function atRate<T>(rate: number, seconds: number, step: () => T): Promise<T[]> {
  const done: T[] = [];
  const total = Math.round(rate * seconds);
  const start = performance.now();
  while (done.length < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    while (done.length < due) done.push(step());
    const nextAt = start + (done.length / rate) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, nextAt - performance.now())));
  }
  return done;
}
