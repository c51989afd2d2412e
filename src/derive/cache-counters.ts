import { Tally, tallies } from '../core/tally.js';

/** What the on-demand cache answers (derive/cache.ts). */
export const CACHE_KINDS = ['bars', 'indicators'] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];

/** What the on-demand cache counts, per kind of answer. */
export interface CacheCounters {
  /** Answers served without computing (from the cache, or from a computation already under way: `coalesced` counts those). */
  hits: Record<CacheKind, Tally>;
  /** Answers computed. */
  misses: Record<CacheKind, Tally>;
  coalesced: Record<CacheKind, Tally>;
  /** Entries dropped to stay within cache.maxBytes. */
  evictions: Tally;
  /** Entries dropped when their time to live ran out. */
  expirations: Tally;
}

export function cacheCounters(): CacheCounters {
  return { hits: tallies(CACHE_KINDS), misses: tallies(CACHE_KINDS), coalesced: tallies(CACHE_KINDS), evictions: new Tally(), expirations: new Tally() };
}
