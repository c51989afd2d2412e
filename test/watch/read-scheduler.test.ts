import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG, type Config } from '../../src/app/config.js';
import type { ReadOutcome } from '../../src/watch/file-tail.js';
import { ReadScheduler } from '../../src/watch/read-scheduler.js';

const DEBOUNCE_MS = DEFAULT_CONFIG.watch.debounceMs;
const MAX_WAIT_MS = DEFAULT_CONFIG.watch.maxWaitMs;

const open: ReadScheduler[] = [];

beforeEach(async () => {
  // The scheduler's clock is performance.now(): faked with the timers. A real process never reads it at 0.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
  await vi.advanceTimersByTimeAsync(1000);
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((scheduler) => scheduler.close()));
  vi.useRealTimers();
});

/** A scheduler with no safety poll (only hints read), noting when each read starts. */
function scheduler(read: (key: string) => Promise<ReadOutcome>, watch: Partial<Config['watch']> = {}): ReadScheduler {
  const made = new ReadScheduler({ read }, { schedule: { ...DEFAULT_CONFIG.watch, safetyPollMs: 0, ...watch }, breaker: DEFAULT_CONFIG.breaker });
  open.push(made);
  return made;
}

function readsAt(outcome: ReadOutcome = 'unchanged'): { at: number[]; read: () => Promise<ReadOutcome> } {
  const at: number[] = [];
  return {
    at,
    read: () => {
      at.push(performance.now());
      return Promise.resolve(outcome);
    },
  };
}

describe('ReadScheduler: leading edge', () => {
  it('reads on the first hint of a burst at once, before any timer runs', () => {
    const reads = readsAt();
    const t0 = performance.now();
    scheduler(reads.read).hint('a', false);
    expect(reads.at).toEqual([t0]);
  });

  it('with leadingEdge off, waits the debounce first (the former behaviour)', async () => {
    const reads = readsAt();
    const t0 = performance.now();
    scheduler(reads.read, { leadingEdge: false }).hint('a', false);
    expect(reads.at).toEqual([]);
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS);
    expect(reads.at).toEqual([t0 + DEBOUNCE_MS]);
  });

  it('coalesces the hints that follow within the burst into one trailing read after the last', async () => {
    const reads = readsAt();
    const watcher = scheduler(reads.read);
    const t0 = performance.now();
    watcher.hint('a', false);
    for (let i = 1; i <= 5; i++) {
      await vi.advanceTimersByTimeAsync(1);
      watcher.hint('a', false);
    }
    const last = performance.now();
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS + 100);
    expect(reads.at).toEqual([t0, last + DEBOUNCE_MS]);
  });

  it('reads each hint at once when they are further apart than the debounce', async () => {
    const reads = readsAt();
    const watcher = scheduler(reads.read);
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      times.push(performance.now());
      watcher.hint('a', false);
      await vi.advanceTimersByTimeAsync(DEBOUNCE_MS + 2);
    }
    expect(reads.at).toEqual(times);
  });

  it('still reads a never-ending burst at least every maxWaitMs, and far less often than it hints', async () => {
    const reads = readsAt('changed');
    const watcher = scheduler(reads.read);
    const hints = 500;
    for (let i = 0; i < hints; i++) {
      watcher.hint('a', false);
      await vi.advanceTimersByTimeAsync(1);
    }
    const gaps = reads.at.slice(1).map((at, i) => at - (reads.at[i] as number));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(MAX_WAIT_MS + 1);
    expect(reads.at.length).toBeGreaterThanOrEqual(hints / (MAX_WAIT_MS + 1));
    expect(reads.at.length).toBeLessThan(hints / 10);
  });

  it('reads files independently: a burst on one does not hold back the first hint of another', async () => {
    const reads: string[] = [];
    const watcher = scheduler((key) => {
      reads.push(key);
      return Promise.resolve('unchanged');
    });
    watcher.hint('a', false);
    await vi.advanceTimersByTimeAsync(1);
    watcher.hint('a', false);
    watcher.hint('b', false);
    expect(reads).toEqual(['a', 'b']);
    await vi.advanceTimersByTimeAsync(DEBOUNCE_MS + 1);
    expect(reads).toEqual(['a', 'b', 'a']);
  });
});

/**
 * A file of fixed-size records written a few bytes at a time, read as FileTail reads it: up
 * to the size seen when the read starts, whole records only, the partial one left for later.
 */
class SimulatedFile {
  static readonly RECORD = 40;
  size = 0;
  offset = 0;
  delivered = 0;
  /** How long each read takes (fake ms), chosen by the test. */
  readMs = 0;

  constructor(private readonly onWrite: () => void) {}

  write(bytes: number): void {
    this.size += bytes;
    this.onWrite();
  }

  read = async (): Promise<ReadOutcome> => {
    const whole = Math.floor((this.size - this.offset) / SimulatedFile.RECORD);
    if (this.readMs > 0) await new Promise((resolve) => setTimeout(resolve, this.readMs));
    this.offset += whole * SimulatedFile.RECORD;
    this.delivered += whole;
    return whole > 0 ? 'changed' : 'unchanged';
  };
}

/** Deterministic pseudo-random numbers (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('ReadScheduler: no write is lost', () => {
  it('reads again after a read during which a write arrived, with no trailing re-read or safety poll to fall back on', async () => {
    let watcher: ReadScheduler | null = null;
    const file = new SimulatedFile(() => watcher?.hint('f', false));
    // The re-read after a read that found data is an hour away: only the read-again-after path can deliver.
    watcher = scheduler(file.read, { trailingMs: 3_600_000 });
    file.readMs = 5;
    file.write(SimulatedFile.RECORD); // leading read starts, sees 1 record
    await vi.advanceTimersByTimeAsync(1);
    file.write(SimulatedFile.RECORD * 2); // during that read
    await vi.advanceTimersByTimeAsync(4 + DEBOUNCE_MS + file.readMs + 1);
    expect(file.delivered).toBe(3);
  });

  it('delivers every record of writes cut mid-record, at random times, some during reads (seeds 1-20)', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const next = random(seed);
      let watcher: ReadScheduler | null = null;
      const file = new SimulatedFile(() => watcher?.hint('f', false));
      watcher = scheduler(file.read, { trailingMs: 3_600_000 });
      let written = 0;
      for (let write = 0; write < 300; write++) {
        file.readMs = Math.floor(next() * 4);
        const bytes = 1 + Math.floor(next() * SimulatedFile.RECORD * 2);
        written += bytes;
        file.write(bytes);
        // Back to back (one burst), or apart (a new burst): 0-5 fake ms.
        await vi.advanceTimersByTimeAsync(Math.floor(next() * 6));
      }
      await vi.advanceTimersByTimeAsync(MAX_WAIT_MS + 100);
      expect({ seed, delivered: file.delivered }).toEqual({ seed, delivered: Math.floor(written / SimulatedFile.RECORD) });
      expect(file.offset).toBe(file.delivered * SimulatedFile.RECORD);
      await watcher.close();
    }
  });
});
