import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DepthCommand } from '../../src/formats/depth.js';
import { SCID_RECORD_SIZE } from '../../src/formats/scid.js';
import { depthHeader, encodeDepthRecords, endBatch, snapshotBatch, type DepthRecord } from '../../src/sim/depth-writer.js';
import { mqlDateTime } from '../../src/sim/ea-writer.js';
import { MT5_TICK_HEADER, mt5BarHeader, mt5BarRow, mt5TickRow, type Mt5Bar } from '../../src/sim/mt5-writer.js';
import { RandomMarket, type MarketTick } from '../../src/sim/random.js';
import { encodeScidRecords, scidHeader, scidTickRecord, type ScidRecord } from '../../src/sim/scid-writer.js';
import { sierraTextHeader, sierraTextRow, type SierraBar, type SierraTextVariant } from '../../src/sim/sierra-text-writer.js';
import { byteOrderMark, encodeText } from '../../src/sim/text-encoding.js';
import { ModelFile } from './files.js';
import type { TextEncoding } from '../../src/formats/types.js';

/**
 * The soak's writers: one feed per export file (a JSON map or an NDJSON log feeds several
 * symbols), each writing the way its terminal does and injecting the faults its format
 * meets in the field. Every fault leaves what the files hold computable: garbage is the
 * kind a reader skips (a record without a DateTime, a line that does not parse), and what
 * only lasts a while (a record cut short, a deleted file, a half-written snapshot) is
 * repaired by `settle()` before a checkpoint compares the bridge with a fresh parse.
 */

export const FAULTS = ['partial', 'rewrite', 'rename', 'trim', 'delete', 'garbage', 'corrupt', 'half-written', 'wrong-shape'] as const;
export type Fault = (typeof FAULTS)[number];

export type Random = () => number;

export interface Feed {
  /** The file's name, for reports. */
  readonly name: string;
  readonly format: string;
  readonly symbols: readonly string[];
  /**
   * A whole-file source: the bars of its symbols are built from the snapshots the bridge
   * happened to see, which no file holds (a fresh parse sees only the last one).
   */
  readonly wholeFile: boolean;
  readonly faults: readonly Fault[];
  /** Set while a fault is in force on disk: the feed wants its repair soon. */
  readonly broken: boolean;
  create(): Promise<void>;
  step(): Promise<void>;
  fault(kind: Fault): Promise<void>;
  /** Completes what is pending and puts back what a fault took away. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Simulated market time: `speed` times faster than the wall clock, from `start`. */
export class SimClock {
  readonly #t0 = performance.now();

  constructor(
    readonly start: number,
    readonly speed: number,
  ) {}

  now(): number {
    return this.start + (performance.now() - this.#t0) * this.speed;
  }
}

/** History written before the run starts, in sim time. */
export const HISTORY_MS = 60 * 60_000;
const HISTORY_STEP_MS = 20_000;

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const between = (random: Random, min: number, max: number): number => min + Math.floor(random() * (max - min + 1));

/** Ticks of one market in strictly increasing sim time. */
class TickSource {
  readonly market: RandomMarket;
  #time: number;

  constructor(
    private readonly clock: SimClock,
    private readonly random: Random,
    options: { start: number; tickSize: number; spreadTicks: number; tradeShare: number; seed: number },
  ) {
    this.market = new RandomMarket(options);
    this.#time = clock.start - HISTORY_MS;
  }

  history(): MarketTick[] {
    const ticks: MarketTick[] = [];
    for (let time = this.#time; time < this.clock.start; time += HISTORY_STEP_MS) ticks.push(this.market.next(time));
    this.#time = this.clock.start;
    return ticks;
  }

  next(count: number): MarketTick[] {
    return Array.from({ length: count }, () => {
      this.#time = Math.max(this.#time + 1 + Math.floor(this.random() * 40), Math.floor(this.clock.now()));
      return this.market.next(this.#time);
    });
  }
}

/** Bars of `periodMs` built from ticks: the forming bar, and those closed since the last call. */
class BarBuilder {
  forming: SierraBar | null = null;

  constructor(readonly periodMs: number) {}

  /** Adds ticks; returns the bars they closed. */
  add(ticks: readonly MarketTick[]): SierraBar[] {
    const closed: SierraBar[] = [];
    for (const tick of ticks) {
      const price = tick.last ?? tick.bid;
      const t = Math.floor(tick.time / this.periodMs) * this.periodMs;
      if (this.forming && this.forming.t !== t) {
        closed.push(this.forming);
        this.forming = null;
      }
      const size = tick.size ?? 1;
      this.forming ??= { t, o: price, h: price, l: price, c: price, v: 0, n: 0, bv: 0, av: 0 };
      const bar = this.forming;
      bar.h = Math.max(bar.h, price);
      bar.l = Math.min(bar.l, price);
      bar.c = price;
      bar.v += size;
      bar.n += 1;
      if (tick.side === 'sell') bar.bv += size;
      else bar.av += size;
    }
    return closed;
  }
}

/** Garbage a line-based reader skips: noise, or a dated row whose number is not one. */
function garbageLine(random: Random, datedRow: string, delimiter: string): string {
  if (random() < 0.5) {
    const noise = Array.from({ length: between(random, 3, 40) }, () => String.fromCharCode(between(random, 0x21, 0x7e))).join('');
    // Never a line that could pass for a row: it starts with a letter no date starts with.
    return `#${noise.replace(/[\t,;]/g, '.')}`;
  }
  const fields = datedRow.split(delimiter);
  fields[2] = 'abc';
  return fields.join(delimiter);
}

/**
 * A line-based export: a header, then rows, each CRLF-terminated in the file's encoding.
 * The rows (garbage included) are the model, so a trim or a rewrite writes what a terminal
 * would: the same header over the rows it still has.
 */
abstract class TextFeed implements Feed {
  abstract readonly format: string;
  abstract readonly symbols: readonly string[];
  readonly wholeFile = false;
  readonly faults: readonly Fault[] = ['partial', 'rewrite', 'rename', 'trim', 'delete', 'garbage'];
  readonly file: ModelFile;
  protected rows: string[] = [];

  constructor(
    path: string,
    protected readonly random: Random,
    private readonly encoding: TextEncoding,
    private readonly header: string,
    protected readonly delimiter: string,
    held = false,
  ) {
    this.file = new ModelFile(path, held);
  }

  get name(): string {
    return this.file.path;
  }

  get broken(): boolean {
    return this.file.broken;
  }

  protected abstract historyRows(): string[];
  /** Rows for one step (none is fine: a bar file writes only closed bars). */
  protected abstract nextRows(): string[];

  async create(): Promise<void> {
    this.rows = this.historyRows();
    await this.file.replace(this.whole());
  }

  async step(): Promise<void> {
    await this.appendRows(this.nextRows());
  }

  async fault(kind: Fault): Promise<void> {
    switch (kind) {
      case 'partial': {
        const rows = this.nextRows();
        const bytes = this.encode(rows);
        await this.appendRows(rows, bytes.length > 1 ? between(this.random, 1, bytes.length - 1) : 0);
        return;
      }
      case 'garbage':
        return this.appendRows([garbageLine(this.random, this.rows[this.rows.length - 1] ?? '', this.delimiter)]);
      case 'trim':
        this.rows = this.rows.slice(Math.ceil(this.rows.length * 0.2));
        return this.file.replace(this.whole());
      case 'rewrite':
        return this.file.replace(this.whole());
      case 'rename':
        return this.file.replace(this.whole(), 'rename');
      case 'delete':
        return this.file.remove();
      default:
        throw new Error(`${this.name}: no fault ${kind}`);
    }
  }

  settle(): Promise<void> {
    return this.file.settle();
  }

  close(): Promise<void> {
    return this.file.close();
  }

  protected async appendRows(rows: string[], holdBack = 0): Promise<void> {
    if (rows.length === 0) return;
    this.rows.push(...rows);
    await this.file.append(this.encode(rows), holdBack);
  }

  protected whole(): Buffer {
    return Buffer.concat([byteOrderMark(this.encoding, this.encoding === 'utf16le'), this.encode([this.header, ...this.rows])]);
  }

  private encode(lines: readonly string[]): Buffer {
    return encodeText(lines.map((line) => `${line}\r\n`).join(''), this.encoding);
  }
}

/** A MetaTrader 5 tick export (UTF-8 or UTF-16LE), rows with unchanged fields left empty. */
class Mt5TicksFeed extends TextFeed {
  readonly format = 'mt5-ticks';
  readonly symbols: readonly string[];
  readonly #ticks: TickSource;
  #previous: MarketTick | undefined;

  constructor(dir: string, symbol: string, encoding: 'utf8' | 'utf16le', random: Random, clock: SimClock, seed: number) {
    super(join(dir, `${symbol}_202611200000_202611202359.csv`), random, encoding, MT5_TICK_HEADER, '\t');
    this.symbols = [symbol];
    this.#ticks = new TickSource(clock, random, { start: 1.08 + seed / 100, tickSize: 0.00001, spreadTicks: 12, tradeShare: 0, seed });
  }

  protected historyRows(): string[] {
    return this.#rows(this.#ticks.history());
  }

  protected nextRows(): string[] {
    return this.#rows(this.#ticks.next(between(this.random, 1, 4)));
  }

  #rows(ticks: MarketTick[]): string[] {
    return ticks.map((tick) => {
      const row = mt5TickRow(tick, this.#previous, 5);
      this.#previous = tick;
      return row;
    });
  }
}

/** A MetaTrader 5 M1 bar export: a row per closed bar. */
class Mt5BarsFeed extends TextFeed {
  readonly format = 'mt5-bars';
  readonly symbols: readonly string[];
  readonly #ticks: TickSource;
  readonly #bars = new BarBuilder(60_000);

  constructor(dir: string, symbol: string, encoding: 'utf8' | 'utf16le', random: Random, clock: SimClock, seed: number) {
    super(join(dir, `${symbol}_M1_202611200000_202611202359.csv`), random, encoding, mt5BarHeader(), '\t');
    this.symbols = [symbol];
    this.#ticks = new TickSource(clock, random, { start: 1.25 + seed / 100, tickSize: 0.00001, spreadTicks: 15, tradeShare: 0, seed });
  }

  protected historyRows(): string[] {
    return this.#rows(this.#bars.add(this.#ticks.history()));
  }

  protected nextRows(): string[] {
    return this.#rows(this.#bars.add(this.#ticks.next(between(this.random, 1, 6))));
  }

  #rows(bars: SierraBar[]): string[] {
    return bars.map((bar) => {
      const row: Mt5Bar = { t: bar.t, o: bar.o, h: bar.h, l: bar.l, c: bar.c, tickVolume: bar.n, volume: 0, spread: 15 };
      return mt5BarRow(row, 5);
    });
  }
}

/** A Sierra Chart text export of M1 bars, appended as bars close and rewritten whole on recalculation. */
class SierraTextFeed extends TextFeed {
  readonly format = 'sierra-text';
  readonly symbols: readonly string[];
  readonly #ticks: TickSource;
  readonly #bars = new BarBuilder(60_000);
  readonly #variant: SierraTextVariant;
  readonly #studies: boolean;

  constructor(dir: string, symbol: string, variant: SierraTextVariant, random: Random, clock: SimClock, seed: number) {
    const options = variant === 'study2025' ? { studyNames: ['Top', 'Bottom', 'Top'] } : {};
    super(join(dir, `${symbol}-BarData.txt`), random, 'utf8', sierraTextHeader(variant, options), ', ');
    this.symbols = [symbol];
    this.#variant = variant;
    this.#studies = variant === 'study2025';
    this.#ticks = new TickSource(clock, random, { start: 4000 + seed * 10, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.9, seed });
  }

  protected historyRows(): string[] {
    return this.#rows(this.#bars.add(this.#ticks.history()));
  }

  protected nextRows(): string[] {
    return this.#rows(this.#bars.add(this.#ticks.next(between(this.random, 1, 6))));
  }

  override async step(): Promise<void> {
    await super.step();
    // A chart recalculation writes the whole file again.
    if (this.random() < 0.05) await this.file.replace(this.whole());
  }

  #rows(bars: SierraBar[]): string[] {
    return bars.map((bar) => {
      const withStudies = this.#studies ? { ...bar, studies: [bar.h + 5, bar.l - 5, bar.h + 10] } : bar;
      return sierraTextRow(withStudies, this.#variant);
    });
  }
}

const TRADERS = ['Müller', 'Renée', 'Øresund', 'José'];

/**
 * An MQL5 program's tick log (FileWrite): UTF-16LE with BOM, Windows-1252 or UTF-8, with a
 * trader column whose accents only the right encoding reads. `held`: appended under a handle
 * kept open; otherwise truncated and rewritten with the last rows each time.
 */
class EaCsvFeed extends TextFeed {
  readonly format = 'csv';
  readonly symbols: readonly string[];
  override readonly faults: readonly Fault[];
  readonly #ticks: TickSource;
  readonly #rewrites: boolean;

  constructor(dir: string, symbol: string, encoding: TextEncoding, delimiter: string, held: boolean, random: Random, clock: SimClock, seed: number) {
    super(join(dir, `EA_${symbol}_TickData.csv`), random, encoding, ['Time', 'Bid', 'Ask', 'Volume', 'Händler'].join(delimiter), delimiter, held);
    this.symbols = [symbol];
    this.#rewrites = !held;
    this.#ticks = new TickSource(clock, random, { start: 2650 + seed, tickSize: 0.01, spreadTicks: 30, tradeShare: 0, seed });
    this.faults = held ? ['partial', 'garbage', 'delete'] : ['half-written', 'garbage', 'delete'];
  }

  protected historyRows(): string[] {
    return this.#rows(this.#ticks.history()).slice(this.#rewrites ? -20 : 0);
  }

  protected nextRows(): string[] {
    return this.#rows(this.#ticks.next(between(this.random, 1, 3)));
  }

  override async step(): Promise<void> {
    if (!this.#rewrites) return super.step();
    this.rows = [...this.rows, ...this.nextRows()].slice(-20);
    await this.file.replace(this.whole());
  }

  override async fault(kind: Fault): Promise<void> {
    if (kind === 'half-written') {
      const whole = this.whole();
      await this.file.scribble(whole.subarray(0, between(this.random, 1, whole.length - 1)));
      return;
    }
    if (kind === 'garbage' && this.#rewrites) {
      this.rows.push(garbageLine(this.random, this.rows[this.rows.length - 1] ?? '', this.delimiter));
      await this.file.replace(this.whole());
      return;
    }
    await super.fault(kind);
  }

  #rows(ticks: MarketTick[]): string[] {
    return ticks.map((tick) =>
      [mqlDateTime(tick.time), tick.bid.toFixed(2), tick.ask.toFixed(2), 1 + Math.floor(this.random() * 3), pick(this.random, TRADERS)].join(this.delimiter),
    );
  }
}

/** NDJSON quote lines: one file per symbol, or one log for several with a `symbol` field. */
class NdjsonFeed implements Feed {
  readonly format = 'ndjson';
  readonly wholeFile = false;
  readonly faults: readonly Fault[] = ['partial', 'rewrite', 'rename', 'trim', 'delete', 'garbage'];
  readonly file: ModelFile;
  readonly #sources: Map<string, TickSource>;
  readonly #named: boolean;
  #lines: string[] = [];

  constructor(
    dir: string,
    fileName: string,
    readonly symbols: readonly string[],
    private readonly random: Random,
    clock: SimClock,
    seed: number,
  ) {
    this.#named = symbols.length > 1;
    // A log of one symbol is named after it and its lines carry no symbol.
    this.file = new ModelFile(join(dir, this.#named ? fileName : `${symbols[0]}.ndjson`));
    this.#sources = new Map(
      symbols.map((symbol, i) => [
        symbol,
        new TickSource(clock, random, { start: 90_000 + i * 100, tickSize: 0.5, spreadTicks: 1, tradeShare: 0.5, seed: seed + i }),
      ]),
    );
  }

  get name(): string {
    return this.file.path;
  }

  get broken(): boolean {
    return this.file.broken;
  }

  async create(): Promise<void> {
    for (const [symbol, source] of this.#sources) this.#lines.push(...source.history().map((tick) => this.#line(symbol, tick)));
    await this.file.replace(this.#whole());
  }

  async step(): Promise<void> {
    await this.#append(this.#next());
  }

  async fault(kind: Fault): Promise<void> {
    switch (kind) {
      case 'partial': {
        const lines = this.#next();
        const length = Buffer.byteLength(lines.map((line) => `${line}\n`).join(''));
        return this.#append(lines, between(this.random, 1, length - 1));
      }
      case 'garbage':
        return this.#append([
          pick(this.random, ['{"symbol": "X", "bid": 1,', 'not json at all', '{"bid": 1}', '{"bid": "n/a", "time": 1795176000000}', '[1, 2, 3]']),
        ]);
      case 'trim':
        this.#lines = this.#lines.slice(Math.ceil(this.#lines.length * 0.2));
        return this.file.replace(this.#whole());
      case 'rewrite':
        return this.file.replace(this.#whole());
      case 'rename':
        return this.file.replace(this.#whole(), 'rename');
      case 'delete':
        return this.file.remove();
      default:
        throw new Error(`${this.name}: no fault ${kind}`);
    }
  }

  settle(): Promise<void> {
    return this.file.settle();
  }

  close(): Promise<void> {
    return this.file.close();
  }

  #next(): string[] {
    const symbol = pick(this.random, this.symbols);
    return (this.#sources.get(symbol) as TickSource).next(between(this.random, 1, 3)).map((tick) => this.#line(symbol, tick));
  }

  #line(symbol: string, tick: MarketTick): string {
    const record = {
      ...(this.#named ? { symbol } : {}),
      bid: tick.bid,
      ask: tick.ask,
      ...(tick.last === undefined ? {} : { last: tick.last, volume: tick.size }),
      time: new Date(tick.time).toISOString(),
      venue: tick.side === 'sell' ? 'X' : 'Y',
    };
    return JSON.stringify(record);
  }

  async #append(lines: string[], holdBack = 0): Promise<void> {
    this.#lines.push(...lines);
    await this.file.append(Buffer.from(lines.map((line) => `${line}\n`).join('')), holdBack);
  }

  #whole(): Buffer {
    return Buffer.from(this.#lines.map((line) => `${line}\n`).join(''));
  }
}

/** A `.scid` tick file: trades and quotes appended in bursts, as Sierra Chart flushes them. */
class ScidTicksFeed implements Feed {
  readonly format = 'sierra-scid';
  readonly wholeFile = false;
  readonly faults: readonly Fault[] = ['partial', 'rewrite', 'rename', 'trim', 'delete', 'garbage', 'corrupt'];
  readonly file: ModelFile;
  readonly symbols: readonly string[];
  readonly #ticks: TickSource;

  constructor(
    dir: string,
    symbol: string,
    private readonly random: Random,
    clock: SimClock,
    seed: number,
  ) {
    this.file = new ModelFile(join(dir, `${symbol}.scid`));
    this.symbols = [symbol];
    this.#ticks = new TickSource(clock, random, { start: 6000 + seed, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.7, seed });
  }

  get name(): string {
    return this.file.path;
  }

  get broken(): boolean {
    return this.file.broken;
  }

  async create(): Promise<void> {
    await this.file.replace(Buffer.concat([scidHeader(), encodeScidRecords(this.#ticks.history().map(scidTickRecord))]));
  }

  async step(): Promise<void> {
    await this.file.append(this.#next());
  }

  async fault(kind: Fault): Promise<void> {
    await scidLikeFault(
      this.file,
      kind,
      this.random,
      SCID_RECORD_SIZE,
      56,
      () => this.#next(),
      () => garbageScidRecord(this.random),
    );
  }

  settle(): Promise<void> {
    return this.file.settle();
  }

  close(): Promise<void> {
    return this.file.close();
  }

  #next(): Buffer {
    return encodeScidRecords(this.#ticks.next(between(this.random, 1, 5)).map(scidTickRecord));
  }
}

/** A record a reader skips: no DateTime, or prices that are not numbers. */
function garbageScidRecord(random: Random): Buffer {
  const bytes = Buffer.from(Array.from({ length: SCID_RECORD_SIZE }, () => between(random, 0, 255)));
  if (random() < 0.5) bytes.fill(0, 0, 8);
  else bytes.writeUInt32LE(0x7fc00000, 16); // Low is NaN
  return bytes;
}

/** A record a depth reader skips: no DateTime (whatever its command), or an unknown command. */
function garbageDepthRecord(random: Random, time: number): Buffer {
  const bytes = Buffer.from(Array.from({ length: 24 }, () => between(random, 0, 255)));
  if (random() < 0.5) {
    bytes.fill(0, 0, 8);
    // A CLEAR_BOOK whose DateTime was lost, now and then: it must not count as a snapshot.
    if (random() < 0.3) bytes[8] = DepthCommand.CLEAR_BOOK;
    return bytes;
  }
  return encodeDepthRecords([{ time, command: 99, price: 1, quantity: 1 }]);
}

/** The faults of a binary file of fixed-size records after a header. */
async function scidLikeFault(
  file: ModelFile,
  kind: Fault,
  random: Random,
  recordSize: number,
  headerSize: number,
  next: () => Buffer,
  garbage: () => Buffer,
): Promise<void> {
  switch (kind) {
    case 'partial': {
      const bytes = next();
      return file.append(bytes, between(random, 1, bytes.length - 1));
    }
    case 'garbage':
      return file.append(garbage());
    case 'trim': {
      const records = (file.content.length - headerSize) / recordSize;
      const drop = Math.ceil(records * 0.2);
      return file.replace(Buffer.concat([file.content.subarray(0, headerSize), file.content.subarray(headerSize + drop * recordSize)]));
    }
    case 'rewrite':
      return file.replace(file.content);
    case 'rename':
      return file.replace(file.content, 'rename');
    case 'delete':
      return file.remove();
    case 'corrupt': {
      const bytes = Buffer.from(file.content);
      bytes.write('XXXX', 0, 'latin1');
      return file.scribble(bytes);
    }
    default:
      throw new Error(`${file.path}: no fault ${kind}`);
  }
}

/**
 * A `.scid` bar file of 15-second bars: the forming bar's record is rewritten in place until
 * its period ends, then the next is appended (FORMATS.md §1.6).
 */
class ScidBarsFeed implements Feed {
  readonly format = 'sierra-scid';
  readonly wholeFile = false;
  readonly faults: readonly Fault[] = ['partial', 'rewrite', 'rename', 'trim', 'delete', 'garbage'];
  readonly file: ModelFile;
  readonly symbols: readonly string[];
  readonly #ticks: TickSource;
  readonly #bars = new BarBuilder(15_000);
  /** The forming bar is the file's last record (nothing was appended after it). */
  #formingIsLast = false;

  constructor(
    dir: string,
    symbol: string,
    private readonly random: Random,
    clock: SimClock,
    seed: number,
  ) {
    this.file = new ModelFile(join(dir, `${symbol}.scid`));
    this.symbols = [symbol];
    this.#ticks = new TickSource(clock, random, { start: 21_000 + seed, tickSize: 0.25, spreadTicks: 2, tradeShare: 1, seed });
  }

  get name(): string {
    return this.file.path;
  }

  get broken(): boolean {
    return this.file.broken;
  }

  async create(): Promise<void> {
    const closed = this.#bars.add(this.#ticks.history());
    await this.file.replace(Buffer.concat([scidHeader(), encodeScidRecords(closed.map(barRecord))]));
    this.#formingIsLast = false;
  }

  async step(): Promise<void> {
    const previous = this.#bars.forming;
    const closed = this.#bars.add(this.#ticks.next(between(this.random, 1, 4)));
    const forming = this.#bars.forming as SierraBar;
    // The record at the end of the file is the bar that was forming: it is rewritten in place.
    const inPlace = this.#formingIsLast && previous !== null;
    if (inPlace) await this.file.overwriteEnd(encodeScidRecords([barRecord(previous)]));
    const appended = [...closed.filter((bar) => !(inPlace && bar === previous)), ...(forming === previous && inPlace ? [] : [forming])];
    if (appended.length > 0) await this.file.append(encodeScidRecords(appended.map(barRecord)));
    this.#formingIsLast = true;
  }

  async fault(kind: Fault): Promise<void> {
    // Anything appended ends the forming bar's place at the end of the file.
    if (kind === 'partial' || kind === 'garbage') this.#formingIsLast = false;
    await scidLikeFault(
      this.file,
      kind,
      this.random,
      SCID_RECORD_SIZE,
      56,
      () => this.#appendNext(),
      () => garbageScidRecord(this.random),
    );
  }

  settle(): Promise<void> {
    return this.file.settle();
  }

  close(): Promise<void> {
    return this.file.close();
  }

  /** Closes the forming bar (it stays as written) and gives the records of the next ones. */
  #appendNext(): Buffer {
    const closed = this.#bars.add(this.#ticks.next(between(this.random, 2, 6)));
    const forming = this.#bars.forming;
    this.#bars.forming = null;
    return encodeScidRecords([...closed, ...(forming ? [forming] : [])].map(barRecord));
  }
}

function barRecord(bar: SierraBar): ScidRecord {
  return { time: bar.t, open: bar.o, high: bar.h, low: bar.l, close: bar.c, trades: Math.max(2, bar.n), volume: bar.v, bidVolume: bar.bv, askVolume: bar.av };
}

/** A Sierra Chart `.depth` file: batches of level changes, now and then a full snapshot. */
class DepthFeed implements Feed {
  readonly format = 'sierra-depth';
  readonly wholeFile = false;
  readonly faults: readonly Fault[] = ['partial', 'rewrite', 'rename', 'trim', 'delete', 'garbage', 'corrupt'];
  readonly file: ModelFile;
  readonly symbols: readonly string[];
  readonly #ticks: TickSource;
  #levels = new Map<string, number>();

  constructor(
    dir: string,
    symbol: string,
    private readonly random: Random,
    clock: SimClock,
    seed: number,
  ) {
    this.file = new ModelFile(join(dir, `${symbol}.2026-11-20.depth`));
    this.symbols = [symbol];
    this.#ticks = new TickSource(clock, random, { start: 6000 + seed, tickSize: 0.25, spreadTicks: 1, tradeShare: 0, seed: seed + 1000 });
  }

  get name(): string {
    return this.file.path;
  }

  get broken(): boolean {
    return this.file.broken;
  }

  async create(): Promise<void> {
    const [tick] = this.#ticks.next(1) as [MarketTick];
    await this.file.replace(Buffer.concat([depthHeader(), encodeDepthRecords(this.#batch(tick, true))]));
  }

  async step(): Promise<void> {
    await this.file.append(this.#next());
  }

  async fault(kind: Fault): Promise<void> {
    const [tick] = this.#ticks.next(1) as [MarketTick];
    await scidLikeFault(
      this.file,
      kind,
      this.random,
      24,
      64,
      () => this.#next(),
      () => garbageDepthRecord(this.random, tick.time),
    );
  }

  settle(): Promise<void> {
    return this.file.settle();
  }

  close(): Promise<void> {
    return this.file.close();
  }

  #next(): Buffer {
    const [tick] = this.#ticks.next(1) as [MarketTick];
    return encodeDepthRecords(this.#batch(tick, this.random() < 0.05));
  }

  /** The batch that moves the book to ten levels a side around `tick` (a snapshot, or changes). */
  #batch(tick: MarketTick, snapshot: boolean): DepthRecord[] {
    const target = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      target.set(`b${tick.bid - i * 0.25}`, 5 + Math.floor(this.random() * 60));
      target.set(`a${tick.ask + i * 0.25}`, 5 + Math.floor(this.random() * 60));
    }
    const price = (key: string): number => Number(key.slice(1));
    let records: DepthRecord[];
    if (snapshot) {
      const side = (prefix: string): [number, number, number][] =>
        [...target].filter(([key]) => key.startsWith(prefix)).map(([key, size]) => [price(key), size, 1 + (size % 7)]);
      records = snapshotBatch(tick.time, { bids: side('b'), asks: side('a') });
    } else {
      records = [];
      for (const key of this.#levels.keys()) {
        if (!target.has(key))
          records.push({ time: tick.time, command: key.startsWith('b') ? DepthCommand.DELETE_BID : DepthCommand.DELETE_ASK, price: price(key) });
      }
      for (const [key, size] of target) {
        if (this.#levels.get(key) !== size) {
          records.push({
            time: tick.time,
            command: key.startsWith('b') ? DepthCommand.MODIFY_BID : DepthCommand.MODIFY_ASK,
            price: price(key),
            quantity: size,
            orders: 1 + (size % 7),
          });
        }
      }
      endBatch(records);
    }
    this.#levels = target;
    return records;
  }
}

/**
 * A whole-file JSON source: a symbol's snapshot (a partial document or a flat record), or a
 * map of symbols to flat records as MT5 file bridges write it; rewritten in place or
 * replaced by rename. Its faults last until the next write: a half-written file, a value of
 * the wrong shape, a deleted file.
 */
class JsonFeed implements Feed {
  readonly format = 'json';
  readonly wholeFile = true;
  readonly faults: readonly Fault[] = ['half-written', 'wrong-shape', 'delete'];
  readonly file: ModelFile;
  readonly #sources: Map<string, TickSource>;
  readonly #values = new Map<string, Record<string, unknown>>();
  #round = 0;

  constructor(
    path: string,
    readonly symbols: readonly string[],
    private readonly map: boolean,
    private readonly random: Random,
    clock: SimClock,
    seed: number,
  ) {
    this.file = new ModelFile(path);
    this.#sources = new Map(
      symbols.map((symbol, i) => [
        symbol,
        new TickSource(clock, random, { start: 1900 + i * 50 + seed, tickSize: 0.01, spreadTicks: 20, tradeShare: 0.4, seed: seed + i }),
      ]),
    );
  }

  get name(): string {
    return this.file.path;
  }

  get broken(): boolean {
    return this.file.broken;
  }

  async create(): Promise<void> {
    for (const symbol of this.symbols) this.#update(symbol);
    await this.file.replace(this.#text());
  }

  async step(): Promise<void> {
    this.#update(pick(this.random, this.symbols));
    await this.file.replace(this.#text(), this.random() < 0.5 ? 'rename' : 'truncate');
  }

  async fault(kind: Fault): Promise<void> {
    const text = this.#text();
    switch (kind) {
      case 'half-written':
        return this.file.scribble(text.subarray(0, between(this.random, 1, text.length - 2)));
      case 'wrong-shape': {
        const symbol = pick(this.random, this.symbols);
        const value = this.map ? { ...this.#mapValue(), [symbol]: 'closed' } : { bid: 'n/a', time: Date.now() };
        return this.file.scribble(Buffer.from(JSON.stringify(value)));
      }
      case 'delete':
        return this.file.remove();
      default:
        throw new Error(`${this.name}: no fault ${kind}`);
    }
  }

  settle(): Promise<void> {
    return this.file.settle();
  }

  close(): Promise<void> {
    return this.file.close();
  }

  #update(symbol: string): void {
    const [tick] = (this.#sources.get(symbol) as TickSource).next(1) as [MarketTick];
    this.#round++;
    if (this.map) {
      // MetaTrader's 0 for a price it does not have.
      this.#values.set(symbol, { bid: tick.bid, ask: tick.ask, last: tick.last ?? 0, tick_value: 1 });
    } else if (this.#round % 2 === 0) {
      this.#values.set(symbol, { bid: tick.bid, ask: tick.ask, time: tick.time, spread: Math.round((tick.ask - tick.bid) * 100) });
    } else {
      const book = {
        bids: [
          [tick.bid, 5, 1],
          [tick.bid - 0.01, 9, 2],
        ],
        asks: [
          [tick.ask, 4, 1],
          [tick.ask + 0.01, 7, 3],
        ],
        time: tick.time,
      };
      this.#values.set(symbol, { quote: { bid: tick.bid, ask: tick.ask, time: tick.time }, book, fields: { round: this.#round } });
    }
  }

  #mapValue(): Record<string, unknown> {
    return Object.fromEntries(this.symbols.map((symbol) => [symbol, this.#values.get(symbol)]));
  }

  #text(): Buffer {
    const value = this.map ? this.#mapValue() : this.#values.get(this.symbols[0] as string);
    return Buffer.from(`${JSON.stringify(value)}\r\n`);
  }
}

/** The folders the soak writes, each a source of the bridge (with the options it needs). */
export interface SoakFolders {
  sierra: string;
  mt5: string;
  ea: string;
  json: string;
}

export function sourcesOf(folders: SoakFolders): Record<string, unknown>[] {
  return [
    { path: folders.sierra },
    { path: folders.mt5 },
    { path: folders.ea, symbols: { rename: [{ pattern: '^EA_(.+)_TickData$', replace: '$1' }] } },
    { path: folders.json },
  ];
}

/**
 * Feeds for `count` symbols (12 or more to cover every kind): a round of thirteen symbols
 * covers every format and pairing (a `.scid` with its `.depth`, an MT5 tick export with an
 * M1 bar export of the same symbol), and rounds repeat with other encodings, delimiters and
 * variants.
 */
export function buildFeeds(folders: SoakFolders, count: number, random: Random, clock: SimClock): Feed[] {
  const feeds: Feed[] = [];
  let symbols = 0;
  const variants: SierraTextVariant[] = ['study2025', 'export', 'study2020'];
  const eaEncodings: TextEncoding[] = ['utf16le', 'windows-1252', 'utf8'];
  const delimiters = [';', ',', '\t'];
  for (let round = 0; symbols < count; round++) {
    const seed = round * 100;
    const id = (prefix: string): string => `${prefix}${round}`;
    const add = (feed: Feed, newSymbols: number): void => {
      if (symbols >= count && newSymbols > 0) return;
      feeds.push(feed);
      symbols += newSymbols;
    };
    add(new ScidTicksFeed(folders.sierra, id('ES'), random, clock, seed + 1), 1);
    add(new DepthFeed(folders.sierra, id('ES'), random, clock, seed + 1), 0);
    add(new ScidBarsFeed(folders.sierra, id('NQ'), random, clock, seed + 2), 1);
    add(new Mt5TicksFeed(folders.mt5, id('EURUSD'), round % 2 === 0 ? 'utf16le' : 'utf8', random, clock, seed + 3), 1);
    add(new Mt5BarsFeed(folders.mt5, id('EURUSD'), round % 2 === 0 ? 'utf16le' : 'utf8', random, clock, seed + 4), 0);
    add(new Mt5TicksFeed(folders.mt5, id('GBPUSD'), round % 2 === 0 ? 'utf8' : 'utf16le', random, clock, seed + 5), 1);
    add(new SierraTextFeed(folders.sierra, id('YM'), variants[round % 3] as SierraTextVariant, random, clock, seed + 6), 1);
    for (let i = 0; i < 3; i++) {
      const encoding = eaEncodings[(round + i) % 3] as TextEncoding;
      add(new EaCsvFeed(folders.ea, id(`XAU${i}X`), encoding, delimiters[(round + i) % 3] as string, (round + i) % 2 === 0, random, clock, seed + 7 + i), 1);
    }
    add(new JsonFeed(join(folders.json, `${id('BTC')}.json`), [id('BTC')], false, random, clock, seed + 10), 1);
    const mapped = [id('DWXA'), id('DWXB')].slice(0, Math.max(1, Math.min(2, count - symbols)));
    add(new JsonFeed(join(folders.mt5, `DWX_Market_Data_${round}.txt`), mapped, true, random, clock, seed + 11), mapped.length);
    const logged = [id('ETHA'), id('ETHB')].slice(0, Math.max(1, Math.min(2, count - symbols)));
    add(new NdjsonFeed(folders.json, `feed${round}.ndjson`, logged, random, clock, seed + 13), logged.length);
  }
  return feeds;
}

/** Symbols fed only by whole-file sources (their bars are not in any file: see Feed.wholeFile). */
export function wholeFileSymbols(feeds: readonly Feed[]): Set<string> {
  const fromTail = new Set(feeds.filter((feed) => !feed.wholeFile).flatMap((feed) => feed.symbols));
  return new Set(
    feeds
      .filter((feed) => feed.wholeFile)
      .flatMap((feed) => feed.symbols)
      .filter((symbol) => !fromTail.has(symbol)),
  );
}
