import type { Tally } from '../core/tally.js';

/** Counts the store keeps (state/). */
export interface StoreCounters {
  patches: Tally;
  patchBytes: Tally;
  /** A snapshot served from the document's JSON of that version, already serialised. */
  snapshotHits: Tally;
  /** A snapshot that had to serialise the document (once per version). */
  snapshotMisses: Tally;
}
