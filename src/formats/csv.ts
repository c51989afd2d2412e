import { extname } from 'node:path';
import type { Bar, JsonObject, Timeframe } from '../model/document.js';
import { badTime, columnIndex, DelimitedDecoder, fieldValue, normalizeName, price, readLayout, TimeReader, type TextLayout } from './delimited.js';
import { carriedNumber, carriedPart, carriedString, savedNumber, type DecoderCarry } from './carry.js';
import { symbolFromFileName } from './file-names.js';
import {
  COLUMN_ROLES,
  FormatError,
  type ColumnRole,
  type DecoderContext,
  type FormatOptions,
  type RandomAccessFile,
  type RecordSink,
  type TailFormat,
  type TickRecord,
} from './types.js';

/**
 * Generic delimited text: what MQL5 programs write with FileWrite (FORMATS.md §4.2-4.3:
 * UTF-16LE with BOM, ANSI or UTF-8; tab, comma or semicolon; with or without a header) and
 * any CSV whose columns the source maps (`columns`: which are time, bid, ask, last, volume,
 * open/high/low/close, symbol). Without a mapping, header names are recognised; a file with
 * no header has its time in the first column that holds one and every other column in
 * `fields`, by position. Rows with open, high, low and close are bars; others are ticks.
 */

/** Header names recognised per role (compared as normalizeName gives them). */
const ROLE_NAMES: Record<ColumnRole, readonly string[]> = {
  symbol: ['symbol', 'instrument', 'ticker'],
  time: ['time', 'datetime', 'timestamp', 'ts'],
  date: ['date', 'day'],
  bid: ['bid'],
  ask: ['ask'],
  last: ['last', 'price', 'trade'],
  volume: ['volume', 'vol', 'size', 'qty', 'quantity', 'tickvolume', 'tickvol', 'realvolume'],
  open: ['open'],
  high: ['high'],
  low: ['low'],
  close: ['close'],
};

type Roles = Partial<Record<ColumnRole, number>>;

export const csvFormat: TailFormat = {
  name: 'csv',
  mode: 'tail',
  barBasis: 'auto',
  matchesName: (fileName) => ['.csv', '.txt', '.tsv'].includes(extname(fileName).toLowerCase()),
  sniff(head, options) {
    const layout = readLayout(head, options, (fields) => isHeader(fields, options));
    if (layout === undefined) return undefined;
    if (layout === null) return false;
    return options.columns !== undefined || resolveRoles(layout, options).time !== undefined;
  },
  symbolFor: symbolFromFileName,
  createDecoder: (context) => new CsvDecoder(context),
};

/** A first line is a header when none of its fields is a time. */
function isHeader(fields: readonly string[], options: FormatOptions): boolean {
  const times = new TimeReader(options);
  return !fields.some((field) => !Number.isNaN(times.read(field, undefined, false)));
}

/**
 * The column of each role: as the source maps them, by header names, or (no header) the
 * time in the first column holding one. Throws FormatError for a mapped name the header lacks.
 */
function resolveRoles(layout: TextLayout, options: FormatOptions): Roles {
  const roles: Roles = {};
  const { header } = layout;
  if (options.columns) {
    for (const [role, ref] of Object.entries(options.columns) as [ColumnRole, number | string][]) {
      const index = columnIndex(header, ref);
      if (index < 0)
        throw new FormatError(
          'FORMAT_MISSING_COLUMNS',
          `columns.${role} is ${JSON.stringify(ref)}, which the header (${header?.length ?? 0} columns) lacks`,
          0,
        );
      roles[role] = index;
    }
    return roles;
  }
  if (header) {
    header.forEach((name, index) => {
      const normalized = normalizeName(name);
      const role = COLUMN_ROLES.find((candidate) => ROLE_NAMES[candidate].includes(normalized));
      if (role !== undefined && roles[role] === undefined) roles[role] = index;
    });
    // A Date column and a Time column: the time of day is in the second.
    if (roles.time === undefined && roles.date !== undefined) [roles.time, roles.date] = [roles.date, undefined];
    return roles;
  }
  const times = new TimeReader(options);
  const index = layout.first.findIndex((field) => !Number.isNaN(times.read(field, undefined, false)));
  if (index >= 0) roles.time = index;
  return roles;
}

class CsvDecoder extends DelimitedDecoder {
  readonly #times: TimeReader;
  readonly #tick: TickRecord = { time: 0 };
  #roles: Roles = {};
  /** Columns that go to `fields`, with their names. */
  #extra: { index: number; name: string }[] = [];
  #bars = false;
  #timeframe: Timeframe | null = null;
  /** With `#timeframe` null, the bars' length when known (a 10-minute chart). */
  #lengthMs: number | undefined;
  /** The last row's symbol and time: a bar row repeating them rewrites that bar. */
  #lastSymbol = '';
  #lastTime = Number.NaN;

  constructor(context: DecoderContext) {
    super(context);
    this.#times = new TimeReader(this.options);
  }

  protected isHeader(fields: string[]): boolean {
    return isHeader(fields, this.options);
  }

  protected carried(): DecoderCarry {
    return { times: this.#times.checkpoint(), lastSymbol: this.#lastSymbol, lastTime: savedNumber(this.#lastTime) };
  }

  protected resumeCarried(saved: DecoderCarry): void {
    this.#times.resume(carriedPart(saved, 'times'));
    this.#lastSymbol = carriedString(saved, 'lastSymbol');
    this.#lastTime = carriedNumber(saved, 'lastTime', Number.NaN);
  }

  protected configure(layout: TextLayout): void {
    const roles = resolveRoles(layout, this.options);
    if (roles.time === undefined) throw new FormatError('FORMAT_MISSING_COLUMNS', 'no time column: name one with columns.time', 0);
    this.#roles = roles;
    const mapped = new Set(Object.values(roles));
    this.#extra = layout.first
      .map((_, index) => ({ index, name: (layout.header?.[index] ?? '') || String(index + 1) }))
      .filter((column) => !mapped.has(column.index));
    this.#bars = ['open', 'high', 'low', 'close'].every((role) => roles[role as ColumnRole] !== undefined);
  }

  protected override async prepare(file: RandomAccessFile): Promise<void> {
    if (!this.#bars) return;
    const decision = await this.timeframeOf(file);
    this.#timeframe = decision.timeframe;
    this.#lengthMs = decision.lengthMs ?? undefined;
  }

  protected override barTimeframe(): Timeframe | null {
    return this.#bars ? this.#timeframe : null;
  }

  protected timeOf(fields: string[]): number {
    return this.#time(fields, false);
  }

  #time(fields: string[], remember: boolean): number {
    const { time, date } = this.#roles;
    const text = fields[time as number] ?? '';
    return date === undefined ? this.#times.read(text, undefined, remember) : this.#times.read(fields[date] ?? '', text, remember);
  }

  protected row(fields: string[], text: string, offset: number, sink: RecordSink): void {
    const time = this.#time(fields, true);
    if (Number.isNaN(time)) {
      sink.problem(offset, badTime(text, this.options));
      return;
    }
    const roles = this.#roles;
    const symbol = roles.symbol === undefined ? this.symbol : (fields[roles.symbol] ?? '') || this.symbol;
    const volume = price(at(fields, roles.volume));
    if (this.#bars) {
      const bar: Bar = {
        t: time,
        o: Number(at(fields, roles.open)),
        h: Number(at(fields, roles.high)),
        l: Number(at(fields, roles.low)),
        c: Number(at(fields, roles.close)),
        v: volume ?? 0,
      };
      if (volume === null || ![bar.o, bar.h, bar.l, bar.c].every(Number.isFinite)) {
        sink.problem(offset, `a price or volume is not a number (line of ${text.length} characters); line skipped`);
        return;
      }
      const repeated = this.#lastSymbol === symbol && this.#lastTime === time;
      sink.bar(symbol, bar, this.#timeframe, this.#timeframe === null && repeated, this.#lengthMs);
    } else {
      const bid = price(at(fields, roles.bid));
      const ask = price(at(fields, roles.ask));
      const last = price(at(fields, roles.last));
      if (bid === null || ask === null || last === null || volume === null) {
        sink.problem(offset, `a price or volume is not a number (line of ${text.length} characters); line skipped`);
        return;
      }
      const tick = this.#tick;
      tick.time = time;
      tick.bid = bid;
      tick.ask = ask;
      tick.last = last;
      tick.size = last === undefined ? undefined : (volume ?? 0);
      sink.tick(symbol, tick);
    }
    this.#lastSymbol = symbol;
    this.#lastTime = time;
    if (this.#extra.length > 0) {
      const extra: JsonObject = {};
      for (const column of this.#extra) extra[column.name] = fieldValue(fields[column.index]);
      sink.fields(symbol, extra);
    }
  }
}

function at(fields: readonly string[], index: number | undefined): string | undefined {
  return index === undefined ? undefined : fields[index];
}
