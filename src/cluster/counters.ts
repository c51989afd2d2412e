import { tallies, type Tally } from '../core/tally.js';

/** What the cluster parts count (cluster/): an ingest publishes, an edge applies. */
export interface ClusterCounters {
  /** Versions written to Redis, and the bytes of their messages and stored documents. */
  published: Tally;
  publishedBytes: Tally;
  publishErrors: Tally;
  /** Versions an edge took from Redis: as patches, as whole documents (new symbols, gaps nothing filled). */
  applied: Tally;
  resnapshots: Tally;
  /** Gaps on the channel filled from the stream. */
  gapsFilled: Tally;
  /** Entries and messages refused as bad data. */
  badData: Tally;
  /** SSE cursors of another edge process resolved from its log, and those that were not (the client got fresh snapshots). */
  cursorsRelayed: Tally;
  cursorsUnresolved: Tally;
}

/** Every cluster count, at zero. */
export function clusterCounters(): ClusterCounters {
  return tallies([
    'published',
    'publishedBytes',
    'publishErrors',
    'applied',
    'resnapshots',
    'gapsFilled',
    'badData',
    'cursorsRelayed',
    'cursorsUnresolved',
  ] as const satisfies readonly (keyof ClusterCounters)[]);
}
