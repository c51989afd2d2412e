import { join } from 'node:path';
import { writeJsonSnapshot, type JsonWriteMode } from '../../src/sim/json-writer.js';
import { Mt5TickWriter } from '../../src/sim/mt5-writer.js';
import { RandomMarket, type MarketTick } from '../../src/sim/random.js';
import { ScidWriter, scidTickRecord } from '../../src/sim/scid-writer.js';

/**
 * A folder written the way terminals write it: a Sierra Chart `.scid` (appends in bursts,
 * partial records, truncate-and-rewrite), an MT5 tick export in UTF-16LE (appends), and a
 * JSON snapshot (rewritten in place or replaced by rename).
 */
export class TerminalFiles {
  readonly scid: ScidWriter;
  readonly mt5: Mt5TickWriter;
  readonly jsonPath: string;
  readonly #es = new RandomMarket({ start: 6000, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.8, seed: 7 });
  readonly #fx = new RandomMarket({ start: 1.08, tickSize: 0.00001, spreadTicks: 10, tradeShare: 0, seed: 8 });
  readonly #gold = new RandomMarket({ start: 2650, tickSize: 0.01, spreadTicks: 30, tradeShare: 0.5, seed: 9 });
  #time: number;
  #round = 0;

  constructor(
    readonly dir: string,
    start = Date.UTC(2026, 10, 20, 14, 0),
  ) {
    this.scid = new ScidWriter(join(dir, 'ESZ25_FUT_CME.scid'));
    this.mt5 = new Mt5TickWriter(join(dir, 'EURUSD_202611200000_202611202359.csv'), 'utf16le', 5);
    this.jsonPath = join(dir, 'XAUUSD.json');
    this.#time = start;
  }

  static readonly symbols = ['ESZ25_FUT_CME', 'EURUSD', 'XAUUSD'];

  /** Rounds of changes written so far; XAUUSD's document carries it as `fields.round` once read. */
  get round(): number {
    return this.#round;
  }

  /** Whether `document` (XAUUSD's) has read every round written. */
  hasRead(document: unknown): boolean {
    return (document as { fields?: { round?: number } } | undefined)?.fields?.round === this.#round;
  }

  async create(historyTicks = 30): Promise<void> {
    await this.scid.create(this.#ticks(this.#es, historyTicks).map(scidTickRecord));
    await this.mt5.create(this.#ticks(this.#fx, historyTicks));
    await this.writeJson('rewrite');
  }

  /** One round of changes to every file; the kind of write varies with the round. */
  async step(): Promise<void> {
    const round = ++this.#round;
    const trades = this.#ticks(this.#es, 1 + (round % 4)).map(scidTickRecord);
    if (round % 3 === 0) await this.scid.appendPartial(trades, 7);
    else await this.scid.append(trades);
    await this.mt5.append(this.#ticks(this.#fx, 1 + (round % 2)));
    await this.writeJson(round % 2 === 0 ? 'rename' : 'rewrite');
  }

  /** Sierra Chart rewrites the file wholesale (data re-downloaded). */
  async rewriteScid(): Promise<void> {
    await this.scid.create(this.#ticks(this.#es, 5).map(scidTickRecord));
  }

  async writeJson(mode: JsonWriteMode): Promise<void> {
    const tick = this.#ticks(this.#gold, 1)[0] as MarketTick;
    await writeJsonSnapshot(this.jsonPath, { bid: tick.bid, ask: tick.ask, time: tick.time, round: this.#round }, mode);
  }

  #ticks(market: RandomMarket, count: number): MarketTick[] {
    return Array.from({ length: count }, () => {
      this.#time += 1500;
      return market.next(this.#time);
    });
  }
}
