import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FormatRegistry } from '../../src/formats/registry.js';
import { DEFAULT_CONFIG, type Config } from '../../src/app/config.js';
import { ingestInto } from '../../src/state/ingest.js';
import { Store } from '../../src/state/store.js';
import { DepthWriter, snapshotBatch } from '../../src/sim/depth-writer.js';
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

async function watchFolder(
  path: string,
  schedule: Partial<Config['watch']> = {},
  polling?: { intervalMs: number },
  extra: Partial<ConstructorParameters<typeof SourceWatcher>[0]> = {},
) {
  const store = new Store({ journalSize: 1000, epoch: 'test' });
  let commits = 0;
  store.onCommit(() => commits++);
  const watcher = new SourceWatcher({
    path,
    registry: new FormatRegistry(),
    openIngest: ingestInto(store, { windows: { M1: 200 } }),
    logger: new LogCapture('warn').logger,
    schedule: { ...DEFAULT_CONFIG.watch, ...schedule },
    usePolling: polling !== undefined,
    pollIntervalMs: polling?.intervalMs ?? 1000,
    depth: 2,
    historyMs: 200 * 60_000,
    maxBackfillBytes: 64 * 1024 * 1024,
    chunkBytes: 1024 * 1024,
    maxWholeBytes: 1024 * 1024,
    ...extra,
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
    // A debounce far above the gaps between appends even on a loaded machine (the default, 3 ms, is not).
    const { store, commits } = await watchFolder(dir, { safetyPollMs: 0, debounceMs: 50, maxWaitMs: 1000 });
    const start = Date.UTC(2026, 10, 20, 14);
    const writes = 60;
    // Appends closer together than the debounce: every one has an OS event.
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
    expect(watcher.status()).toMatchObject({ path: dir, exists: false, files: [] });
    const beforeData = Date.now();
    await mkdir(dir);
    await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: 1, ask: 2 }, 'rewrite');
    // The document is committed while the read is still running; the read's time is taken once it returns.
    await waitFor('the file in the new folder', () => store.get('XAUUSD') && watcher.status().lastDataAt !== null, 3000);
    expect(watcher.status()).toMatchObject({
      exists: true,
      files: [{ format: 'json', problems: { count: 0 } }],
      breakers: { CLOSED: 1, HALF_OPEN: 0, OPEN: 0 },
      failing: [],
    });
    // The read that found the data, not the folder's creation or the watcher's start.
    expect(watcher.status().lastDataAt).toBeGreaterThanOrEqual(beforeData);
    expect(watcher.status().lastDataAt).toBeLessThanOrEqual(Date.now());
  });

  it('reads a file replaced by rename, and keeps no tail for the temporary file no format reads', async () => {
    const dir = await tempDir();
    const path = join(dir, 'XAUUSD.json');
    await writeJsonSnapshot(path, { bid: 1, ask: 2 }, 'rewrite');
    const { store, watcher } = await watchFolder(dir, { safetyPollMs: 0 });
    for (let i = 3; i < 6; i++) {
      await writeJsonSnapshot(path, { bid: i, ask: i + 1 }, 'rename');
      await waitFor(`the replacement ${i}`, () => store.get('XAUUSD')?.document.quote.bid === i, 3000);
    }
    expect(watcher.files()).toEqual([{ path, format: 'json' }]);
  });

  it('closes cleanly while reads are pending', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'A.json'), '{"bid": 1}');
    const { watcher } = await watchFolder(dir);
    await writeFile(join(dir, 'A.json'), '{"bid": 2}');
    // Memoised: a second close is the same close, and both settle with nothing left open.
    const closing = watcher.close();
    expect(watcher.close()).toBe(closing);
    await closing;
    expect(watcher.files()).toEqual([]);
  });
});

describe('SourceWatcher: which files it reads', () => {
  const T0 = Date.UTC(2026, 10, 20, 14);

  it('reads only the files `include` matches (globs relative to the folder)', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'MQL5', 'Files'), { recursive: true });
    await writeJsonSnapshot(join(dir, 'MQL5', 'Files', 'EURUSD.json'), { bid: 1 }, 'rewrite');
    await writeJsonSnapshot(join(dir, 'GBPUSD.json'), { bid: 2 }, 'rewrite');
    await new ScidWriter(join(dir, 'ES.scid')).create([scidTickRecord({ time: T0, bid: 1, ask: 2, last: 1, size: 1, side: 'sell' })]);
    const { store, watcher } = await watchFolder(dir, {}, undefined, { include: ['**/*.json', '!GBPUSD.json'] });
    expect([...store.symbols()].map((state) => state.symbol)).toEqual(['EURUSD']);
    expect(watcher.files().map((file) => file.path)).toEqual([join(dir, 'MQL5', 'Files', 'EURUSD.json')]);
    await writeJsonSnapshot(join(dir, 'AUDUSD.json'), { bid: 3 }, 'rewrite');
    await waitFor('a new matching file', () => store.get('AUDUSD')?.document.quote.bid === 3);
    expect(store.get('GBPUSD')).toBeUndefined();
  });

  it("reads only the newest day of a symbol's depth files; a new day's file continues the symbol", async () => {
    const dir = await tempDir();
    const day = (date: string, bid: number) =>
      new DepthWriter(join(dir, `ESZ25.${date}.depth`)).create(
        snapshotBatch(Date.parse(`${date}T14:00:00Z`), { bids: [[bid, 1, 1]], asks: [[bid + 0.25, 1, 1]] }),
      );
    await day('2026-11-18', 100);
    await day('2026-11-19', 200);
    const { store, watcher } = await watchFolder(dir);
    expect(watcher.files().map((file) => file.path)).toEqual([join(dir, 'ESZ25.2026-11-19.depth')]);
    expect(store.get('ESZ25')?.document.book?.bids).toEqual([[200, 1, 1]]);
    await day('2026-11-20', 300);
    await waitFor('the new day', () => store.get('ESZ25')?.document.book?.bids[0]?.[0] === 300);
    expect(watcher.files().map((file) => file.path)).toEqual([join(dir, 'ESZ25.2026-11-20.depth')]);
    expect(store.get('ESZ25')?.document.sources).toEqual(['sierra-depth']);
  });

  it('counts problems per file and for the folder in status()', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ticks.csv');
    await writeFile(path, 'Time,Bid\r\n2026.11.20 14:00:00,1.1\r\nbad,1\r\nworse,2\r\n');
    await writeFile(join(dir, 'BAD.scid'), Buffer.alloc(100, 7));
    const { watcher } = await watchFolder(dir);
    const status = watcher.status();
    expect(status.problems).toBe(3);
    const ticks = status.files.find((file) => file.path === path);
    expect(ticks).toMatchObject({ format: 'csv', problems: { count: 2, last: { offset: 'Time,Bid\r\n2026.11.20 14:00:00,1.1\r\nbad,1\r\n'.length } } });
    expect(status.files.find((file) => file.path.endsWith('BAD.scid'))?.problems.last?.reason).toMatch(/magic/);
  });

  it('polls with stat at the configured interval when usePolling is on (network shares)', async () => {
    const dir = await tempDir();
    const path = join(dir, 'XAUUSD.json');
    await writeJsonSnapshot(path, { bid: 1 }, 'rewrite');
    const { store } = await watchFolder(dir, { safetyPollMs: 0 }, { intervalMs: 50 });
    await writeJsonSnapshot(path, { bid: 2, ask: 2.5 }, 'rewrite');
    await waitFor('the polled change', () => store.get('XAUUSD')?.document.quote.bid === 2, 2000);
  });
});
