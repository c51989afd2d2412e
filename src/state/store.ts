import { randomBytes } from 'node:crypto';
import { IndicatorPlan, SymbolIndicators } from '../derive/indicators/deriver.js';
import type { StoreCounters } from './counters.js';
import { composeDocument } from './compose.js';
import type { Contribution, SealedContribution } from './contribution.js';
import { diff } from './delta.js';
import { Journal, JournalEntry } from './journal.js';
import { EPOCH_PATTERN } from '../model/wire.js';
import type { SavedState } from './persist.js';
import { SymbolState } from './symbol-state.js';
import { DataGuard, type DataLimits } from './data-guard.js';
import type { PatchOperation } from '../model/patch.js';
import type { InstrumentDocument } from '../model/document.js';
import { patchMessage, patchOpsOffset } from '../model/wire.js';
import type { CommitTiming } from '../formats/types.js';

export interface StoreOptions {
  /** Patches kept per symbol for resume. */
  journalSize: number;
  /** Bytes of patches kept per symbol, and in all (journal.maxBytesPerSymbol, journal.maxBytes); unbounded when not given. */
  journalBytes?: { perSymbol: number; total: number };
  /** What files' content may do (symbol caps, clock bounds); DEFAULT_DATA_LIMITS where not given. */
  limits?: Partial<DataLimits>;
  /** Names this lifetime of the state; random when not given. */
  epoch?: string;
  counters?: StoreCounters;
  /** The indicators each symbol publishes (none when not given). */
  indicators?: IndicatorPlan;
  /** Follows versions made elsewhere (applyRemote, an edge node) and composes none of its own. */
  mirror?: boolean;
}

/** A symbol's new version: `entry` and `ops` are null when the symbol was just created (no patch). */
export interface CommitEvent {
  readonly state: SymbolState;
  readonly entry: JournalEntry | null;
  /** The patch's operations (the journal keeps only their JSON). */
  readonly ops: readonly PatchOperation[] | null;
  /** Null for changes with no write to time (a file's first read, a restart of its reading). */
  readonly timing: CommitTiming | null;
}

export type CommitListener = (event: CommitEvent) => void;

/**
 * Every symbol's document, version and journal. Commits are synchronous: a commit composes
 * the symbol's document from its contributions, diffs it against the previous one and,
 * when something changed, bumps `seq`, journals the patch and tells the listeners.
 */
export class Store {
  #epoch: string;
  /** The bounds files' content is held to, and what they refused. */
  readonly guard: DataGuard;
  #journalSize: number;
  #journalBytes: { perSymbol: number; total: number };
  /** Bytes held by every journal, and the symbols whose patches they are, oldest patch first (see #trimJournals). */
  #heldBytes = 0;
  #held: { state: SymbolState; gseq: number }[] = [];
  #heldStart = 0;
  #heldEntries = 0;
  readonly #counters: StoreCounters | null;
  readonly #symbols = new Map<string, SymbolState>();
  readonly #listeners = new Set<CommitListener>();
  #plan: IndicatorPlan;
  readonly #mirror: boolean;
  #gseq = 0;
  /** Restored symbols whose commits wait for release(), and those that asked to commit meanwhile. */
  #holding: Set<string> | null = null;
  readonly #deferred = new Set<string>();

  constructor(
    options: StoreOptions,
    private readonly onListenerError: (error: unknown) => void = () => undefined,
  ) {
    this.#epoch = checkedEpoch(options.epoch ?? randomBytes(6).toString('base64url'));
    this.#journalSize = options.journalSize;
    this.#journalBytes = options.journalBytes ?? { perSymbol: Number.POSITIVE_INFINITY, total: Number.POSITIVE_INFINITY };
    this.guard = new DataGuard(options.limits);
    this.#counters = options.counters ?? null;
    this.#plan = options.indicators ?? IndicatorPlan.NONE;
    this.#mirror = options.mirror ?? false;
  }

  /** Names this lifetime of the state (PROTOCOL.md §2). */
  get epoch(): string {
    return this.#epoch;
  }

  get indicatorPlan(): IndicatorPlan {
    return this.#plan;
  }

  /**
   * Publishes `plan`'s indicators from now on: each symbol's are computed again from its
   * windows and committed (clients get the difference as a patch).
   */
  setIndicatorPlan(plan: IndicatorPlan): void {
    this.#plan = plan;
    if (this.#mirror) return;
    for (const state of this.#symbols.values()) {
      state.indicators = this.#deriver();
      if (state.published) this.commit(state.symbol);
    }
  }

  /** Keeps `size` patches per symbol from now on; each journal keeps its newest that fit. */
  setJournalSize(size: number): void {
    this.#journalSize = size;
    for (const state of this.#symbols.values()) state.resizeJournal(size);
    this.#recountJournals();
  }

  /** Keeps at most these bytes of patches per symbol and in all from now on (the newest stay). */
  setJournalBytes(bytes: { perSymbol: number; total: number }): void {
    this.#journalBytes = { ...bytes };
    for (const state of this.#symbols.values()) state.resizeJournal(this.#journalSize, bytes.perSymbol);
    this.#recountJournals();
  }

  /** The journal's byte caps in force. */
  get journalBytes(): { perSymbol: number; total: number } {
    return this.#journalBytes;
  }

  /** Whether the store holds `symbol` (published or not yet). */
  has(symbol: string): boolean {
    return this.#symbols.has(symbol);
  }

  /** Symbols held, published or not yet: what document.maxSymbols bounds. */
  get symbolCount(): number {
    return this.#symbols.size;
  }

  /** Patches held for resume, across symbols, and their size. */
  journalTotals(): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    for (const state of this.#symbols.values()) {
      entries += state.journal.size;
      bytes += state.journal.bytes;
    }
    return { entries, bytes };
  }

  /** The bridge-wide commit counter (last commit's gseq). */
  get gseq(): number {
    return this.#gseq;
  }

  /** A published symbol. */
  get(symbol: string): SymbolState | undefined {
    const state = this.#symbols.get(symbol);
    return state?.published ? state : undefined;
  }

  /** Every published symbol. */
  *symbols(): IterableIterator<SymbolState> {
    for (const state of this.#symbols.values()) if (state.published) yield state;
  }

  onCommit(listener: CommitListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Continues a state saved at shutdown (in this store's epoch): every symbol's document,
   * version and journal. Their commits wait for release(), so that the files read again at
   * start reach clients as one patch per symbol, not one per file.
   */
  restore(saved: SavedState): void {
    if (saved.epoch !== this.epoch) throw new RangeError(`saved epoch ${saved.epoch} is not this store's (${this.epoch})`);
    this.#gseq = Math.max(this.#gseq, saved.gseq);
    this.#holding ??= new Set();
    for (const symbol of saved.symbols) {
      const state = this.#newState(symbol.symbol);
      const journal = new Journal(this.#journalSize, symbol.floorSeq, symbol.floorGseq, this.#journalBytes.perSymbol);
      for (const { seq, gseq, ops } of symbol.entries) journal.push(this.#entry(state, seq, gseq, ops));
      state.resume(symbol, journal);
      this.#symbols.set(symbol.symbol, state);
      this.#holding.add(symbol.symbol);
    }
    this.#recountJournals();
  }

  /** A symbol a checkpoint restored: it commits at release(), once, whatever the files read at start. */
  holdForRelease(symbol: string): void {
    (this.#holding ??= new Set()).add(symbol);
    this.#deferred.add(symbol);
  }

  /** Commits what restored symbols were held back from (once the files present at start were read). */
  release(): void {
    const held = this.#holding;
    this.#holding = null;
    for (const symbol of held ?? []) if (this.#deferred.delete(symbol)) this.commit(symbol);
  }

  /** The contribution file `key` makes to `symbol`, if any. */
  contribution(symbol: string, key: string): Contribution | undefined {
    return this.#symbols.get(symbol)?.contributions.get(key);
  }

  setContribution(symbol: string, key: string, contribution: Contribution): void {
    let state = this.#symbols.get(symbol);
    if (!state) {
      state = this.#newState(symbol);
      this.#symbols.set(symbol, state);
    }
    state.contributions.set(key, contribution);
  }

  /**
   * Sets what file `key` contributes to each symbol in `next`, and removes what it
   * contributed to any other symbol. Returns the symbols to commit.
   */
  replaceContributions(key: string, next: ReadonlyMap<string, Contribution>): string[] {
    const touched = new Set(next.keys());
    for (const state of this.#symbols.values()) {
      if (!next.has(state.symbol) && state.contributions.delete(key)) touched.add(state.symbol);
    }
    for (const [symbol, contribution] of next) this.setContribution(symbol, key, contribution);
    return [...touched];
  }

  /** Publishes the symbol's current contributions as its next version, if anything changed. */
  commit(symbol: string, timing: CommitTiming | null = null): void {
    const state = this.#symbols.get(symbol);
    if (!state || this.#mirror) return;
    if (this.#holding?.has(symbol)) {
      this.#deferred.add(symbol);
      return;
    }
    const sealed = sealedInPathOrder(state.contributions);
    const document = composeDocument(symbol, sealed, state.published ? state.document : undefined, state.indicators);
    if (!state.published) {
      state.advance(document, ++this.#gseq);
      this.#emit({ state, entry: null, ops: null, timing });
      return;
    }
    const ops = diff(state.document, document);
    if (ops.length === 0) return;
    const entry = this.#entry(state, state.seq + 1, ++this.#gseq, ops);
    state.advance(document, entry.gseq);
    this.#journal(state, entry);
    this.#emit({ state, entry, ops, timing });
  }

  /**
   * Starts a new epoch for state mirrored from elsewhere (an edge node following Redis, whose
   * namespace began a new lifetime): every journal is emptied, since its patches name the old
   * epoch, and each symbol is published again as a snapshot at its version.
   */
  adoptEpoch(epoch: string): void {
    if (epoch === this.#epoch) return;
    this.#epoch = checkedEpoch(epoch);
    for (const state of this.#symbols.values()) {
      if (state.published) this.#reset(state, state.document, state.seq);
    }
    this.#recountJournals();
  }

  /**
   * Takes a version made elsewhere (an edge node follows what ingest nodes publish):
   * `ops` when they bring the symbol from its current version to `seq`, else the whole
   * `document` at `seq` (a new symbol, or a gap nothing could fill), which every subscriber
   * gets as a fresh snapshot. The patch's message is built here, from the ops as parsed.
   */
  applyRemote(symbol: string, seq: number, change: { ops: readonly PatchOperation[]; document: InstrumentDocument } | { document: InstrumentDocument }): void {
    let state = this.#symbols.get(symbol);
    if (!state) {
      state = this.#newState(symbol);
      this.#symbols.set(symbol, state);
    }
    if (!('ops' in change) || !state.published || seq !== state.seq + 1) {
      this.#reset(state, change.document, seq);
      this.#recountJournals();
      this.#emit({ state, entry: null, ops: null, timing: null });
      return;
    }
    const entry = this.#entry(state, seq, ++this.#gseq, change.ops);
    state.advance(change.document, entry.gseq);
    this.#journal(state, entry);
    this.#emit({ state, entry, ops: change.ops, timing: null });
  }

  /** `state` at `seq` with `document`, with an empty journal from there. */
  #reset(state: SymbolState, document: InstrumentDocument, seq: number): void {
    const gseq = ++this.#gseq;
    state.resume({ document, seq, gseq, updatedAt: Date.now() }, new Journal(this.#journalSize, seq, gseq, this.#journalBytes.perSymbol));
  }

  #newState(symbol: string): SymbolState {
    const state = new SymbolState({ symbol, counters: this.#counters }, { journalSize: this.#journalSize, journalMaxBytes: this.#journalBytes.perSymbol });
    state.indicators = this.#deriver();
    return state;
  }

  /** Counts and journals `entry`, and keeps every journal within journal.maxBytes by dropping the oldest patches of all. */
  #journal(state: SymbolState, entry: JournalEntry): void {
    if (this.#counters) {
      this.#counters.patches.add();
      this.#counters.patchBytes.add(Buffer.byteLength(entry.opsJson));
    }
    const journal = state.journal;
    const before = journal.bytes;
    const entriesBefore = journal.size;
    journal.push(entry);
    this.#heldBytes += journal.bytes - before;
    this.#heldEntries += journal.size - entriesBefore;
    if (journal.size > 0) this.#held.push({ state, gseq: entry.gseq });
    this.#trimJournals();
  }

  /**
   * `#held` lists each patch journaled, in commit order (so the first live one is the oldest
   * of all); patches the journals dropped themselves are skipped when met, and the list is
   * rebuilt when those outnumber the patches held.
   */
  #trimJournals(): void {
    while (this.#heldBytes > this.#journalBytes.total && this.#heldStart < this.#held.length) {
      const { state, gseq } = this.#held[this.#heldStart++] as { state: SymbolState; gseq: number };
      if (state.journal.oldestGseq !== gseq) continue;
      this.#heldBytes -= state.journal.dropOldest();
      this.#heldEntries--;
    }
    if (this.#held.length - this.#heldStart > 2 * this.#heldEntries + 1024) this.#recountJournals();
  }

  /** Counts what the journals hold anew, and lists their patches oldest first. */
  #recountJournals(): void {
    const held: { state: SymbolState; gseq: number }[] = [];
    let bytes = 0;
    for (const state of this.#symbols.values()) {
      bytes += state.journal.bytes;
      for (const gseq of state.journal.gseqs()) held.push({ state, gseq });
    }
    held.sort((a, b) => a.gseq - b.gseq);
    this.#held = held;
    this.#heldStart = 0;
    this.#heldEntries = held.length;
    this.#heldBytes = bytes;
    this.#trimJournals();
  }

  #deriver(): SymbolIndicators | null {
    return this.#plan.empty || this.#mirror ? null : new SymbolIndicators(this.#plan);
  }

  #entry(state: SymbolState, seq: number, gseq: number, ops: readonly PatchOperation[]): JournalEntry {
    // One flat string per patch, the message itself; the ops' JSON is a slice of it.
    return new JournalEntry(seq, gseq, patchMessage(state.symbol, this.epoch, seq, seq - 1, ops), patchOpsOffset(state.symbolJson, this.epoch, seq, seq - 1));
  }

  #emit(event: CommitEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}

/** `epoch` when it is one (an internal invariant: the bridge makes its epochs, persist and the cluster check theirs). */
function checkedEpoch(epoch: string): string {
  if (!EPOCH_PATTERN.test(epoch)) throw new RangeError(`epoch ${JSON.stringify(epoch)} must match ${EPOCH_PATTERN}`);
  return epoch;
}

/**
 * The contributions sealed, in the order of their files' paths: composition breaks ties
 * (two files' bar windows ending at the same bar, quotes of the same time) by order, and the
 * order files were first read in differs from one start to the next.
 */
function sealedInPathOrder(contributions: ReadonlyMap<string, Contribution>): SealedContribution[] {
  if (contributions.size === 1) return [...contributions.values()].map((contribution) => contribution.seal());
  return [...contributions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, contribution]) => contribution.seal());
}
