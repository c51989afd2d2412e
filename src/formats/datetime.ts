/**
 * Dates and times as text exports print them: `2025.01.02` (MetaTrader), `2011/1/2` and
 * `2026-5-7` (Sierra Chart); `00:00:00`, `00:00`, `00:08:35.782` and `00:00:04.000000`.
 * Parsed by hand: these run once per line of files with millions of lines.
 */

/** The order of a date's parts: year first (every export's default), or day or month first. */
export type DateOrder = 'ymd' | 'dmy' | 'mdy';

/** Epoch ms of midnight UTC of a `Y.M.D`, `Y/M/D` or `Y-M-D` date (or `D/M/Y`, `M/D/Y` by `order`), or NaN. */
export function parseDate(text: string, order: DateOrder = 'ymd'): number {
  const s = text.trim();
  const sep1 = firstSeparator(s, 0);
  if (sep1 < 0) return Number.NaN;
  const sep2 = firstSeparator(s, sep1 + 1);
  if (sep2 < 0) return Number.NaN;
  const a = digits(s, 0, sep1);
  const b = digits(s, sep1 + 1, sep2);
  const c = digits(s, sep2 + 1, s.length);
  const [year, month, day] = order === 'ymd' ? [a, b, c] : order === 'dmy' ? [c, b, a] : [c, a, b];
  if (year < 1900 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31) return Number.NaN;
  const ms = Date.UTC(year, month - 1, day);
  // Date.UTC rolls 2025-02-31 over to March: reject dates that do not exist.
  return new Date(ms).getUTCDate() === day ? ms : Number.NaN;
}

/**
 * A date and a time in one field, `2024.01.02 10:31:05` or `2024-01-02T10:31:05.123`, as the
 * epoch ms that wall time would be in UTC, or NaN. A date alone is its midnight.
 */
export function parseDateTime(text: string, order: DateOrder = 'ymd', unpaddedMillis = false): number {
  const s = text.trim();
  let split = s.indexOf(' ');
  if (split < 0) split = s.indexOf('T');
  if (split < 0) return parseDate(s, order);
  return parseDate(s.slice(0, split), order) + parseTimeOfDay(s.slice(split + 1), unpaddedMillis);
}

/**
 * Milliseconds since midnight of `HH:MM`, `HH:MM:SS` or `HH:MM:SS.f...`, or NaN. The
 * fraction is read as a decimal fraction of a second (`.5` is 500 ms), except where
 * `unpaddedMillis` says it is a count of milliseconds printed without zero padding
 * (Sierra Chart's 2020 study writes 5 ms as `.5`).
 */
export function parseTimeOfDay(text: string, unpaddedMillis = false): number {
  const s = text.trim();
  const c1 = s.indexOf(':');
  if (c1 < 1) return Number.NaN;
  const c2 = s.indexOf(':', c1 + 1);
  const hours = digits(s, 0, c1);
  let minutes: number;
  let seconds = 0;
  let fraction = 0;
  if (c2 < 0) {
    minutes = digits(s, c1 + 1, s.length);
  } else {
    minutes = digits(s, c1 + 1, c2);
    const dot = s.indexOf('.', c2 + 1);
    seconds = digits(s, c2 + 1, dot < 0 ? s.length : dot);
    if (dot >= 0) {
      const fractionDigits = s.length - dot - 1;
      const value = digits(s, dot + 1, s.length);
      if (fractionDigits < 1 || fractionDigits > 9) return Number.NaN;
      fraction = unpaddedMillis ? value : (value / 10 ** fractionDigits) * 1000;
      if (fraction >= 1000) return Number.NaN;
    }
  }
  if (hours > 23 || minutes > 59 || seconds > 60 || Number.isNaN(hours + minutes + seconds + fraction)) return Number.NaN;
  return ((hours * 60 + minutes) * 60 + seconds) * 1000 + fraction;
}

function firstSeparator(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e || c === 0x2f || c === 0x2d) return i; // . / -
  }
  return -1;
}

/** The non-negative integer in s[from, to), or NaN when it is empty or not all digits. */
function digits(s: string, from: number, to: number): number {
  if (to <= from) return Number.NaN;
  let value = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    value = value * 10 + d;
  }
  return value;
}
