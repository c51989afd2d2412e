import { Tally, tallies } from '../core/tally.js';
import type { ReadOutcome } from './file-tail.js';

const READ_OUTCOMES: readonly ReadOutcome[] = ['changed', 'unchanged', 'retry', 'failed', 'gone'];
export const FILE_EVENTS = ['add', 'change', 'unlink'] as const;
export type FileEvent = (typeof FILE_EVENTS)[number];

/** What one watched folder counts. */
export class SourceCounters {
  readonly events = tallies(FILE_EVENTS);
  readonly reads = tallies(READ_OUTCOMES);
  readonly bytes = new Tally();
  /** Records or lines that did not decode, and files that could not be read as their format. */
  readonly problems = new Tally();
}
