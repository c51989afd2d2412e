import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FormatRegistry } from '../../src/formats/registry.js';
import { DEFAULT_CONFIG, type Config } from '../../src/ops/config.js';
import { Store } from '../../src/state/store.js';
import { writeJsonSnapshot } from '../../src/sim/json-writer.js';
import { ScidWriter, encodeScidRecords, scidTickRecord } from '../../src/sim/scid-writer.js';
import { SourceWatcher } from '../../src/watch/source-watcher.js';
import { LogCapture } from '../helpers/bridge.js';
import { tempDir } from '../helpers/temp.js';
import { sleep, waitFor } from '../helpers/wait.js';

const watchers: SourceWatcher[] = [];
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((watcher) => watcher.close()));
});

async function watchFolder(path: string, schedule: Partial<Config['watch']> = {}, polling?: { intervalMs: number }) {
  const store = new Store({ journalSize: 1000, epoch: 'test' });
  let commits = 0;
  store.onCommit(() => commits++);
  const watcher = new SourceWatcher({
    path,
    registry: new FormatRegistry(),
    store,
    windows: { M1: 200 },
    logger: new LogCapture('warn').logger,
    schedule: { ...DEFAULT_CONFIG.watch, ...schedule },
    usePolling: polling !== undefined,
    pollIntervalMs: polling?.intervalMs ?? 1000,
    depth: 2,
    historyMs: 200 * 60_000,
    maxBackfillBytes: 64 * 1024 * 1024,
    chunkBytes: 1024 * 1024,
    maxWholeBytes: 1024 * 1024,
  });
  watchers.push(watcher);
  await watcher.start();
  return { store, watcher, commits: () => commits };
}

describe('SourceWatcher', () => {
  it('reads files present at start before start() resolves', async () => {
    const dir = await tempDir();
    await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: 1, ask: 2 }, 'rewrite');
    const { store } = await watchFolder(dir);
    expect(store.get('XAUUSD')?.document.quote).toEqual({ bid: 1, ask: 2 });
  });

  it('sees the second of two writes 10 ms apart (chokidar drops its event)', async () => {
    const dir = await tempDir();
    const path = join(dir, 'XAUUSD.json');
    await writeJsonSnapshot(path, { bid: 0, ask: 0.5 }, 'rewrite');
    const { store } = await watchFolder(dir, { safetyPollMs: 0 });
    for (let burst = 1; burst <= 5; burst++) {
      await writeJsonSnapshot(path, { bid: burst, ask: burst + 0.1 }, 'rewrite');
      await sleep(10);
      await writeJsonSnapshot(path, { bid: burst, ask: burst + 0.5 }, 'rewrite');
      await waitFor(`the second write of burst ${burst}`, () => store.get('XAUUSD')?.document.quote.ask === burst + 0.5, 2000);
      await sleep(80);
    }
  });

  it('coalesces a stream of appends and ends on the last one', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ES.scid');
    const writer = new ScidWriter(path);
    await writer.create();
    const { store, commits } = await watchFolder(dir, { safetyPollMs: 0 });
    const start = Date.UTC(2026, 10, 20, 14);
    const writes = 60;
    // Appends closer together than the debounce (watch.debounceMs, 3 ms): every one has an OS event.
    for (let i = 0; i < writes; i++) {
      await writer.append([scidTickRecord({ time: start + i * 100, bid: 10, ask: 10.25, last: 10 + i, size: 1, side: 'buy' })]);
      await sleep(1);
    }
    await waitFor('the last append', () => store.get('ES')?.document.quote.last === 10 + writes - 1, 2000);
    expect(store.get('ES')?.document.bars.M1?.[0]?.v).toBe(writes);
    expect(commits()).toBeLessThan(writes / 2);
  });

  it('finds changes with the safety poll when the watcher reports none', async () => {
    const dir = await tempDir();
    const path = join(dir, 'XAUUSD.json');
    await writeJsonSnapshot(path, { bid: 1, ask: 2 }, 'rewrite');
    // Polling once a minute: only the safety poll can notice the change in time.
    const { store } = await watchFolder(dir, { safetyPollMs: 100 }, { intervalMs: 60_000 });
    await writeJsonSnapshot(path, { bid: 3, ask: 4 }, 'rewrite');
    await waitFor('the safety poll', () => store.get('XAUUSD')?.document.quote.bid === 3, 3000);
  });

  it('reads a deleted and re-created file from its start, replacing what it fed', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ES.scid');
    const start = Date.UTC(2026, 10, 20, 14);
    const writer = new ScidWriter(path);
    await writer.create([0, 1, 2].map((i) => scidTickRecord({ time: start + i * 60_000, bid: 1, ask: 2, last: 1.5, size: 1, side: 'buy' })));
    const { store } = await watchFolder(dir);
    expect(store.get('ES')?.document.bars.M1).toHaveLength(3);

    await rm(path);
    await sleep(150);
    expect(store.get('ES')?.document.bars.M1).toHaveLength(3);
    await writer.create([scidTickRecord({ time: start + 10 * 60_000, bid: 7, ask: 8, last: 7.5, size: 2, side: 'buy' })]);
    await waitFor('the re-created file', () => store.get('ES')?.document.quote.last === 7.5, 3000);
    expect(store.get('ES')?.document.bars.M1).toHaveLength(1);
  });

  it('picks up a file created after start, written in pieces', async () => {
    const dir = await tempDir();
    const { store } = await watchFolder(dir);
    const path = join(dir, 'NEW.scid');
    const writer = new ScidWriter(path);
    await writer.create();
    const record = encodeScidRecords([scidTickRecord({ time: Date.UTC(2026, 0, 2), bid: 1, ask: 2, last: 2, size: 3, side: 'buy' })]);
    await appendFile(path, record.subarray(0, 17));
    await sleep(50);
    expect(store.get('NEW')).toBeUndefined();
    await appendFile(path, record.subarray(17));
    await waitFor('the completed record', () => store.get('NEW')?.document.quote.lastSize === 3, 3000);
  });

  it('reports a folder that does not exist yet, and reads it once it appears', async () => {
    const parent = await tempDir();
    const dir = join(parent, 'later');
    const { store, watcher } = await watchFolder(dir, { safetyPollMs: 50 });
    expect(watcher.status()).toMatchObject({ path: dir, exists: false, files: 0 });
    await mkdir(dir);
    await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: 1, ask: 2 }, 'rewrite');
    await waitFor('the file in the new folder', () => store.get('XAUUSD'), 3000);
    expect(watcher.status()).toMatchObject({ exists: true, files: 1, breakers: { CLOSED: 1, HALF_OPEN: 0, OPEN: 0 }, failing: [] });
    expect(watcher.status().lastDataAt).toBeGreaterThan(0);
  });

  it('closes cleanly while reads are pending', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'A.json'), '{"bid": 1}');
    const { watcher } = await watchFolder(dir);
    await writeFile(join(dir, 'A.json'), '{"bid": 2}');
    await watcher.close();
    await watcher.close();
  });
});
