import type { ComponentHealth } from '../core/health.js';
import { Tally } from '../core/tally.js';

/** What one file's content may do to the state (config `document.*`, `watch.maxFutureMs`, `watch.maxPastMs`). */
export interface DataLimits {
  /** Symbols one file may feed; the rest of its symbols are refused. */
  maxSymbolsPerFile: number;
  /** Symbols the bridge holds; a file's new symbols beyond are refused. */
  maxSymbols: number;
  /** A record stamped further ahead of the clock than this is refused. */
  maxFutureMs: number;
  /** After a file's first read, a record older than the newest it gave by more than this is refused. */
  maxPastMs: number;
}

const DEFAULT_DATA_LIMITS: DataLimits = Object.freeze({
  maxSymbolsPerFile: 1000,
  maxSymbols: 10_000,
  maxFutureMs: 10 * 60_000,
  maxPastMs: 24 * 60 * 60_000,
});

/** Why content was refused, counted in /metrics as `tapebridge_data_refused_total{reason}`. */
export const DATA_REFUSALS = ['symbolsPerFile', 'symbols', 'symbolName', 'future', 'past'] as const;
export type DataRefusal = (typeof DATA_REFUSALS)[number];

/** A refusal this recent keeps the `data` health component DEGRADED. */
const DEGRADED_FOR_MS = 5 * 60_000;

/**
 * The bounds a file's content is held to, and what they refused: shared by every file's
 * ingest, read by /health (`data`) and /metrics.
 */
export class DataGuard {
  limits: DataLimits;
  readonly refused = Object.fromEntries(DATA_REFUSALS.map((reason) => [reason, new Tally()])) as Record<DataRefusal, Tally>;
  #lastRefusalAt = Number.NEGATIVE_INFINITY;
  #lastRefusal: DataRefusal | null = null;

  constructor(limits: Partial<DataLimits> = {}) {
    this.limits = { ...DEFAULT_DATA_LIMITS, ...limits };
  }

  refuse(reason: DataRefusal, count = 1): void {
    this.refused[reason].add(count);
    this.#lastRefusalAt = Date.now();
    this.#lastRefusal = reason;
  }

  /** DEGRADED while a refusal is recent (a file that keeps offering too much keeps it so). */
  health(figures: { symbols: number; journalBytes: number; maxJournalBytes: number }): ComponentHealth {
    const recent = Date.now() - this.#lastRefusalAt < DEGRADED_FOR_MS;
    return {
      status: recent ? 'DEGRADED' : 'HEALTHY',
      symbols: figures.symbols,
      maxSymbols: this.limits.maxSymbols,
      maxSymbolsPerFile: this.limits.maxSymbolsPerFile,
      journalBytes: figures.journalBytes,
      maxJournalBytes: figures.maxJournalBytes,
      refused: Object.fromEntries(DATA_REFUSALS.map((reason) => [reason, this.refused[reason].value])),
      ...(recent ? { lastRefusal: this.#lastRefusal } : {}),
    };
  }
}
