import { restrictOps, type View } from '../model/view.js';
import type { PatchOperation } from '../model/patch.js';
import type { JournalEntry } from '../state/journal.js';
import type { SymbolState } from '../state/symbol-state.js';

/**
 * The version of each view in use (PROTOCOL.md §8): the seq of the last commit that changed
 * the view. Every subscriber of a view holds that version, so one frame, with one `base`, serves
 * them all; a view's snapshot carries it as its `seq`. A view followed at every commit keeps its
 * version here; one not followed for a while is worked out again from the journal.
 */
export class ViewVersions {
  /** Per symbol: view key → the view's version as of the symbol's `seq`. */
  readonly #versions = new WeakMap<SymbolState, Map<string, { seq: number; version: number }>>();

  /** The view's version at the symbol's current seq. */
  versionOf(state: SymbolState, view: View): number {
    const known = this.#versions.get(state)?.get(view.key);
    if (known?.seq === state.seq) return known.version;
    const version = versionAt(state, view, state.seq, known);
    this.#set(state, view, state.seq, version);
    return version;
  }

  /**
   * Commit `state.seq` happened: the view's version before it (the `base` of its patch), and
   * the version after it (`state.seq` when it changed the view).
   */
  advance(state: SymbolState, view: View, changed: boolean): number {
    const known = this.#versions.get(state)?.get(view.key);
    const base = known?.seq === state.seq - 1 ? known.version : versionAt(state, view, state.seq - 1, known);
    this.#set(state, view, state.seq, changed ? state.seq : base);
    return base;
  }

  /** The symbol was published whole at its current seq (no patch): every view starts there. */
  reset(state: SymbolState): void {
    this.#versions.delete(state);
  }

  /**
   * Forgets what no longer helps: versions from before the journal's floor (they cannot be
   * carried forward), and, past MAX_TRACKED views of a symbol, those not followed at its
   * current seq (views asked for once, by HTTP, are not kept for ever).
   */
  prune(state: SymbolState): void {
    const views = this.#versions.get(state);
    if (!views) return;
    const floor = state.journal.floorSeq;
    const crowded = views.size > MAX_TRACKED;
    for (const [key, known] of views) if (known.seq < floor || (crowded && known.seq !== state.seq)) views.delete(key);
  }

  #set(state: SymbolState, view: View, seq: number, version: number): void {
    let views = this.#versions.get(state);
    if (!views) {
      views = new Map();
      this.#versions.set(state, views);
    }
    views.set(view.key, { seq, version });
    if (views.size > MAX_TRACKED) this.prune(state);
  }
}

/** The view's ops of a journalled patch (empty when it changed nothing of the view). */
export function viewOpsOf(entry: JournalEntry, view: View): PatchOperation[] {
  return restrictOps(JSON.parse(entry.opsJson) as PatchOperation[], view);
}

/** Views of one symbol whose versions are kept, whether followed or not. */
const MAX_TRACKED = 256;

/**
 * The view's version at `seq`, from the journal: carried forward from a version known at an
 * earlier seq through the patches since; else the last patch up to `seq` that changed it, or,
 * when none held did, the journal's floor (the view is the same from there), or `seq` itself.
 */
function versionAt(state: SymbolState, view: View, seq: number, known: { seq: number; version: number } | undefined): number {
  const journal = state.journal;
  const since = known && known.seq <= seq ? journal.since(known.seq) : null;
  if (known && since) {
    let version = known.version;
    for (const entry of since) {
      if (entry.seq > seq) break;
      if (viewOpsOf(entry, view).length > 0) version = entry.seq;
    }
    return version;
  }
  const held = journal.since(journal.floorSeq) ?? [];
  for (let i = held.length - 1; i >= 0; i--) {
    const entry = held[i] as JournalEntry;
    if (entry.seq > seq) continue;
    if (viewOpsOf(entry, view).length > 0) return entry.seq;
  }
  return journal.floorSeq <= seq ? journal.floorSeq : seq;
}
