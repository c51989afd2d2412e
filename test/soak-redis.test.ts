import { describe, expect, it } from 'vitest';
import { runSoak } from './soak/run.js';
import { expectNoTrouble, restartsOf } from './soak/verdict.js';

/**
 * The short soak through a real Redis (docs/reliability.md), so that CI runs it: the bridge
 * as the ingest node, crashed and restarted cleanly, and the clients on two edge nodes, each
 * killed once. `npm run soak -- --redis --minutes 10` is the long one.
 */
describe('the short soak through Redis', () => {
  it('zero divergence on both edges, zero unannounced gap, zero unhandled error; the epoch outlives both restarts of the ingest', async () => {
    const summary = await runSoak({
      minutes: 0.5,
      seed: 9,
      symbols: 13,
      checkpoints: 2,
      writesPerSecond: 60,
      faultShare: 0.1,
      rawClients: 4,
      sdkClients: 3,
      redis: true,
    });
    expectNoTrouble(summary);
    expect(restartsOf(summary)).toEqual([
      { kind: 'crash', sameEpoch: true, problem: null },
      { kind: 'edge-crash', sameEpoch: true, problem: null },
      { kind: 'clean', sameEpoch: true, problem: null },
      { kind: 'edge-crash', sameEpoch: true, problem: null },
    ]);
    // Redis keeps the epoch and seq: the edges' clients resume across both restarts of the ingest.
    expect(summary.restarts.filter((restart) => restart.kind !== 'edge-crash').map((restart) => restart.snapshots)).toEqual([0, 0]);
    expect(summary.operations.checkpoints).toBe(3);
    expect(summary.delivered.patches).toBeGreaterThan(300);
    expect(summary.passed).toBe(true);
  }, 150_000);
});
