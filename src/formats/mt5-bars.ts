import { extname } from 'node:path';
import type { Bar, Timeframe } from '../model/document.js';
import { DelimitedDecoder, TimeReader, type TextLayout } from './delimited.js';
import { carriedNumber, carriedPart, savedNumber, type DecoderCarry } from './carry.js';
import { symbolFromFileName } from './file-names.js';
import { bracketedColumns, sniffBracketedHeader } from './mt5-ticks.js';
import { FormatError, type DecoderContext, type RandomAccessFile, type RecordSink, type TailFormat } from './types.js';

/**
 * MetaTrader 5 bar export from the Symbols window (FORMATS.md §4.1):
 * `<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>` (D1 exports may
 * lack `<TIME>`), named `SYMBOL_TF_YYYYMMDDHHMM_YYYYMMDDHHMM.csv`, in server time. Each row is
 * the bar of the named timeframe opening then, and replaces any bar held for that time.
 */

const BAR_COLUMNS = ['DATE', 'TIME', 'OPEN', 'HIGH', 'LOW', 'CLOSE', 'TICKVOL', 'VOL', 'SPREAD'] as const;

export const mt5BarsFormat: TailFormat = {
  name: 'mt5-bars',
  mode: 'tail',
  barBasis: 'auto',
  matchesName: (fileName) => ['.csv', '.txt'].includes(extname(fileName).toLowerCase()),
  sniff: (head, options) => sniffBracketedHeader(head, options, isBarHeader),
  symbolFor: symbolFromFileName,
  createDecoder: (context) => new Mt5BarDecoder(context),
};

function isBarHeader(header: string[]): boolean {
  const columns = bracketedColumns(header, BAR_COLUMNS);
  return columns.DATE >= 0 && columns.OPEN >= 0 && columns.HIGH >= 0 && columns.LOW >= 0 && columns.CLOSE >= 0;
}

class Mt5BarDecoder extends DelimitedDecoder {
  readonly #times: TimeReader;
  #columns: Record<(typeof BAR_COLUMNS)[number], number> | null = null;
  /** The timeframe of the bars; null when unknown (merged into the windows as finer bars). */
  #timeframe: Timeframe | null = null;
  /** With `#timeframe` null, the bars' length when known (an M10 export). */
  #lengthMs: number | undefined;
  #lastTime = Number.NaN;

  constructor(context: DecoderContext) {
    super(context);
    this.#times = new TimeReader(this.options);
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
    if (!isBarHeader(header)) {
      throw new FormatError('FORMAT_MISSING_COLUMNS', `header of ${header.length} columns lacks <DATE>, <OPEN>, <HIGH>, <LOW> and <CLOSE>`, 0);
    }
    this.#columns = bracketedColumns(header, BAR_COLUMNS);
  }

  protected override async prepare(file: RandomAccessFile): Promise<void> {
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
    const columns = this.#columns;
    if (!columns) return Number.NaN;
    const date = fields[columns.DATE] ?? '';
    return columns.TIME >= 0 ? this.#times.read(date, fields[columns.TIME] ?? '', remember) : this.#times.read(date, undefined, remember);
  }

  protected row(fields: string[], text: string, offset: number, sink: RecordSink): void {
    const columns = this.#columns;
    if (!columns) return;
    const time = this.#time(fields, true);
    if (Number.isNaN(time)) {
      sink.problem(offset, `no valid <DATE> <TIME> (line of ${text.length} characters); line skipped`);
      return;
    }
    const number = (index: number): number => (index >= 0 && fields[index] !== '' ? Number(fields[index]) : 0);
    const bar: Bar = { t: time, o: number(columns.OPEN), h: number(columns.HIGH), l: number(columns.LOW), c: number(columns.CLOSE), v: 0 };
    const tickVolume = number(columns.TICKVOL);
    const realVolume = number(columns.VOL);
    const spread = number(columns.SPREAD);
    if (![bar.o, bar.h, bar.l, bar.c, tickVolume, realVolume, spread].every(Number.isFinite)) {
      sink.problem(offset, `a price or volume is not a number (line of ${text.length} characters); line skipped`);
      return;
    }
    // Real volume for exchange instruments; the tick count otherwise (MetaTrader's convention).
    bar.v = realVolume > 0 ? realVolume : tickVolume;
    sink.bar(this.symbol, bar, this.#timeframe, this.#timeframe === null && time === this.#lastTime, this.#lengthMs);
    if (columns.SPREAD >= 0) sink.fields(this.symbol, { spread });
    this.#lastTime = time;
  }
}
