import { appendFile, writeFile } from 'node:fs/promises';
import type { MarketTick } from './random.js';

export type Mt5Encoding = 'utf8' | 'utf16le';

export const MT5_TICK_HEADER = '<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>';

const TICK_FLAG_BID = 2;
const TICK_FLAG_ASK = 4;
const TICK_FLAG_LAST = 8;
const TICK_FLAG_VOLUME = 16;
const TICK_FLAG_BUY = 32;
const TICK_FLAG_SELL = 64;

/** `2025.01.02` and `00:00:00.351` of an epoch ms, in UTC (or shifted to server time by the caller). */
function mt5DateTime(time: number): [date: string, time: string] {
  const iso = new Date(time).toISOString(); // 2025-01-02T00:00:00.351Z
  return [iso.slice(0, 10).replace(/-/g, '.'), iso.slice(11, 23)];
}

/**
 * A row of the terminal's tick export (FORMATS.md §4.1): fields that did not change are
 * left empty, the way the terminal writes them.
 */
export function mt5TickRow(tick: MarketTick, previous: MarketTick | undefined, digits: number): string {
  const [date, time] = mt5DateTime(tick.time);
  const bidChanged = tick.bid !== previous?.bid;
  const askChanged = tick.ask !== previous?.ask;
  const traded = tick.last !== undefined;
  let flags = (bidChanged ? TICK_FLAG_BID : 0) | (askChanged ? TICK_FLAG_ASK : 0);
  if (traded) flags |= TICK_FLAG_LAST | TICK_FLAG_VOLUME | (tick.side === 'sell' ? TICK_FLAG_SELL : TICK_FLAG_BUY);
  return [
    date,
    time,
    bidChanged ? tick.bid.toFixed(digits) : '',
    askChanged ? tick.ask.toFixed(digits) : '',
    traded ? (tick.last as number).toFixed(digits) : '',
    traded ? String(tick.size ?? 0) : '',
    String(flags),
  ].join('\t');
}

export function encodeMt5Text(text: string, encoding: Mt5Encoding): Buffer {
  return Buffer.from(text, encoding);
}

/** Writes an MT5 tick export: a BOM in UTF-16LE, the header, CRLF rows appended in bursts. */
export class Mt5TickWriter {
  #previous: MarketTick | undefined;

  constructor(
    readonly path: string,
    private readonly encoding: Mt5Encoding = 'utf8',
    private readonly digits = 5,
  ) {}

  async create(ticks: readonly MarketTick[] = []): Promise<void> {
    this.#previous = undefined;
    const bom = this.encoding === 'utf16le' ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0);
    await writeFile(this.path, Buffer.concat([bom, encodeMt5Text(`${MT5_TICK_HEADER}\r\n${this.#rows(ticks)}`, this.encoding)]));
  }

  async append(ticks: readonly MarketTick[]): Promise<void> {
    await appendFile(this.path, encodeMt5Text(this.#rows(ticks), this.encoding));
  }

  #rows(ticks: readonly MarketTick[]): string {
    let text = '';
    for (const tick of ticks) {
      text += `${mt5TickRow(tick, this.#previous, this.digits)}\r\n`;
      this.#previous = tick;
    }
    return text;
  }
}

const MT5_BAR_HEADER = '<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>';

/** One row of the terminal's bar export. */
export interface Mt5Bar {
  /** Open time, epoch ms (server time is the caller's business: shift before writing). */
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  tickVolume: number;
  volume: number;
  /** In points. */
  spread: number;
}

/** A bar row (FORMATS.md §4.1); `withTime` false is the D1 layout without `<TIME>`. */
export function mt5BarRow(bar: Mt5Bar, digits: number, withTime = true): string {
  const [date, time] = mt5DateTime(bar.t);
  const prices = [bar.o, bar.h, bar.l, bar.c].map((price) => price.toFixed(digits));
  return [date, ...(withTime ? [time.slice(0, 8)] : []), ...prices, bar.tickVolume, bar.volume, bar.spread].join('\t');
}

export function mt5BarHeader(withTime = true): string {
  return withTime ? MT5_BAR_HEADER : MT5_BAR_HEADER.replace('<TIME>\t', '');
}

/** Writes a bar export: BOM in UTF-16LE, the header, CRLF rows; the last row may be rewritten. */
export class Mt5BarWriter {
  #rows: string[] = [];

  constructor(
    readonly path: string,
    private readonly encoding: Mt5Encoding = 'utf8',
    private readonly digits = 5,
    private readonly withTime = true,
  ) {}

  async create(bars: readonly Mt5Bar[] = []): Promise<void> {
    this.#rows = bars.map((bar) => mt5BarRow(bar, this.digits, this.withTime));
    const bom = this.encoding === 'utf16le' ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0);
    const text = [mt5BarHeader(this.withTime), ...this.#rows].map((row) => `${row}\r\n`).join('');
    await writeFile(this.path, Buffer.concat([bom, encodeMt5Text(text, this.encoding)]));
  }

  async append(bars: readonly Mt5Bar[]): Promise<void> {
    const rows = bars.map((bar) => mt5BarRow(bar, this.digits, this.withTime));
    this.#rows.push(...rows);
    await appendFile(this.path, encodeMt5Text(rows.map((row) => `${row}\r\n`).join(''), this.encoding));
  }
}
