import { basename, extname } from 'node:path';
import { carriedOptional, carriedPart, savedNumber, type DecoderCarry } from './carry.js';
import { DelimitedDecoder, price, readLayout, TimeReader, type TextLayout } from './delimited.js';
import { FormatError, type DecoderContext, type FormatOptions, type RecordSink, type TailFormat, type TickRecord } from './types.js';

/**
 * MetaTrader 5 tick export from the Symbols window (FORMATS.md §4.1):
 * `<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>`, CRLF, in the broker's server
 * time (the source's `timeZone`). A field that did not change may be empty (or 0): the
 * previous bid and ask carry over.
 */

/** MqlTick flags that mark a trade. */
const TICK_FLAG_LAST = 8;
const TICK_FLAG_BUY = 32;
const TICK_FLAG_SELL = 64;
const TRADE_FLAGS = TICK_FLAG_LAST | TICK_FLAG_BUY | TICK_FLAG_SELL;

/** `_YYYYMMDDHHMM_YYYYMMDDHHMM` that the terminal appends to the symbol in export names. */
const EXPORT_RANGE_SUFFIX = /_\d{12}_\d{12}$/;

export const mt5TicksFormat: TailFormat = {
  name: 'mt5-ticks',
  mode: 'tail',
  barBasis: 'auto',
  matchesName: (fileName) => ['.csv', '.txt'].includes(extname(fileName).toLowerCase()),
  sniff: (head, options) => sniffBracketedHeader(head, options, isTickHeader),
  symbolFor: (fileName) => basename(fileName, extname(fileName)).replace(EXPORT_RANGE_SUFFIX, ''),
  createDecoder: (context) => new Mt5TickDecoder(context),
};

/** Column positions by MetaTrader's bracketed header names (`<DATE>` is `DATE`); -1 when absent. */
export function bracketedColumns<Name extends string>(header: readonly string[], names: readonly Name[]): Record<Name, number> {
  const upper = header.map((name) => name.trim().toUpperCase());
  return Object.fromEntries(names.map((name) => [name, upper.indexOf(`<${name}>`)])) as Record<Name, number>;
}

/** Sniffs a head for a terminal export whose header `accepts` says is its kind. */
export function sniffBracketedHeader(head: Buffer, options: FormatOptions, accepts: (header: string[]) => boolean): boolean | undefined {
  const layout = readLayout(head, options, () => true);
  if (layout === undefined) return undefined;
  return layout !== null && accepts(layout.first);
}

const TICK_COLUMNS = ['DATE', 'TIME', 'BID', 'ASK', 'LAST', 'VOLUME', 'FLAGS'] as const;

function isTickHeader(header: string[]): boolean {
  const columns = bracketedColumns(header, TICK_COLUMNS);
  return columns.DATE >= 0 && columns.TIME >= 0 && (columns.BID >= 0 || columns.LAST >= 0);
}

class Mt5TickDecoder extends DelimitedDecoder {
  readonly #tick: TickRecord = { time: 0 };
  readonly #times: TimeReader;
  #columns: Record<(typeof TICK_COLUMNS)[number], number> | null = null;
  #bid: number | undefined;
  #ask: number | undefined;

  constructor(context: DecoderContext) {
    super(context);
    this.#times = new TimeReader(this.options);
  }

  protected isHeader(): boolean {
    return true;
  }

  protected carried(): DecoderCarry {
    return { times: this.#times.checkpoint(), bid: savedNumber(this.#bid), ask: savedNumber(this.#ask) };
  }

  protected resumeCarried(saved: DecoderCarry): void {
    this.#times.resume(carriedPart(saved, 'times'));
    this.#bid = carriedOptional(saved, 'bid');
    this.#ask = carriedOptional(saved, 'ask');
  }

  protected configure(layout: TextLayout): void {
    const header = layout.header ?? layout.first;
    if (!isTickHeader(header)) {
      throw new FormatError('FORMAT_MISSING_COLUMNS', `header of ${header.length} columns lacks <DATE>, <TIME> and <BID> or <LAST>`, 0);
    }
    this.#columns = bracketedColumns(header, TICK_COLUMNS);
  }

  protected timeOf(fields: string[]): number {
    return this.#time(fields, false);
  }

  #time(fields: string[], remember: boolean): number {
    const columns = this.#columns;
    if (!columns) return Number.NaN;
    return this.#times.read(fields[columns.DATE] ?? '', fields[columns.TIME] ?? '', remember);
  }

  protected row(fields: string[], text: string, offset: number, sink: RecordSink): void {
    const columns = this.#columns;
    if (!columns) return;
    const time = this.#time(fields, true);
    if (Number.isNaN(time)) {
      sink.problem(offset, `no valid <DATE> <TIME> (line of ${text.length} characters); line skipped`);
      return;
    }
    const bid = price(fields[columns.BID]);
    const ask = price(fields[columns.ASK]);
    const last = price(fields[columns.LAST]);
    const volume = price(fields[columns.VOLUME]);
    const flags = flagsField(columns.FLAGS >= 0 ? fields[columns.FLAGS] : undefined);
    if (bid === null || ask === null || last === null || volume === null) {
      sink.problem(offset, `a price or volume is not a number (line of ${text.length} characters); line skipped`);
      return;
    }
    if (bid !== undefined) this.#bid = bid;
    if (ask !== undefined) this.#ask = ask;
    const trade = last !== undefined && (Number.isNaN(flags) || (flags & TRADE_FLAGS) !== 0);
    const tick = this.#tick;
    tick.time = time;
    tick.bid = this.#bid;
    tick.ask = this.#ask;
    tick.last = trade ? last : undefined;
    tick.size = trade ? volume : undefined;
    sink.tick(this.symbol, tick);
  }
}

/**
 * The FLAGS bitmask, or NaN when it gives no answer (no column, empty or not a number):
 * `Number('')` is 0, which would read an empty field as "not a trade".
 */
function flagsField(field: string | undefined): number {
  const trimmed = field?.trim() ?? '';
  return trimmed === '' ? Number.NaN : Number(trimmed);
}
