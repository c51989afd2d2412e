import { extname } from 'node:path';
import type { Bar, JsonObject, Timeframe } from '../model/document.js';
import { badTime, DelimitedDecoder, fieldValue, normalizeName, readLayout, TimeReader, type TextLayout } from './delimited.js';
import { carriedNumber, carriedPart, savedNumber, type DecoderCarry } from './carry.js';
import { symbolFromFileName } from './file-names.js';
import { multiplierFor, scalePrice } from './price-multiplier.js';
import { FormatError, type DecoderContext, type RandomAccessFile, type RecordSink, type TailFormat } from './types.js';

/**
 * Sierra Chart text exports (FORMATS.md §3): "Export Bar Data to Text File"
 * (`Date, Time, Open, High, Low, Last, Volume, NumberOfTrades, BidVolume, AskVolume`), the
 * "Write Bar Data To File" study (2020: `... Close ...` with unpadded milliseconds; 2025:
 * `... # of Trades, OHLC Avg, HLC Avg, HL Avg, Bid Volume, Ask Volume`), "Write Bar and Study
 * Data To File" (study columns after those, by position, into `fields`) and `.dly` daily files
 * (`Date, Open, High, Low, Close, Volume, OpenInterest`). Times are the chart's (the source's
 * `timeZone`). A chart recalculation rewrites the whole file: read as a rewrite.
 */

type BaseColumn = 'date' | 'time' | 'open' | 'high' | 'low' | 'close' | 'volume' | 'trades' | 'bidVolume' | 'askVolume' | 'openInterest' | 'derived';

const BASE_NAMES: Record<string, BaseColumn> = {
  date: 'date',
  time: 'time',
  open: 'open',
  high: 'high',
  low: 'low',
  last: 'close',
  close: 'close',
  volume: 'volume',
  numberoftrades: 'trades',
  oftrades: 'trades',
  trades: 'trades',
  bidvolume: 'bidVolume',
  bidvol: 'bidVolume',
  askvolume: 'askVolume',
  askvol: 'askVolume',
  openinterest: 'openInterest',
  ohlcavg: 'derived',
  hlcavg: 'derived',
  hlavg: 'derived',
};

function isDaily(fileName: string): boolean {
  return extname(fileName).toLowerCase() === '.dly';
}

export const sierraTextFormat: TailFormat = {
  name: 'sierra-text',
  mode: 'tail',
  barBasis: 'trade',
  matchesName: (fileName) => ['.txt', '.csv', '.dly', '.itxt'].includes(extname(fileName).toLowerCase()),
  sniff(head, options) {
    const layout = readLayout(head, options, () => true);
    if (layout === undefined) return undefined;
    return layout !== null && readColumns(layout.first) !== null;
  },
  symbolFor: symbolFromFileName,
  createDecoder: (context) => new SierraTextDecoder(context),
};

interface Columns {
  base: Partial<Record<BaseColumn, number>>;
  /** Study columns: index and the field name (repeated names get `#2`, `#3`...). */
  studies: { index: number; name: string }[];
}

/**
 * The columns of a Sierra header: base columns by name until the first name that is not one
 * (or repeats one); every column from there on is a study's, mapped by position. Null when
 * the header is not a Sierra bar header.
 */
function readColumns(header: readonly string[]): Columns | null {
  // MetaTrader's bracketed names (`<DATE>`) are its own exports'.
  if (header[0]?.startsWith('<')) return null;
  const base: Columns['base'] = {};
  let index = 0;
  for (; index < header.length; index++) {
    const column = BASE_NAMES[normalizeName(header[index] as string)];
    if (column === undefined || (column !== 'derived' && base[column] !== undefined)) break;
    if (column !== 'derived') base[column] = index;
  }
  if (base.date !== 0 || base.open === undefined || base.high === undefined || base.low === undefined || base.close === undefined) return null;
  const studies: Columns['studies'] = [];
  const seen = new Map<string, number>();
  for (; index < header.length; index++) {
    const name = (header[index] as string) || `#${index + 1}`;
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    studies.push({ index, name: count === 1 ? name : `${name}#${count}` });
  }
  return { base, studies };
}

class SierraTextDecoder extends DelimitedDecoder {
  #times: TimeReader;
  #columns: Columns | null = null;
  #timeframe: Timeframe | null = null;
  /** With `#timeframe` null, the bars' length when known (a 10-minute chart). */
  #lengthMs: number | undefined;
  #lastTime = Number.NaN;
  /** Open, high, low and close are stored times 1 / this (native units); 1 for most files. */
  readonly #multiplier: number;

  constructor(context: DecoderContext) {
    super(context);
    this.#times = new TimeReader(this.options);
    this.#multiplier = multiplierFor(this.options, this.symbol);
  }

  protected isHeader(): boolean {
    return true;
  }

  protected carried(): DecoderCarry {
    return { times: this.#times.checkpoint(), lastTime: savedNumber(this.#lastTime) };
  }

  protected resumeCarried(saved: DecoderCarry): void {
    this.#times.resume(carriedPart(saved, 'times'));
    this.#lastTime = carriedNumber(saved, 'lastTime', Number.NaN);
  }

  protected configure(layout: TextLayout): void {
    const header = layout.header ?? layout.first;
    const columns = readColumns(header);
    if (!columns)
      throw new FormatError('FORMAT_MISSING_COLUMNS', `header of ${header.length} columns is not Date, [Time,] Open, High, Low, Last or Close, ...`, 0);
    this.#columns = columns;
    // The 2020 "Write Bar Data To File" study (its header says Close) prints 5 ms as `.5`.
    const unpaddedMillis =
      columns.base.time !== undefined && normalizeName(header[columns.base.close as number] as string) === 'close' && !isDaily(this.fileName);
    this.#times = new TimeReader(this.options, unpaddedMillis);
    if (isDaily(this.fileName)) this.#timeframe = 'D1';
  }

  protected override async prepare(file: RandomAccessFile): Promise<void> {
    if (isDaily(this.fileName)) return;
    const decision = await this.timeframeOf(file);
    this.#timeframe = decision.timeframe;
    this.#lengthMs = decision.lengthMs ?? undefined;
  }

  protected override barTimeframe(): Timeframe | null {
    return this.#timeframe;
  }

  protected timeOf(fields: string[]): number {
    return this.#time(fields, false);
  }

  #time(fields: string[], remember: boolean): number {
    const base = (this.#columns as Columns).base;
    const date = fields[0] ?? '';
    return base.time === undefined ? this.#times.read(date, undefined, remember) : this.#times.read(date, fields[base.time] ?? '', remember);
  }

  protected row(fields: string[], text: string, offset: number, sink: RecordSink): void {
    const columns = this.#columns as Columns;
    const time = this.#time(fields, true);
    if (Number.isNaN(time)) {
      sink.problem(offset, badTime(text, this.options));
      return;
    }
    const base = columns.base;
    const number = (index: number | undefined): number => (index === undefined || fields[index] === '' ? 0 : Number(fields[index]));
    const price = (index: number | undefined): number => scalePrice(number(index), this.#multiplier);
    const bar: Bar = { t: time, o: price(base.open), h: price(base.high), l: price(base.low), c: price(base.close), v: number(base.volume) };
    if (base.trades !== undefined) bar.n = number(base.trades);
    if (base.bidVolume !== undefined) bar.bv = number(base.bidVolume);
    if (base.askVolume !== undefined) bar.av = number(base.askVolume);
    if (!Object.values(bar).every(Number.isFinite)) {
      sink.problem(offset, `a price or volume is not a number (line of ${text.length} characters); line skipped`);
      return;
    }
    if (this.#timeframe === null && this.#lengthMs === undefined && bar.n === 1 && bar.o === bar.c && bar.h > bar.l) {
      // A 1-tick chart's row is a trade, with Sierra's tick convention: High = ask, Low = bid.
      sink.tick(this.symbol, { time, bid: bar.l, ask: bar.h, last: bar.c, size: bar.v });
    } else {
      // A row repeating the last one's time is that bar again, rewritten (a forming bar written twice).
      sink.bar(this.symbol, bar, this.#timeframe, this.#timeframe === null && time === this.#lastTime, this.#lengthMs);
    }
    this.#lastTime = time;
    const extra = this.#extraFields(fields);
    if (extra) sink.fields(this.symbol, extra);
  }

  #extraFields(fields: string[]): JsonObject | null {
    const columns = this.#columns as Columns;
    if (columns.studies.length === 0 && columns.base.openInterest === undefined) return null;
    const extra: JsonObject = {};
    if (columns.base.openInterest !== undefined) extra.openInterest = fieldValue(fields[columns.base.openInterest]);
    for (const study of columns.studies) extra[study.name] = fieldValue(fields[study.index]);
    return extra;
  }
}
