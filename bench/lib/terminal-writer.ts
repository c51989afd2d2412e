/**
 * A folder of export files written the way terminals write them, from the benchmark's own
 * process, with synchronous system calls so that the time taken after each one is when the
 * write returned: Sierra Chart `.scid` files (records appended to a file held open), MT5
 * tick exports (rows appended, UTF-8 and UTF-16LE) and JSON snapshots (rewritten in place,
 * or replaced by rename).
 */
import { closeSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MT5_TICK_HEADER, encodeMt5Text, mt5TickRow, type Mt5Encoding } from '../../src/sim/mt5-writer.js';
import { RandomMarket, type MarketTick } from '../../src/sim/random.js';
import { encodeScidRecords, scidHeader, scidTickRecord } from '../../src/sim/scid-writer.js';
import { monotonicMs } from './clients.js';

type Kind = 'scid' | 'mt5' | 'json';

interface FileOf {
  symbol: string;
  kind: Kind;
  path: string;
  market: RandomMarket;
  /** Open for appending (scid, mt5). */
  fd: number | null;
  encoding: Mt5Encoding;
  /** JSON: replaced by rename (else rewritten in place). */
  byRename: boolean;
  previous: MarketTick | undefined;
  /** Quote time of the last write, in µs (writes of a file carry increasing times). */
  lastUs: number;
}

/** One write: which symbol, the quote time it carries (µs) and when write() returned (monotonic ms). */
export interface Write {
  symbol: number;
  timeUs: number;
  atMs: number;
}

const HISTORY_STEP_MS = 2000;

export class TerminalWriter {
  readonly symbols: string[];
  readonly #files: FileOf[];
  #next = 0;

  /**
   * `count` symbols: `scidShare` of them `.scid` (40% by default), then MT5 ticks and JSON
   * (30% each, as many as are left), each with `historyMinutes` of ticks already in its
   * file (JSON files hold only the latest quote).
   */
  constructor(
    readonly dir: string,
    count: number,
    readonly historyMinutes = 200,
    scidShare = 0.4,
  ) {
    const scid = Math.round(count * scidShare);
    const mt5 = Math.round(count * 0.3);
    this.#files = Array.from({ length: count }, (_, i): FileOf => {
      const kind: Kind = i < scid ? 'scid' : i < scid + mt5 ? 'mt5' : 'json';
      const symbol = kind === 'scid' ? `S${pad(i)}_FUT_CME` : kind === 'mt5' ? `FX${pad(i)}` : `J${pad(i)}`;
      const name = kind === 'scid' ? `${symbol}.scid` : kind === 'mt5' ? `${symbol}_202611200000_202611202359.csv` : `${symbol}.json`;
      const market =
        kind === 'scid'
          ? new RandomMarket({ start: 6012.25, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.8, seed: i + 1 })
          : kind === 'mt5'
            ? new RandomMarket({ start: 1.0842, tickSize: 0.00001, spreadTicks: 12, tradeShare: 0, seed: i + 1 })
            : new RandomMarket({ start: 2650.1, tickSize: 0.01, spreadTicks: 30, tradeShare: 0.5, seed: i + 1 });
      return {
        symbol,
        kind,
        path: join(dir, name),
        market,
        fd: null,
        encoding: i % 2 === 0 ? 'utf16le' : 'utf8',
        byRename: i % 2 === 1,
        previous: undefined,
        lastUs: 0,
      };
    });
    this.symbols = this.#files.map((file) => file.symbol);
  }

  /** Writes every file with its history. */
  create(): void {
    const now = Date.now();
    const start = now - this.historyMinutes * 60_000;
    for (const file of this.#files) {
      const ticks: MarketTick[] = [];
      for (let time = start; time < now - 1000; time += HISTORY_STEP_MS) ticks.push(file.market.next(time));
      const last = ticks[ticks.length - 1] as MarketTick;
      file.lastUs = last.time * 1000;
      if (file.kind === 'scid') {
        writeFileSync(file.path, Buffer.concat([scidHeader(), encodeScidRecords(ticks.map(scidTickRecord))]));
        file.fd = openSync(file.path, 'a');
      } else if (file.kind === 'mt5') {
        const bom = file.encoding === 'utf16le' ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0);
        writeFileSync(file.path, Buffer.concat([bom, encodeMt5Text(`${MT5_TICK_HEADER}\r\n${this.#rows(file, ticks)}`, file.encoding)]));
        file.fd = openSync(file.path, 'a');
      } else {
        writeFileSync(file.path, json(last));
      }
    }
  }

  /** Writes the next tick of the next symbol (round-robin) and says when write() returned. */
  write(): Write {
    const index = this.#next;
    this.#next = (this.#next + 1) % this.#files.length;
    const file = this.#files[index] as FileOf;
    // Sierra keeps µs; MT5 and JSON carry ms. Times only grow.
    const precision = file.kind === 'scid' ? 1 : 1000;
    const timeUs = Math.max(file.lastUs + precision, Math.round((Date.now() * 1000) / precision) * precision);
    file.lastUs = timeUs;
    const tick = file.market.next(timeUs / 1000);
    if (file.kind === 'scid') {
      writeSync(file.fd as number, encodeScidRecords([scidTickRecord(tick)]));
    } else if (file.kind === 'mt5') {
      writeSync(file.fd as number, encodeMt5Text(this.#rows(file, [tick]), file.encoding));
    } else if (file.byRename) {
      writeFileSync(`${file.path}.tmp`, json(tick));
      renameSync(`${file.path}.tmp`, file.path);
    } else {
      writeFileSync(file.path, json(tick));
    }
    return { symbol: index, timeUs, atMs: monotonicMs() };
  }

  close(): void {
    for (const file of this.#files) {
      if (file.fd !== null) closeSync(file.fd);
      file.fd = null;
    }
  }

  #rows(file: FileOf, ticks: readonly MarketTick[]): string {
    let text = '';
    for (const tick of ticks) {
      text += `${mt5TickRow(tick, file.previous, 5)}\r\n`;
      file.previous = tick;
    }
    return text;
  }
}

function pad(i: number): string {
  return String(i).padStart(2, '0');
}

function json(tick: MarketTick): string {
  return `${JSON.stringify({ bid: tick.bid, ask: tick.ask, ...(tick.last === undefined ? {} : { last: tick.last, lastSize: tick.size }), time: tick.time })}\r\n`;
}

/** Runs `write` `rate` times a second, evenly, for `seconds`; resolves with every write. */
export async function writeAtRate(writer: TerminalWriter, rate: number, seconds: number): Promise<Write[]> {
  const writes: Write[] = [];
  const total = Math.round(rate * seconds);
  const start = performance.now();
  while (writes.length < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    while (writes.length < due) writes.push(writer.write());
    const nextAt = start + (writes.length / rate) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, nextAt - performance.now())));
  }
  return writes;
}

/** Each symbol's writes as the client workers take them: quote times (µs) and write times (ms). */
export function writesBySymbol(writes: readonly Write[], symbols: number): { timesUs: Float64Array; atMs: Float64Array }[] {
  return Array.from({ length: symbols }, (_, symbol) => {
    const own = writes.filter((write) => write.symbol === symbol);
    return { timesUs: Float64Array.from(own, (write) => write.timeUs), atMs: Float64Array.from(own, (write) => write.atMs) };
  });
}
