import { join } from 'node:path';
import { DepthCommand } from '../formats/depth.js';
import { DepthWriter, endBatch, snapshotBatch, type DepthRecord } from './depth-writer.js';
import { writeJsonSnapshot, type JsonWriteMode } from './json-writer.js';
import { Mt5BarWriter, Mt5TickWriter, type Mt5Bar, type Mt5Encoding } from './mt5-writer.js';
import { RandomMarket, seededRandom, type MarketTick, type RandomMarketOptions } from './random.js';
import { ScidWriter, scidTickRecord } from './scid-writer.js';

export interface SimulatorOptions {
  /** Folder the export files are written into. */
  dir: string;
  /** Update rounds per second (each round touches every file). */
  updatesPerSecond?: number;
  /** Minutes of history written before the live updates start. */
  historyMinutes?: number;
  seed?: number;
}

export interface Simulator {
  readonly dir: string;
  /** Symbols the simulator writes. */
  readonly symbols: readonly string[];
  close(): Promise<void>;
}

interface Instrument {
  symbol: string;
  market: RandomMarket;
  write(ticks: MarketTick[], round: number): Promise<void>;
}

const HISTORY_TICK_MS = 15_000;

/**
 * Writes realistic export files into `dir` and keeps them changing: two futures as Sierra
 * Chart `.scid` tick files (appended in bursts, sometimes stopping mid-record), the first
 * with its market depth file (`.depth`, batches of book updates), two FX pairs as MetaTrader
 * 5 tick exports (one UTF-8, one UTF-16LE with BOM), the first also as an M5 bar export, and
 * a gold quote with a five-level book as a JSON snapshot (rewritten in place, or replaced by
 * rename).
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const { dir, updatesPerSecond = 4, historyMinutes = 200, seed = 1 } = options;
  const now = Date.now();
  const range = exportRange(now);
  const instruments: Instrument[] = [
    await scidInstrument(
      join(dir, 'ESZ25_FUT_CME.scid'),
      'ESZ25_FUT_CME',
      { start: 6012.25, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.8, seed },
      {
        path: join(dir, `ESZ25_FUT_CME.${new Date(now).toISOString().slice(0, 10)}.depth`),
        tickSize: 0.25,
        seed,
      },
    ),
    await scidInstrument(join(dir, 'NQZ25_FUT_CME.scid'), 'NQZ25_FUT_CME', { start: 21050, tickSize: 0.25, spreadTicks: 2, tradeShare: 0.7, seed: seed + 1 }),
    mt5Instrument(
      join(dir, `EURUSD_${range}.csv`),
      'EURUSD',
      'utf8',
      { start: 1.0842, tickSize: 0.00001, spreadTicks: 12, tradeShare: 0, seed: seed + 2 },
      join(dir, `EURUSD_M5_${range}.csv`),
    ),
    mt5Instrument(join(dir, `GBPUSD_${range}.csv`), 'GBPUSD', 'utf16le', { start: 1.2651, tickSize: 0.00001, spreadTicks: 15, tradeShare: 0, seed: seed + 3 }),
    jsonInstrument(join(dir, 'XAUUSD.json'), 'XAUUSD', { start: 2650.1, tickSize: 0.01, spreadTicks: 30, tradeShare: 0.5, seed: seed + 4 }),
  ];

  const historyStart = now - historyMinutes * 60_000;
  for (const instrument of instruments) {
    const history: MarketTick[] = [];
    for (let time = historyStart; time < now; time += HISTORY_TICK_MS) history.push(instrument.market.next(time));
    await instrument.write(history, -1);
  }

  let round = 0;
  let writing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    round++;
    writing = writing.then(async () => {
      for (const instrument of instruments) {
        const time = Date.now();
        const count = 1 + (round % 3);
        const ticks = Array.from({ length: count }, (_, i) => instrument.market.next(time + i / 1000));
        await instrument.write(ticks, round);
      }
    });
  }, 1000 / updatesPerSecond);

  return {
    dir,
    symbols: instruments.map((instrument) => instrument.symbol),
    async close() {
      clearInterval(timer);
      await writing;
    },
  };
}

async function scidInstrument(
  path: string,
  symbol: string,
  options: RandomMarketOptions,
  depth?: { path: string; tickSize: number; seed: number },
): Promise<Instrument> {
  const writer = new ScidWriter(path);
  await writer.create();
  const book = depth ? new SimulatedBook(depth.path, depth.tickSize, depth.seed) : null;
  return {
    symbol,
    market: new RandomMarket(options),
    // Every fifth round stops 13 bytes short of the last record, as a reader sees mid-flush.
    write: async (ticks, round) => {
      const records = ticks.map(scidTickRecord);
      await (round > 0 && round % 5 === 0 ? writer.appendPartial(records, 13) : writer.append(records));
      const last = ticks[ticks.length - 1];
      if (book && last) await book.write(last, round);
    },
  };
}

/** Ten levels a side around the last quote, as batches of Sierra depth commands. */
class SimulatedBook {
  readonly #writer: DepthWriter;
  readonly #random: () => number;
  #levels = new Map<string, number>();

  constructor(
    path: string,
    private readonly tickSize: number,
    seed: number,
  ) {
    this.#writer = new DepthWriter(path);
    this.#random = seededRandom(seed + 100);
  }

  async write(tick: MarketTick, round: number): Promise<void> {
    const target = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      target.set(`b${tick.bid - i * this.tickSize}`, 5 + Math.floor(this.#random() * 60));
      target.set(`a${tick.ask + i * this.tickSize}`, 5 + Math.floor(this.#random() * 60));
    }
    const price = (key: string): number => Number(key.slice(1));
    if (round < 0) {
      const side = (prefix: string) =>
        [...target].filter(([key]) => key.startsWith(prefix)).map(([key, size]): [number, number, number] => [price(key), size, 1 + (size % 7)]);
      await this.#writer.create(snapshotBatch(tick.time, { bids: side('b'), asks: side('a') }));
    } else {
      const batch: DepthRecord[] = [];
      for (const key of this.#levels.keys()) {
        if (!target.has(key))
          batch.push({ time: tick.time, command: key.startsWith('b') ? DepthCommand.DELETE_BID : DepthCommand.DELETE_ASK, price: price(key) });
      }
      for (const [key, size] of target) {
        const command = key.startsWith('b') ? DepthCommand.MODIFY_BID : DepthCommand.MODIFY_ASK;
        if (this.#levels.get(key) !== size) batch.push({ time: tick.time, command, price: price(key), quantity: size, orders: 1 + (size % 7) });
      }
      await this.#writer.append(endBatch(batch));
    }
    this.#levels = target;
  }
}

function mt5Instrument(path: string, symbol: string, encoding: Mt5Encoding, options: RandomMarketOptions, barsPath?: string): Instrument {
  const writer = new Mt5TickWriter(path, encoding, 5);
  const bars = barsPath ? new Mt5BarWriter(barsPath, encoding, 5) : null;
  let forming: Mt5Bar | null = null;
  const closed: Mt5Bar[] = [];
  // M5 bars of the bid, as the terminal builds them; a bar is exported once it has closed.
  const addToBars = (ticks: readonly MarketTick[]): void => {
    for (const tick of ticks) {
      const t = Math.floor(tick.time / 300_000) * 300_000;
      if (forming && forming.t !== t) {
        closed.push(forming);
        forming = null;
      }
      const spread = Math.round((tick.ask - tick.bid) * 100_000);
      forming ??= { t, o: tick.bid, h: tick.bid, l: tick.bid, c: tick.bid, tickVolume: 0, volume: 0, spread };
      forming.h = Math.max(forming.h, tick.bid);
      forming.l = Math.min(forming.l, tick.bid);
      forming.c = tick.bid;
      forming.tickVolume++;
      forming.spread = spread;
    }
  };
  return {
    symbol,
    market: new RandomMarket(options),
    write: async (ticks, round) => {
      await (round < 0 ? writer.create(ticks) : writer.append(ticks));
      if (!bars) return;
      addToBars(ticks);
      const done = closed.splice(0);
      if (round < 0) await bars.create(done);
      else if (done.length > 0) await bars.append(done);
    },
  };
}

function jsonInstrument(path: string, symbol: string, options: RandomMarketOptions): Instrument {
  let previousLast: number | undefined;
  const level = (price: number, i: number, round: number): [number, number] => [Number(price.toFixed(2)), 1 + ((round * 7 + i * 13) % 20)];
  return {
    symbol,
    market: new RandomMarket(options),
    write: (ticks, round) => {
      const tick = ticks[ticks.length - 1] as MarketTick;
      previousLast = tick.last ?? previousLast;
      const depth = [0, 1, 2, 3, 4];
      const document = {
        quote: { bid: tick.bid, ask: tick.ask, ...(previousLast === undefined ? {} : { last: previousLast }), time: tick.time },
        book: {
          bids: depth.map((i) => level(tick.bid - i * options.tickSize, i, round)),
          asks: depth.map((i) => level(tick.ask + i * options.tickSize, i + 5, round)),
          time: tick.time,
        },
        fields: { spread: Math.round((tick.ask - tick.bid) * 100) },
      };
      const mode: JsonWriteMode = round % 2 === 0 ? 'rewrite' : 'rename';
      return writeJsonSnapshot(path, document, mode);
    },
  };
}

/** `YYYYMMDDHHMM_YYYYMMDDHHMM` of today, as the terminal names its exports. */
function exportRange(now: number): string {
  const day = new Date(now).toISOString().slice(0, 10).replace(/-/g, '');
  return `${day}0000_${day}2359`;
}
