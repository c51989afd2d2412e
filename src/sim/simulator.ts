import { join } from 'node:path';
import { writeJsonSnapshot, type JsonWriteMode } from './json-writer.js';
import { Mt5TickWriter, type Mt5Encoding } from './mt5-writer.js';
import { RandomMarket, type MarketTick, type RandomMarketOptions } from './random.js';
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
 * Chart `.scid` tick files (appended in bursts, sometimes stopping mid-record), two FX
 * pairs as MetaTrader 5 tick exports (one UTF-8, one UTF-16LE with BOM), and a gold quote
 * with a five-level book as a JSON snapshot (rewritten in place, or replaced by rename).
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const { dir, updatesPerSecond = 4, historyMinutes = 200, seed = 1 } = options;
  const now = Date.now();
  const range = exportRange(now);
  const instruments: Instrument[] = [
    await scidInstrument(join(dir, 'ESZ25_FUT_CME.scid'), 'ESZ25_FUT_CME', { start: 6012.25, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.8, seed }),
    await scidInstrument(join(dir, 'NQZ25_FUT_CME.scid'), 'NQZ25_FUT_CME', { start: 21050, tickSize: 0.25, spreadTicks: 2, tradeShare: 0.7, seed: seed + 1 }),
    mt5Instrument(join(dir, `EURUSD_${range}.csv`), 'EURUSD', 'utf8', { start: 1.0842, tickSize: 0.00001, spreadTicks: 12, tradeShare: 0, seed: seed + 2 }),
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

async function scidInstrument(path: string, symbol: string, options: RandomMarketOptions): Promise<Instrument> {
  const writer = new ScidWriter(path);
  await writer.create();
  return {
    symbol,
    market: new RandomMarket(options),
    // Every fifth round stops 13 bytes short of the last record, as a reader sees mid-flush.
    write: (ticks, round) => {
      const records = ticks.map(scidTickRecord);
      return round > 0 && round % 5 === 0 ? writer.appendPartial(records, 13) : writer.append(records);
    },
  };
}

function mt5Instrument(path: string, symbol: string, encoding: Mt5Encoding, options: RandomMarketOptions): Instrument {
  const writer = new Mt5TickWriter(path, encoding, 5);
  return {
    symbol,
    market: new RandomMarket(options),
    write: (ticks, round) => (round < 0 ? writer.create(ticks) : writer.append(ticks)),
  };
}

function jsonInstrument(path: string, symbol: string, options: RandomMarketOptions): Instrument {
  let previousLast: number | undefined;
  const level = (price: number, i: number, round: number): [number, number] => [
    Number(price.toFixed(2)),
    1 + ((round * 7 + i * 13) % 20),
  ];
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
