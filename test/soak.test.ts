import { describe, expect, it } from 'vitest';
import { FAULTS } from './soak/feeds.js';
import { runSoak } from './soak/run.js';
import { expectNoTrouble, restartsOf } from './soak/verdict.js';

/**
 * The short soak (docs/reliability.md), so that CI runs it: half a minute of every format
 * written and broken in every way, clients disrupted, the bridge crashed and restarted
 * cleanly, with three checkpoints. `npm run soak -- --minutes 10` is the long one.
 */
describe('the short soak', () => {
  it('zero divergence, zero unannounced gap, zero unhandled error; a crash gives a new epoch, a clean restart keeps it', async () => {
    const summary = await runSoak({ minutes: 0.5, seed: 8, symbols: 13, checkpoints: 2, writesPerSecond: 60, faultShare: 0.1, rawClients: 4, sdkClients: 3 });
    expectNoTrouble(summary);
    expect(restartsOf(summary)).toEqual([
      { kind: 'crash', sameEpoch: false, problem: null },
      { kind: 'clean', sameEpoch: true, problem: null },
    ]);
    expect(summary.restarts[1]?.snapshots).toBe(0);
    expect(summary.operations.checkpoints).toBe(3);
    for (const fault of FAULTS) expect(summary.operations.faults[fault], fault).toBeGreaterThan(0);
    expect(summary.operations.writes).toBeGreaterThan(300);
    // Clients are disrupted (which kinds, in half a minute, depends on timing: the long soak shows them all).
    expect(Object.values(summary.operations.clientActions).reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(3);
    expect(summary.passed).toBe(true);
  }, 150_000);
});
