import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FormatRegistry } from '../../src/formats/registry.js';
import { DEFAULT_CONFIG } from '../../src/app/config.js';
import { ingestInto } from '../../src/state/ingest.js';
import { Store } from '../../src/state/store.js';
import { writeJsonSnapshot } from '../../src/sim/json-writer.js';
import { ScidWriter, scidTickRecord } from '../../src/sim/scid-writer.js';
import { FileTail } from '../../src/watch/file-tail.js';
import { SourceWatcher } from '../../src/watch/source-watcher.js';
import { LogCapture } from '../helpers/bridge.js';
import { tempDir } from '../helpers/temp.js';
import { sleep, waitFor } from '../helpers/wait.js';

/**
 * A writer that holds a file without sharing it (an EA without FILE_SHARE_READ, Sierra's
 * study writing its text file) makes a reader's open fail on Windows with a sharing
 * violation (EBUSY, EPERM or EACCES). Root on Linux cannot be refused an open, so these
 * tests pass FileTail an opener that fails the way Windows does while `locked` says so;
 * everything else (the files, their writes, the watcher) is real.
 */
function lockable(): { openFile: (path: string) => Promise<FileHandle>; locked: Set<string>; attempts: () => number } {
  const locked = new Set<string>();
  let attempts = 0;
  const codes = ['EBUSY', 'EPERM', 'EACCES'];
  return {
    locked,
    attempts: () => attempts,
    openFile: async (path) => {
      if (locked.has(path)) {
        const code = codes[attempts++ % codes.length] as string;
        throw Object.assign(new Error(`${code}: resource busy or locked, open '${path}'`), { code });
      }
      return open(path, 'r');
    },
  };
}

const T0 = Date.UTC(2026, 10, 20, 14);
const trade = (i: number) => scidTickRecord({ time: T0 + i * 1000, bid: 10, ask: 10.25, last: 10 + i, size: 1, side: 'buy' });

describe('locked files', () => {
  it('FileTail reports a sharing violation as retry, then (after 20 in a row) as a failure for the breaker, warns once, and reads the file once it is free', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ES.scid');
    await new ScidWriter(path).create([trade(0), trade(1)]);
    const store = new Store({ journalSize: 10, epoch: 'test' });
    const logs = new LogCapture('warn');
    const lock = lockable();
    const tail = new FileTail(path, {
      registry: new FormatRegistry(),
      openIngest: ingestInto(store, { windows: { M1: 10 } }),
      logger: logs.logger,
      historyMs: 600_000,
      maxBackfillBytes: 1 << 20,
      chunkBytes: 1 << 16,
      maxWholeBytes: 1 << 20,
      openFile: lock.openFile,
    });
    lock.locked.add(path);
    const outcomes: string[] = [];
    for (let i = 0; i < 25; i++) outcomes.push(await tail.read());
    expect(outcomes).toEqual([...Array<string>(19).fill('retry'), ...Array<string>(6).fill('failed')]);
    expect(tail.lastFailure).toMatch(/held locked by its writer \(E[A-Z]+\) for 25 reads in a row/);
    expect(store.get('ES')).toBeUndefined();
    const warnings = logs.lines.filter((line) => line.msg === 'file held locked by its writer; still retrying');
    expect(warnings).toHaveLength(1);
    lock.locked.delete(path);
    expect(await tail.read()).toBe('changed');
    expect(store.get('ES')?.document.quote.last).toBe(11);
    expect(tail.problems.count).toBe(0);
  });

  const watchers: SourceWatcher[] = [];
  afterEach(async () => {
    await Promise.all(watchers.splice(0).map((watcher) => watcher.close()));
  });

  it('the watcher retries a locked file with backoff until it is free, while other files go on', async () => {
    const dir = await tempDir();
    const scid = join(dir, 'ES.scid');
    const json = join(dir, 'XAUUSD.json');
    const writer = new ScidWriter(scid);
    await writer.create([trade(0)]);
    await writeJsonSnapshot(json, { bid: 1, ask: 2 }, 'rewrite');
    const lock = lockable();
    const store = new Store({ journalSize: 100, epoch: 'test' });
    const watcher = new SourceWatcher({
      path: dir,
      registry: new FormatRegistry(),
      openIngest: ingestInto(store, { windows: { M1: 10 } }),
      logger: new LogCapture('warn').logger,
      schedule: { ...DEFAULT_CONFIG.watch, safetyPollMs: 0, retryBaseMs: 5, retryMaxMs: 40 },
      usePolling: false,
      pollIntervalMs: 1000,
      depth: 0,
      historyMs: 600_000,
      maxBackfillBytes: 1 << 20,
      chunkBytes: 1 << 16,
      maxWholeBytes: 1 << 20,
      openFile: lock.openFile,
    });
    watchers.push(watcher);
    await watcher.start();
    expect(store.get('ES')?.document.quote.last).toBe(10);

    lock.locked.add(scid);
    await writer.append([trade(1), trade(2)]);
    await writeJsonSnapshot(json, { bid: 3, ask: 4 }, 'rewrite');
    await waitFor('the other file', () => store.get('XAUUSD')?.document.quote.bid === 3);
    await sleep(300);
    const attempts = lock.attempts();
    expect(attempts).toBeGreaterThan(3);
    // Backoff: far fewer attempts than one per 5 ms.
    expect(attempts).toBeLessThan(60);
    expect(store.get('ES')?.document.quote.last).toBe(10);

    lock.locked.delete(scid);
    await waitFor('the file, once free', () => store.get('ES')?.document.quote.last === 12, 2000);
  });
});
