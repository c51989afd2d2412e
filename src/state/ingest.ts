import type { BarBasis, RecordSink, TickRecord } from '../formats/types.js';
import type { TimeZone } from '../formats/zone.js';
import { Contribution, type WindowSizes } from './contribution.js';
import type { Bar, Book, JsonObject, PartialDocument, Timeframe } from './document.js';
import type { CommitTiming, Store } from './store.js';

export interface FileIngestOptions {
  /** Identifies the file's contributions (its path). */
  key: string;
  /** Format name, published in `sources`. */
  source: string;
  barBasis: BarBasis;
  windows: WindowSizes;
  /** Where D1 bars begin (UTC when not given). */
  sessionZone?: TimeZone;
  /** Maps the symbol a format reports to the one published. */
  mapSymbol?: (symbol: string) => string;
  onProblem: (offset: number, reason: string, line?: number) => void;
}

/**
 * The sink of one file's records. Each read is a cycle: `begin`, records, `finish`, which
 * commits every symbol the cycle touched, once. A fresh cycle (first read, or a re-read
 * after the file was rewritten) builds the file's contributions anew and swaps them in
 * only if it read something, so a file seen empty mid-rewrite keeps its last state.
 */
export class FileIngest implements RecordSink {
  readonly #store: Store;
  readonly #options: FileIngestOptions;
  readonly #mapSymbol: (symbol: string) => string;
  readonly #touched = new Set<string>();
  #staging: Map<string, Contribution> | null = null;
  #records = 0;
  #timing: CommitTiming | null = null;
  /** The last symbol mapped (undefined before the first: '' is a symbol a decoder may report). */
  #lastRaw: string | undefined;
  #lastMapped = '';

  constructor(store: Store, options: FileIngestOptions) {
    this.#store = store;
    this.#options = options;
    this.#mapSymbol = options.mapSymbol ?? ((symbol) => symbol);
  }

  /** `timing`: when the bytes this cycle reads were written and read (null: not timed). */
  begin(fresh: boolean, timing: CommitTiming | null = null): void {
    this.#staging = fresh ? new Map() : null;
    this.#timing = timing;
    this.#records = 0;
    this.#touched.clear();
  }

  tick(symbol: string, tick: TickRecord): void {
    this.#contribution(symbol).applyTick(tick);
  }

  bar(symbol: string, bar: Bar, timeframe: Timeframe | null, replacesLast = false, lengthMs?: number): void {
    this.#contribution(symbol).applyBar(bar, timeframe, replacesLast, lengthMs);
  }

  book(symbol: string, book: Book): void {
    this.#contribution(symbol).applyBook(book);
  }

  fields(symbol: string, fields: JsonObject): void {
    this.#contribution(symbol).applyFields(fields);
  }

  document(symbol: string, partial: PartialDocument, sourceTime: number): void {
    this.#contribution(symbol).applyDocument(partial, sourceTime);
  }

  problem(offset: number, reason: string, line?: number): void {
    this.#options.onProblem(offset, reason, line);
  }

  /** Commits what the cycle read; returns the number of records it applied. */
  finish(): number {
    const records = this.#records;
    if (this.#staging) {
      if (records > 0) {
        for (const symbol of this.#store.replaceContributions(this.#options.key, this.#staging)) this.#touched.add(symbol);
      }
      this.#staging = null;
    }
    for (const symbol of this.#touched) this.#store.commit(symbol, this.#timing);
    this.#touched.clear();
    return records;
  }

  #contribution(rawSymbol: string): Contribution {
    this.#records++;
    // Most files feed one symbol: skip the mapping for a repeat of the last one.
    if (rawSymbol !== this.#lastRaw) {
      this.#lastRaw = rawSymbol;
      this.#lastMapped = this.#mapSymbol(rawSymbol);
    }
    const symbol = this.#lastMapped;
    this.#touched.add(symbol);
    const staging = this.#staging;
    const existing = staging ? staging.get(symbol) : this.#store.contribution(symbol, this.#options.key);
    if (existing) return existing;
    const created = new Contribution(this.#options.source, this.#options.barBasis, this.#options.windows, this.#options.sessionZone);
    if (staging) staging.set(symbol, created);
    else this.#store.setContribution(symbol, this.#options.key, created);
    return created;
  }
}
