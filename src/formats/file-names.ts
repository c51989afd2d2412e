import { basename, extname } from 'node:path';

/**
 * What the names people and terminals give bar and tick exports say besides the symbol
 * (docs/formats-real-exports.md): a date range (MetaTrader's `_202401020000_202406282359`),
 * export tokens (Sierra Chart's `.scid_BarData`, `-BarStudyData`) and a timeframe (`_M5`,
 * `_1H`, `_5m`, ` 5 Min`, `.DAILY`). They are stripped from the end of the name, in any order,
 * and the timeframe is kept as a hint of the bars' length.
 */

/** A timeframe a file name states: the token as written and the bar length, null for bars that are not of a time (ticks, trades). */
export interface NameTimeframe {
  token: string;
  lengthMs: number | null;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** `_YYYYMMDD[HHMM]_YYYYMMDD[HHMM]` (MetaTrader's export range, or dates people add), `_` or `-` between. */
const DATE_RANGE = /[-_.]\d{8}(?:\d{4})?[-_]\d{8}(?:\d{4})?$/;
/** Sierra Chart's export names: `SYMBOL.scid_BarData.txt`, `SYMBOL-BarStudyData.csv`, `SYMBOL.dly`. */
const EXPORT_TOKENS = [/[-_.](?:BarData|BarStudyData)$/i, /\.(?:scid|dly)$/i];
/** MetaTrader's timeframe names (ENUM_TIMEFRAMES). */
const MT5_TIMEFRAMES: Readonly<Record<string, number>> = {
  M1: MINUTE,
  M2: 2 * MINUTE,
  M3: 3 * MINUTE,
  M4: 4 * MINUTE,
  M5: 5 * MINUTE,
  M6: 6 * MINUTE,
  M10: 10 * MINUTE,
  M12: 12 * MINUTE,
  M15: 15 * MINUTE,
  M20: 20 * MINUTE,
  M30: 30 * MINUTE,
  H1: HOUR,
  H2: 2 * HOUR,
  H3: 3 * HOUR,
  H4: 4 * HOUR,
  H6: 6 * HOUR,
  H8: 8 * HOUR,
  H12: 12 * HOUR,
  D1: DAY,
  W1: 7 * DAY,
  MN1: 30 * DAY,
  MN: 30 * DAY,
};
/** Units after a count (`5m`, `1H`, `15min`, `4 hours`, `30s`, `1D`, `1W`); `m` is minutes, as charting programs write it. */
const UNITS: readonly [RegExp, number | null][] = [
  [/^(?:s|sec|secs|seconds?)$/i, SECOND],
  [/^(?:m|min|mins|minutes?)$/i, MINUTE],
  [/^(?:h|hr|hrs|hours?)$/i, HOUR],
  [/^(?:d|days?)$/i, DAY],
  [/^(?:w|wk|weeks?)$/i, 7 * DAY],
  [/^(?:mo|mon|months?)$/i, 30 * DAY],
  [/^(?:t|ticks?|trades?)$/i, null],
];
const WORDS: Readonly<Record<string, number>> = { hourly: HOUR, daily: DAY, weekly: 7 * DAY, monthly: 30 * DAY };
/** A last token after `_`, `-`, `.` or a space. */
const LAST_TOKEN = /[-_. ]([A-Za-z]{1,2}\d{1,2}|\d{1,4} ?[A-Za-z]{1,7}|[A-Za-z]{5,7})$/;

/** The bar length a token names, undefined when it is not a timeframe. */
function tokenLength(token: string): number | null | undefined {
  const mt5 = MT5_TIMEFRAMES[token.toUpperCase()];
  if (mt5 !== undefined) return mt5;
  const word = WORDS[token.toLowerCase()];
  if (word !== undefined) return word;
  const counted = /^(\d{1,4}) ?([A-Za-z]+)$/.exec(token);
  if (!counted) return undefined;
  const count = Number(counted[1]);
  const unit = UNITS.find(([pattern]) => pattern.test(counted[2] as string));
  if (!unit || count === 0) return undefined;
  return unit[1] === null ? null : count * unit[1];
}

/** The name without its extension, date range, export tokens and timeframe; the timeframe found. */
export function parseFileName(fileName: string): { symbol: string; timeframe: NameTimeframe | null } {
  let name = basename(fileName, extname(fileName));
  let timeframe: NameTimeframe | null = null;
  for (let changed = true; changed;) {
    changed = false;
    const strip = (pattern: RegExp): void => {
      const found = pattern.exec(name);
      // Never the whole name: `5m.txt` is a symbol of its own.
      if (found && found.index > 0) {
        name = name.slice(0, found.index);
        changed = true;
      }
    };
    strip(DATE_RANGE);
    for (const token of EXPORT_TOKENS) strip(token);
    const last = LAST_TOKEN.exec(name);
    const token = last?.[1];
    if (last && token !== undefined && last.index > 0 && timeframe === null) {
      const lengthMs = tokenLength(token);
      if (lengthMs !== undefined) {
        timeframe = { token, lengthMs };
        name = name.slice(0, last.index);
        changed = true;
      }
    }
  }
  return { symbol: name, timeframe };
}

/** The symbol a bar or tick export's name gives (parseFileName). */
export function symbolFromFileName(fileName: string): string {
  return parseFileName(fileName).symbol;
}
