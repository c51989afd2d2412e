import type { CommitTiming, OpenReadCycleSink, ReadCycleFile, ReadCycleSink, TickRecord } from '../formats/types.js';
import type { TimeZone } from '../model/zone.js';
import { Contribution, type SavedContribution } from './contribution.js';
import type { Bar, Book, JsonObject, PartialDocument, Timeframe, WindowSizes } from '../model/document.js';
import type { Store } from './store.js';
import { symbolNameProblem } from '../model/symbol-name.js';

/** Refusals of one kind in one read: reported once, with the first one's place and a count. */
interface RefusalBurst {
  count: number;
  offset: number;
  /** How far from the bound the first refused time was (ms). */
  by: number;
}

/** How a source's files are ingested: the same for every file of the source. */
export interface SourceIngestOptions {
  windows: WindowSizes;
  /** Where D1 bars begin (UTC when not given). */
  sessionZone?: TimeZone;
  /** Maps the symbol a format reports to the one published. */
  mapSymbol?: (symbol: string) => string;
  /** What a checkpoint saved of a file's ingest (its contributions are restored in the store beforehand). */
  resumeFrom?: (key: string) => SavedIngest | undefined;
}

/** A file's ingest as a checkpoint holds it: what it contributes to each symbol, and the newest time it took. */
export interface SavedIngest {
  newest: number | null;
  contributions: { symbol: string; contribution: SavedContribution }[];
}

/**
 * Puts back what a checkpoint saved of each file (by key) into `store`, with the windows
 * configured now: all of them, or none when one does not fit (Contribution.restore throws
 * RangeError). The symbols commit at the store's release(), once the files present at start
 * were read.
 */
export function restoreIngests(store: Store, saved: ReadonlyMap<string, SavedIngest>, options: Pick<SourceIngestOptions, 'windows' | 'sessionZone'>): void {
  const restored = [...saved].flatMap(([key, ingest]) =>
    ingest.contributions.map(({ symbol, contribution }) => ({
      key,
      symbol,
      contribution: Contribution.restore(contribution, options.windows, options.sessionZone),
    })),
  );
  for (const { key, symbol, contribution } of restored) {
    store.setContribution(symbol, key, contribution);
    store.holdForRelease(symbol);
  }
}

export interface FileIngestOptions extends ReadCycleFile, SourceIngestOptions {}

/** Opens a FileIngest into `store` for each file of a source (the watcher's `openIngest`). */
export function ingestInto(store: Store, options: SourceIngestOptions): OpenReadCycleSink {
  return (file) => new FileIngest(store, { ...options, ...file });
}

/**
 * The sink of one file's records. Each read is a cycle: `begin`, records, `finish`, which
 * commits every symbol the cycle touched, once. A fresh cycle (first read, or a re-read
 * after the file was rewritten) builds the file's contributions anew and swaps them in
 * only if it read something, so a file seen empty mid-rewrite keeps its last state.
 */
export class FileIngest implements ReadCycleSink {
  readonly #store: Store;
  readonly #options: FileIngestOptions;
  readonly #mapSymbol: (symbol: string) => string;
  readonly #touched = new Set<string>();
  #staging: Map<string, Contribution> | null = null;
  /** Symbols the file feeds (as committed; a fresh cycle's are its staging's keys). */
  #symbols = new Set<string>();
  /** Symbols a fresh cycle staged that the store does not hold yet (they count against document.maxSymbols). */
  #stagedNew = 0;
  #records = 0;
  #timing: CommitTiming | null = null;
  /** The last symbol mapped (undefined before the first: '' is a symbol a decoder may report). */
  #lastRaw: string | undefined;
  #lastMapped = '';
  /** Why the last symbol mapped may not be published (null: it may). */
  #lastNameProblem: string | null = null;
  /** Where the current record starts (RecordSink.at), and whether one of its parts was refused. */
  #offset = 0;
  #recordRefused = false;
  /** Bounds of the times taken in this cycle (begin): later than `#latest` is ahead of the clock. */
  #latest = Number.POSITIVE_INFINITY;
  #earliest = Number.NEGATIVE_INFINITY;
  /** Newest time taken from the file since it was (re)read from its start. */
  #newest = Number.NEGATIVE_INFINITY;
  #future: RefusalBurst | null = null;
  #past: RefusalBurst | null = null;
  /** Refusals reported once per file (not once per symbol or per read). */
  #warnedSymbolCap = false;
  #warnedName = false;

  constructor(store: Store, options: FileIngestOptions) {
    this.#store = store;
    this.#options = options;
    this.#mapSymbol = options.mapSymbol ?? ((symbol) => symbol);
    const saved = options.resumeFrom?.(options.key);
    if (saved) {
      this.#newest = saved.newest ?? Number.NEGATIVE_INFINITY;
      this.#symbols = new Set(saved.contributions.map(({ symbol }) => symbol));
    }
  }

  /** What a checkpoint saves of this file's ingest, between read cycles. */
  checkpoint(): SavedIngest {
    const contributions: SavedIngest['contributions'] = [];
    for (const symbol of this.#symbols) {
      const contribution = this.#store.contribution(symbol, this.#options.key);
      if (contribution) contributions.push({ symbol, contribution: contribution.checkpoint() });
    }
    return { newest: Number.isFinite(this.#newest) ? this.#newest : null, contributions };
  }

  /**
   * `timing`: when the bytes this cycle reads were written and read (null: not timed). A cycle
   * after the file's first (not fresh) is a live tail: a record far older than the newest the
   * file gave is refused there, while the history a first read finds may be as old as it is.
   */
  begin(fresh: boolean, timing: CommitTiming | null = null): void {
    this.#staging = fresh ? new Map() : null;
    this.#stagedNew = 0;
    this.#timing = timing;
    this.#records = 0;
    this.#touched.clear();
    if (fresh) this.#newest = Number.NEGATIVE_INFINITY;
    const limits = this.#store.guard.limits;
    this.#latest = Date.now() + limits.maxFutureMs;
    this.#earliest = fresh || this.#newest === Number.NEGATIVE_INFINITY ? Number.NEGATIVE_INFINITY : this.#newest - limits.maxPastMs;
    this.#future = null;
    this.#past = null;
    this.#offset = 0;
    this.#recordRefused = false;
  }

  at(offset: number): void {
    this.#offset = offset;
    this.#recordRefused = false;
  }

  tick(symbol: string, tick: TickRecord): void {
    if (this.#timely(tick.time)) this.#contribution(symbol)?.applyTick(tick);
  }

  bar(symbol: string, bar: Bar, timeframe: Timeframe | null, replacesLast = false, lengthMs?: number): void {
    if (this.#timely(bar.t)) this.#contribution(symbol)?.applyBar(bar, timeframe, replacesLast, lengthMs);
  }

  book(symbol: string, book: Book): void {
    if (book.time === undefined || this.#timely(book.time)) this.#contribution(symbol)?.applyBook(book);
  }

  fields(symbol: string, fields: JsonObject): void {
    // Fields come with a record's time: a record refused for its time brings none.
    if (!this.#recordRefused) this.#contribution(symbol)?.applyFields(fields);
  }

  document(symbol: string, partial: PartialDocument, sourceTime: number): void {
    if (this.#timely(newestTimeOf(partial, sourceTime))) this.#contribution(symbol)?.applyDocument(partial, sourceTime);
  }

  problem(offset: number, reason: string, line?: number): void {
    this.#options.onProblem(offset, reason, line);
  }

  /** Commits what the cycle read; returns the number of records it applied. */
  finish(): number {
    this.#reportTimes();
    const records = this.#records;
    if (this.#staging) {
      if (records > 0) {
        for (const symbol of this.#store.replaceContributions(this.#options.key, this.#staging)) this.#touched.add(symbol);
        this.#symbols = new Set(this.#staging.keys());
      }
      this.#staging = null;
    }
    for (const symbol of this.#touched) this.#store.commit(symbol, this.#timing);
    this.#touched.clear();
    return records;
  }

  /** Ends a cycle without committing it (its decoder failed as a whole): the published state stays. */
  abandon(): void {
    this.#staging = null;
    this.#touched.clear();
  }

  /** Whether a record of time `time` may be taken; refusals are counted and reported at finish. */
  #timely(time: number): boolean {
    if (time > this.#latest) {
      this.#future = this.#refusal(this.#future, time - this.#latest, 'future');
      return false;
    }
    if (time < this.#earliest) {
      this.#past = this.#refusal(this.#past, this.#earliest - time, 'past');
      return false;
    }
    if (time > this.#newest) this.#newest = time;
    return true;
  }

  #refusal(burst: RefusalBurst | null, by: number, reason: 'future' | 'past'): RefusalBurst {
    this.#recordRefused = true;
    this.#store.guard.refuse(reason);
    if (burst) {
      burst.count++;
      return burst;
    }
    return { count: 1, offset: this.#offset, by };
  }

  /** Content the state's bounds refused: told apart from a bad record (logged as `data_refused`). */
  #refused(offset: number, reason: string): void {
    this.#options.onProblem(offset, reason, undefined, 'refused');
  }

  #reportTimes(): void {
    const limits = this.#store.guard.limits;
    if (this.#future) {
      const { count, offset, by } = this.#future;
      this.#refused(
        offset,
        `${count} record(s) stamped more than ${duration(limits.maxFutureMs)} ahead of the clock refused (watch.maxFutureMs), the first here, ${duration(by + limits.maxFutureMs)} ahead; check the source's timeZone if the gap is whole hours`,
      );
    }
    if (this.#past) {
      const { count, offset, by } = this.#past;
      this.#refused(
        offset,
        `${count} record(s) appended more than ${duration(limits.maxPastMs)} older than the newest this file gave refused (watch.maxPastMs), the first here, ${duration(by + limits.maxPastMs)} older`,
      );
    }
  }

  /** The contribution the record goes to, or null when its symbol is refused (name or caps). */
  #contribution(rawSymbol: string): Contribution | null {
    // Most files feed one symbol: skip the mapping for a repeat of the last one.
    if (rawSymbol !== this.#lastRaw) {
      this.#lastRaw = rawSymbol;
      this.#lastMapped = this.#mapSymbol(rawSymbol);
      this.#lastNameProblem = symbolNameProblem(this.#lastMapped);
    }
    if (this.#lastNameProblem !== null) {
      this.#refuseName(this.#lastNameProblem);
      return null;
    }
    const symbol = this.#lastMapped;
    const staging = this.#staging;
    const existing = staging ? staging.get(symbol) : this.#store.contribution(symbol, this.#options.key);
    if (existing) return this.#taken(symbol, existing);
    if (!this.#roomFor(symbol)) return null;
    const created = new Contribution(this.#options.source, this.#options.barBasis, this.#options.windows, this.#options.sessionZone);
    if (staging) {
      staging.set(symbol, created);
      if (!this.#store.has(symbol)) this.#stagedNew++;
    } else {
      this.#store.setContribution(symbol, this.#options.key, created);
      this.#symbols.add(symbol);
    }
    return this.#taken(symbol, created);
  }

  #taken(symbol: string, contribution: Contribution): Contribution {
    this.#records++;
    this.#touched.add(symbol);
    return contribution;
  }

  /** Whether the file may feed one more symbol (document.maxSymbolsPerFile, document.maxSymbols). */
  #roomFor(symbol: string): boolean {
    const limits = this.#store.guard.limits;
    const fileSymbols = this.#staging ? this.#staging.size : this.#symbols.size;
    if (fileSymbols >= limits.maxSymbolsPerFile) {
      this.#refuseSymbol('symbolsPerFile', `the file feeds more than document.maxSymbolsPerFile (${limits.maxSymbolsPerFile}) symbols; the others are refused`);
      return false;
    }
    if (!this.#store.has(symbol) && this.#store.symbolCount + this.#stagedNew >= limits.maxSymbols) {
      this.#refuseSymbol('symbols', `the bridge holds document.maxSymbols (${limits.maxSymbols}) symbols; this file's new ones are refused`);
      return false;
    }
    return true;
  }

  #refuseSymbol(reason: 'symbolsPerFile' | 'symbols', message: string): void {
    this.#store.guard.refuse(reason);
    if (this.#warnedSymbolCap) return;
    this.#warnedSymbolCap = true;
    this.#refused(this.#offset, message);
  }

  #refuseName(problem: string): void {
    this.#store.guard.refuse('symbolName');
    if (this.#warnedName) return;
    this.#warnedName = true;
    this.#refused(this.#offset, `symbol name refused (${problem}); its records are skipped, and further refused names in this file are only counted`);
  }
}

/** The newest time a whole-file source's content for a symbol carries. */
function newestTimeOf(partial: PartialDocument, sourceTime: number): number {
  let newest = sourceTime;
  if (partial.quote?.time !== undefined && partial.quote.time > newest) newest = partial.quote.time;
  if (partial.book?.time !== undefined && partial.book.time > newest) newest = partial.book.time;
  // A key may hold undefined (optional properties are not exact), which Object.values does not type.
  for (const bars of Object.values<readonly Bar[] | undefined>(partial.bars ?? {})) {
    const last = bars?.[bars.length - 1];
    if (last && last.t > newest) newest = last.t;
  }
  return newest;
}

function duration(ms: number): string {
  if (ms >= 3_600_000) return `${Math.round(ms / 360_000) / 10} h`;
  if (ms >= 60_000) return `${Math.round(ms / 6_000) / 10} min`;
  return `${Math.round(ms / 100) / 10} s`;
}
