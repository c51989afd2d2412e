import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/app/config.js';
import { ReadScheduler } from '../../src/watch/read-scheduler.js';
import { waitFor } from '../helpers/wait.js';

const schedulers: ReadScheduler[] = [];
afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((scheduler) => scheduler.close()));
});

describe('the safety poll of many idle files', () => {
  it('reads at most safetyPollFiles files per poll, round robin, so that every file is read before any is read twice', async () => {
    const files = 1000;
    const budget = 50;
    const reads: string[] = [];
    /** Reads issued in one turn of the event loop: one poll issues all of its reads at once. */
    const batches: number[] = [];
    let batchOpen = false;
    const scheduler = new ReadScheduler(
      {
        read: (key) => {
          if (!batchOpen) {
            batchOpen = true;
            batches.push(0);
            setImmediate(() => (batchOpen = false));
          }
          batches[batches.length - 1] = (batches.at(-1) ?? 0) + 1;
          reads.push(key);
          return Promise.resolve('unchanged');
        },
      },
      { schedule: { ...DEFAULT_CONFIG.watch, safetyPollMs: 20, safetyPollFiles: budget }, breaker: DEFAULT_CONFIG.breaker },
    );
    schedulers.push(scheduler);
    const keys = Array.from({ length: files }, (_, index) => `file-${index}`);
    await Promise.all(keys.map((key) => scheduler.readNow(key)));
    reads.length = 0;
    batches.length = 0;

    await waitFor('every file read twice by the poll', () => reads.length >= 2 * files, 15_000);
    expect(Math.max(...batches)).toBeLessThanOrEqual(budget);
    expect(batches.length).toBeGreaterThanOrEqual((2 * files) / budget);
    expect(new Set(reads.slice(0, files)).size).toBe(files);
    expect(new Set(reads.slice(files, 2 * files)).size).toBe(files);
  });
});
