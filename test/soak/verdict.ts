import { expect } from 'vitest';
import type { SoakSummary } from './run.js';

/** What every soak must end with: no divergence, no violation, no error line, crash or failed fresh parse. */
export function expectNoTrouble(summary: SoakSummary): void {
  expect(summary.divergences.details).toEqual([]);
  expect(summary.violations.details).toEqual([]);
  const { errorLines, stderr, crashes, freshParse } = summary.errors;
  expect({ errorLines, stderr, crashes, freshParse }).toEqual({ errorLines: [], stderr: [], crashes: [], freshParse: [] });
}

/** The restarts in order: their kind, whether the epoch was kept, and any problem found. */
export function restartsOf(summary: SoakSummary): { kind: string; sameEpoch: boolean; problem: string | null }[] {
  return summary.restarts.map(({ kind, sameEpoch, problem }) => ({ kind, sameEpoch, problem }));
}
