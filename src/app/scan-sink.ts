import type { RecordSink, TickRecord } from '../formats/types.js';
import type { Bar, Book, PartialDocument, Timeframe } from '../model/document.js';
import { symbolNameProblem } from '../model/symbol-name.js';
import type { TimeZone } from '../model/zone.js';

/**
 * The sink `tapebridge scan` reads a file into: it keeps no records, only their counts, times
 * and symbols (after the source's mapping and the name rules the ingest applies), the problems
 * the decoder reported, and what the time-zone checks look at.
 */

/** Problems listed one by one per file; the rest are counted. */
const PROBLEMS_LISTED = 5;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** A gap this long between two records of a file is a weekend: the record after it opens a week. */
const WEEKEND_GAP_MS = 36 * HOUR_MS;
/**
 * When, in UTC, every market with a weekend opens its week: from New Zealand's FX open on
 * Sunday evening to the US cash open on Monday afternoon (ms after Sunday 00:00 UTC).
 */
const WEEK_OPENS_FROM = 20 * HOUR_MS;
const WEEK_OPENS_UNTIL = DAY_MS + 16 * HOUR_MS;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
/** Gaps shorter than this are intraday: only a file whose gaps mostly are has weekends to tell (not daily or monthly rows). */
const INTRADAY_GAP_MS = 6 * HOUR_MS;
const INTRADAY_SHARE = 0.9;

/** Counts what a decoder reports, with the symbol mapping and the clock bound the bridge's ingest applies. */
export class ScanSink implements RecordSink {
  readonly counts = { ticks: 0, bars: 0, books: 0, documents: 0, skipped: 0 };
  readonly symbols = new Set<string>();
  readonly timeframes = new Set<Timeframe>();
  lengthMs: number | null = null;
  first = Number.POSITIVE_INFINITY;
  last = Number.NEGATIVE_INFINITY;
  readonly problems: string[] = [];
  readonly future = { count: 0, most: 0 };
  readonly refusedNames: string[] = [];
  /** The D1 bars' open times (the first 10 000). */
  readonly #dailyOpens: number[] = [];
  /** Records that follow a weekend's gap (in file order), as ms after their week's Sunday 00:00 UTC. */
  readonly #weekOpens: number[] = [];
  #previous: number | null = null;
  #gaps = 0;
  #intradayGaps = 0;
  readonly #mapSymbol: (symbol: string) => string;
  readonly #latest: number;
  readonly #maxSymbols: number;
  readonly #mapped = new Map<string, string | null>();

  constructor(mapSymbol: (symbol: string) => string, latest: number, maxSymbols: number) {
    this.#mapSymbol = mapSymbol;
    this.#latest = latest;
    this.#maxSymbols = maxSymbols;
  }

  tick(symbol: string, tick: TickRecord): void {
    this.counts.ticks++;
    this.#record(symbol, tick.time);
    this.#sequence(tick.time);
  }

  bar(symbol: string, bar: Bar, timeframe: Timeframe | null, replacesLast = false, lengthMs?: number): void {
    // A rewritten forming bar is the same bar again.
    if (!replacesLast) this.counts.bars++;
    if (timeframe !== null) this.timeframes.add(timeframe);
    else if (lengthMs !== undefined) this.lengthMs = lengthMs;
    if (timeframe === 'D1' && this.#dailyOpens.length < 10_000) this.#dailyOpens.push(bar.t);
    this.#record(symbol, bar.t);
    if (timeframe !== 'D1') this.#sequence(bar.t);
  }

  book(symbol: string, book: Book): void {
    this.counts.books++;
    this.#record(symbol, book.time);
  }

  fields(symbol: string): void {
    this.#symbol(symbol);
  }

  document(symbol: string, partial: PartialDocument, sourceTime: number): void {
    this.counts.documents++;
    this.#record(symbol, sourceTime);
    if (partial.quote?.time !== undefined) this.#record(symbol, partial.quote.time);
    if (partial.book?.time !== undefined) this.#record(symbol, partial.book.time);
    for (const [timeframe, bars] of Object.entries<readonly Bar[] | undefined>(partial.bars ?? {})) {
      if (!bars || bars.length === 0) continue;
      this.timeframes.add(timeframe as Timeframe);
      this.counts.bars += bars.length;
      this.#record(symbol, (bars[0] as Bar).t);
      this.#record(symbol, (bars[bars.length - 1] as Bar).t);
    }
  }

  problem(offset: number, reason: string, line?: number): void {
    this.counts.skipped++;
    if (this.problems.length < PROBLEMS_LISTED) this.problems.push(`skipped at ${line === undefined ? `byte ${offset}` : `line ${line}`}: ${reason}`);
  }

  /** The most common D1 open time of day in `zone` when it is not midnight (HH:MM), null when it is or there are none. */
  dailyOpens(zone: TimeZone): string | null {
    const byMinute = new Map<number, number>();
    for (const t of this.#dailyOpens) {
      const minute = Math.round(((((t + zone.offsetAt(t)) % DAY_MS) + DAY_MS) % DAY_MS) / 60_000);
      byMinute.set(minute, (byMinute.get(minute) ?? 0) + 1);
    }
    let common: [number, number] | null = null;
    for (const entry of byMinute) if (!common || entry[1] > common[1]) common = entry;
    if (!common || common[0] === 0) return null;
    return `${String(Math.floor(common[0] / 60)).padStart(2, '0')}:${String(common[0] % 60).padStart(2, '0')}`;
  }

  /** `Mon 01:00 UTC (3 of 4 weekly opens)` when most weeks open outside the hours markets open them; null otherwise. */
  oddWeekOpen(): string | null {
    if (this.#intradayGaps < this.#gaps * INTRADAY_SHARE) return null;
    const odd = this.#weekOpens.filter((at) => at < WEEK_OPENS_FROM || at > WEEK_OPENS_UNTIL);
    if (odd.length === 0 || odd.length * 2 < this.#weekOpens.length) return null;
    const at = odd[0] as number;
    const minutes = Math.floor((at % DAY_MS) / 60_000);
    const when = `${WEEKDAYS[Math.floor(at / DAY_MS)]} ${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')} UTC`;
    return `the week opens at ${when} (${odd.length} of ${this.#weekOpens.length} weekly opens)`;
  }

  /** Follows the records' times in file order, for the weeks' opens. */
  #sequence(time: number): void {
    if (!Number.isFinite(time)) return;
    const gap = this.#previous === null ? 0 : time - this.#previous;
    if (gap > 0) {
      this.#gaps++;
      if (gap < INTRADAY_GAP_MS) this.#intradayGaps++;
    }
    if (gap >= WEEKEND_GAP_MS && this.#weekOpens.length < 10_000) {
      // 1970-01-04 was a Sunday.
      const sinceSunday = (((time - 3 * DAY_MS) % (7 * DAY_MS)) + 7 * DAY_MS) % (7 * DAY_MS);
      this.#weekOpens.push(sinceSunday);
    }
    this.#previous = time;
  }

  #record(symbol: string, time: number | undefined): void {
    this.#symbol(symbol);
    if (time === undefined || !Number.isFinite(time)) return;
    if (time < this.first) this.first = time;
    if (time > this.last) this.last = time;
    if (time > this.#latest) {
      this.future.count++;
      if (time > this.future.most) this.future.most = time;
    }
  }

  #symbol(raw: string): void {
    if (this.#mapped.has(raw)) return;
    const mapped = this.#mapSymbol(raw);
    const problem = symbolNameProblem(mapped);
    if (problem !== null) {
      this.#mapped.set(raw, null);
      if (this.refusedNames.length === 0) this.refusedNames.push(`symbol name refused (${problem}): the bridge skips its records`);
      return;
    }
    if (this.symbols.size >= this.#maxSymbols && !this.symbols.has(mapped)) {
      this.#mapped.set(raw, null);
      if (!this.refusedNames.some((text) => text.startsWith('more than'))) {
        this.refusedNames.push(`more than ${this.#maxSymbols} symbols in one file (document.maxSymbolsPerFile): the bridge skips the others`);
      }
      return;
    }
    this.#mapped.set(raw, mapped);
    this.symbols.add(mapped);
  }
}

/** `YYYY-MM-DD HH:MM:SS[.mmm]` of `utcMs` on the clock of `zone`, with its offset. */
export function localTime(utcMs: number, zone: TimeZone): string {
  const offset = zone.offsetAt(utcMs);
  const wall = new Date(utcMs + offset)
    .toISOString()
    .replace('T', ' ')
    .replace('Z', '')
    .replace(/\.000$/, '');
  const sign = offset < 0 ? '-' : '+';
  const minutes = Math.abs(offset) / 60_000;
  return `${wall} ${sign}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

export function duration(ms: number): string {
  if (ms >= 3_600_000) return `${Math.round(ms / 360_000) / 10} h`;
  if (ms >= 60_000) return `${Math.round(ms / 6_000) / 10} min`;
  return `${Math.round(ms / 100) / 10} s`;
}
