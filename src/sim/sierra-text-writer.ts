import { appendFile, writeFile } from 'node:fs/promises';

/**
 * Sierra Chart's text exports (FORMATS.md §3), as each writer prints them:
 * - `export`: "Export Bar Data to Text File" (`YYYY/M/D, HH:MM:SS[.mmm]`, `Last`);
 * - `study2020`: the 2020 "Write Bar Data To File" study (`YYYY/MM/DD`, `Close`, unpadded ms);
 * - `study2025`: "Write Bar (and Study) Data To File" (`YYYY-M-D, HH:MM:SS.ffffff`, averages,
 *   then study columns);
 * - `dly`: a daily data file (`YYYY/MM/DD,Open,...,OpenInterest`).
 */
export type SierraTextVariant = 'export' | 'study2020' | 'study2025' | 'dly';

export interface SierraBar {
  /** Open time, epoch ms. */
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
  n: number;
  bv: number;
  av: number;
  openInterest?: number;
  /** Study subgraph values, in column order. */
  studies?: number[];
}

export interface SierraTextOptions {
  /** Decimals of prices. */
  digits?: number;
  /** Tab instead of `, ` (study2025's UseTabDelimiter). */
  tab?: boolean;
  /** Study subgraph names (study2025); names may repeat. */
  studyNames?: string[];
  /** The chart's wall-clock time of a UTC instant (identity: the chart is in UTC). */
  toWall?: (utcMs: number) => number;
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

export function sierraTextHeader(variant: SierraTextVariant, options: SierraTextOptions = {}): string {
  const fields =
    variant === 'export'
      ? ['Date', 'Time', 'Open', 'High', 'Low', 'Last', 'Volume', 'NumberOfTrades', 'BidVolume', 'AskVolume']
      : variant === 'study2020'
        ? ['Date', 'Time', 'Open', 'High', 'Low', 'Close', 'Volume', 'NumberOfTrades', 'BidVolume', 'AskVolume']
        : variant === 'study2025'
          ? [
              'Date',
              'Time',
              'Open',
              'High',
              'Low',
              'Last',
              'Volume',
              '# of Trades',
              'OHLC Avg',
              'HLC Avg',
              'HL Avg',
              'Bid Volume',
              'Ask Volume',
              ...(options.studyNames ?? []),
            ]
          : ['Date', 'Open', 'High', 'Low', 'Close', 'Volume', 'OpenInterest'];
  return fields.join(delimiterOf(variant, options));
}

function delimiterOf(variant: SierraTextVariant, options: SierraTextOptions): string {
  if (variant === 'dly') return ',';
  return variant === 'study2025' && options.tab ? '\t' : ', ';
}

export function sierraTextRow(bar: SierraBar, variant: SierraTextVariant, options: SierraTextOptions = {}): string {
  const digits = options.digits ?? 2;
  const wall = new Date((options.toWall ?? ((t: number) => t))(bar.t));
  const y = wall.getUTCFullYear();
  const m = wall.getUTCMonth() + 1;
  const d = wall.getUTCDate();
  const hms = `${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}`;
  const ms = wall.getUTCMilliseconds();
  const price = (value: number): string => value.toFixed(digits);
  const ohlc = [price(bar.o), price(bar.h), price(bar.l), price(bar.c)];
  const fields =
    variant === 'export'
      ? [`${y}/${m}/${d}`, ms > 0 ? `${hms}.${pad(ms, 3)}` : hms, ...ohlc, bar.v, bar.n, bar.bv, bar.av]
      : variant === 'study2020'
        ? [`${y}/${pad(m)}/${pad(d)}`, ms > 0 ? `${hms}.${ms}` : hms, ...ohlc, bar.v, bar.n, bar.bv, bar.av]
        : variant === 'study2025'
          ? [
              `${y}-${m}-${d}`,
              `${hms}.${pad(ms * 1000, 6)}`,
              ...ohlc,
              bar.v,
              bar.n,
              price((bar.o + bar.h + bar.l + bar.c) / 4),
              price((bar.h + bar.l + bar.c) / 3),
              price((bar.h + bar.l) / 2),
              bar.bv,
              bar.av,
              ...(bar.studies ?? []),
            ]
          : [`${y}/${pad(m)}/${pad(d)}`, ...ohlc, bar.v, bar.openInterest ?? 0];
  return fields.join(delimiterOf(variant, options));
}

/** The whole file: header and rows, CRLF after each line. */
export function sierraTextFile(bars: readonly SierraBar[], variant: SierraTextVariant, options: SierraTextOptions = {}): string {
  return [sierraTextHeader(variant, options), ...bars.map((bar) => sierraTextRow(bar, variant, options))].map((line) => `${line}\r\n`).join('');
}

/**
 * Writes a Sierra text export as the study does: a full recalculation truncates the file
 * and writes header and every closed bar; live updates append rows.
 */
export class SierraTextWriter {
  constructor(
    readonly path: string,
    private readonly variant: SierraTextVariant,
    private readonly options: SierraTextOptions = {},
  ) {}

  /** Creates or rewrites the whole file (a chart recalculation). */
  async rewrite(bars: readonly SierraBar[]): Promise<void> {
    await writeFile(this.path, sierraTextFile(bars, this.variant, this.options));
  }

  async append(bars: readonly SierraBar[]): Promise<void> {
    await appendFile(this.path, bars.map((bar) => `${sierraTextRow(bar, this.variant, this.options)}\r\n`).join(''));
  }
}
