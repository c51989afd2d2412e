import type { SymbolIndicators } from '../derive/indicators/deriver.js';
import type { StoreCounters } from './counters.js';
import { composeDocument } from './compose.js';
import type { Contribution } from './contribution.js';
import { TIMEFRAMES, type InstrumentDocument, type Timeframe } from '../model/document.js';
import { Journal } from './journal.js';

/**
 * One symbol: its current document and version, its journal, and the files that feed it.
 * A state at `seq` 0 has contributions but has not been published yet.
 */
export class SymbolState {
  readonly symbolJson: string;
  /** Contributions keyed by the file that feeds them. */
  readonly contributions = new Map<string, Contribution>();
  document: InstrumentDocument;
  seq = 0;
  /** gseq of the commit that produced `seq`. */
  gseq = 0;
  /** Wall-clock time (epoch ms) of the last commit. */
  updatedAt = 0;
  /** Computes the indicators from the composed bars at each commit (null: none configured). */
  indicators: SymbolIndicators | null = null;
  /** The seq at which each timeframe's bars or indicators last changed. */
  readonly #versions = new Map<Timeframe, number>();
  #journal: Journal;
  #documentJson: string | undefined;

  readonly symbol: string;
  private journalSize: number;
  /** Bytes of patches the journal holds at most (journal.maxBytesPerSymbol). */
  private journalMaxBytes: number;
  private readonly counters: Pick<StoreCounters, 'snapshotHits' | 'snapshotMisses'> | null;

  constructor(
    { symbol, counters = null }: { symbol: string; counters?: Pick<StoreCounters, 'snapshotHits' | 'snapshotMisses'> | null },
    { journalSize, journalMaxBytes = Number.POSITIVE_INFINITY }: { journalSize: number; journalMaxBytes?: number },
  ) {
    this.symbol = symbol;
    this.journalSize = journalSize;
    this.journalMaxBytes = journalMaxBytes;
    this.counters = counters;
    this.symbolJson = JSON.stringify(symbol);
    this.document = composeDocument(symbol, [], undefined);
    this.#journal = new Journal(journalSize, 0, 0, journalMaxBytes);
  }

  get journal(): Journal {
    return this.#journal;
  }

  get published(): boolean {
    return this.seq > 0;
  }

  advance(document: InstrumentDocument, gseq: number): void {
    const previous = this.document;
    this.document = document;
    this.seq++;
    if (document.bars !== previous.bars || document.indicators !== previous.indicators) {
      for (const timeframe of TIMEFRAMES) {
        if (document.bars[timeframe] !== previous.bars[timeframe] || document.indicators?.[timeframe] !== previous.indicators?.[timeframe]) {
          this.#versions.set(timeframe, this.seq);
        }
      }
    }
    this.gseq = gseq;
    this.updatedAt = Date.now();
    this.#documentJson = undefined;
    // The first version has no patch: the journal replays from it.
    if (this.seq === 1) this.#journal = new Journal(this.journalSize, 1, gseq, this.journalMaxBytes);
  }

  /** Continues from a saved version (the persisted journal): its document, version and patches. */
  resume(saved: { document: InstrumentDocument; seq: number; gseq: number; updatedAt: number }, journal: Journal): void {
    this.document = saved.document;
    this.seq = saved.seq;
    this.gseq = saved.gseq;
    this.updatedAt = saved.updatedAt;
    this.#journal = journal;
    this.#documentJson = undefined;
    for (const timeframe of TIMEFRAMES) this.#versions.set(timeframe, saved.seq);
  }

  /**
   * The seq at which `timeframe`'s bars or indicators last changed: every answer derived
   * from them holds from that version until the next change.
   */
  versionOf(timeframe: Timeframe): number {
    return this.#versions.get(timeframe) ?? 0;
  }

  /** The current document as JSON, serialised once per version. */
  documentJson(): string {
    if (this.#documentJson === undefined) {
      this.counters?.snapshotMisses.add();
      this.#documentJson = JSON.stringify(this.document);
    } else {
      this.counters?.snapshotHits.add();
    }
    return this.#documentJson;
  }

  /** Keeps `capacity` patches and `maxBytes` of them from now on (the newest of those held stay). */
  resizeJournal(capacity: number, maxBytes = this.journalMaxBytes): void {
    this.journalSize = capacity;
    this.journalMaxBytes = maxBytes;
    this.#journal = this.published ? this.#journal.resized(capacity, maxBytes) : new Journal(capacity, 0, 0, maxBytes);
  }
}
