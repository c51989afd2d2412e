import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, rename, rm, symlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FormatRegistry } from '../../src/formats/registry.js';
import { DEFAULT_CONFIG, type Config } from '../../src/app/config.js';
import { ingestInto } from '../../src/state/ingest.js';
import { Store } from '../../src/state/store.js';
import { sourceHealth } from '../../src/app/sources.js';
import { SourceWatcher } from '../../src/watch/source-watcher.js';
import { LogCapture } from '../helpers/bridge.js';
import { tempDir } from '../helpers/temp.js';
import { sleep, waitFor } from '../helpers/wait.js';

const watchers: SourceWatcher[] = [];
/** Write ends that release FIFO opens a test blocked on purpose. */
const releases: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(releases.splice(0).map((release) => release()));
  await Promise.all(watchers.splice(0).map((watcher) => watcher.close()));
});

const mkfifo = (path: string): void => void execFileSync('mkfifo', [path]);

async function watchFolder(path: string, extra: Partial<ConstructorParameters<typeof SourceWatcher>[0]> = {}, schedule: Partial<Config['watch']> = {}) {
  const store = new Store({ journalSize: 1000, epoch: 'test' });
  const logs = new LogCapture('info');
  const watcher = new SourceWatcher({
    path,
    registry: new FormatRegistry(),
    openIngest: ingestInto(store, { windows: { M1: 200 } }),
    logger: logs.logger,
    schedule: { ...DEFAULT_CONFIG.watch, safetyPollMs: 100, ...schedule },
    usePolling: false,
    pollIntervalMs: 1000,
    depth: 3,
    historyMs: 200 * 60_000,
    maxBackfillBytes: 64 * 1024 * 1024,
    chunkBytes: 1024 * 1024,
    maxWholeBytes: 1024 * 1024,
    ...extra,
  });
  watchers.push(watcher);
  await watcher.start();
  return { store, watcher, logs };
}

const skips = (logs: LogCapture, file: string) => logs.lines.filter((line) => line.event === 'file_skipped' && line.file === file);

describe('FIFOs, sockets and devices in a watched folder', () => {
  it('skips each FIFO with one warning, and every regular file is still read, at start and after', async () => {
    const dir = await tempDir();
    const fifos = ['A.json', 'B.json', 'C.json', 'D.json', 'E.csv', 'F.scid'].map((name) => join(dir, name));
    for (const fifo of fifos) mkfifo(fifo);
    await writeFile(join(dir, 'XAUUSD.json'), '{"bid": 1}');
    const { store, watcher, logs } = await watchFolder(dir);
    expect(store.get('XAUUSD')?.document.quote).toMatchObject({ bid: 1 });

    // Four blocked opens would have taken every thread of the pool: later files must still be read.
    await writeFile(join(dir, 'EURUSD.json'), '{"bid": 2}');
    await waitFor('a file written after the FIFOs', () => store.get('EURUSD')?.document.quote.bid === 2);
    await writeFile(join(dir, 'XAUUSD.json'), '{"bid": 3}');
    await waitFor('a change of a file read before', () => store.get('XAUUSD')?.document.quote.bid === 3);

    // Several safety polls later, still one warning per FIFO, naming what it is.
    await sleep(400);
    for (const fifo of fifos) {
      const lines = skips(logs, fifo);
      expect(lines).toHaveLength(1);
      expect(lines[0]?.reason).toMatch(/named pipe \(FIFO\)/);
    }
    const status = watcher.status();
    expect(status.skipped.map((entry) => entry.file).sort()).toEqual([...fifos].sort());
    expect(status.stalled).toEqual([]);
    expect(sourceHealth([{ name: 'source', status }]).map(([, health]) => health.status)).toEqual(['HEALTHY', 'HEALTHY']);
  });

  it('skips a file replaced by a FIFO under its name, and reads it again once it is a regular file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'XAUUSD.json');
    await writeFile(path, '{"bid": 1}');
    const { store, logs } = await watchFolder(dir);
    mkfifo(join(dir, 'swap.tmp'));
    await rename(join(dir, 'swap.tmp'), path);
    await waitFor('the FIFO skipped', () => skips(logs, path).length === 1);
    await writeFile(join(dir, 'EURUSD.json'), '{"bid": 2}');
    await waitFor('other files still read', () => store.get('EURUSD')?.document.quote.bid === 2);

    await writeFile(join(dir, 'swap.tmp'), '{"bid": 5}');
    await rename(join(dir, 'swap.tmp'), path);
    await waitFor('the regular file read again', () => store.get('XAUUSD')?.document.quote.bid === 5);
    expect(logs.find((line) => line.event === 'file_readable' && line.file === path)).toBeDefined();
  });

  it('never blocks on a FIFO swapped in between the stat and the open (O_NONBLOCK, then fstat)', async () => {
    const dir = await tempDir();
    const path = join(dir, 'XAUUSD.json');
    const fifo = join(dir, 'pipe');
    mkfifo(fifo);
    await writeFile(path, '{"bid": 1}');
    // The opener the bridge uses, but pointed at the FIFO: as if the path were swapped after the stat.
    const { openRegular } = await import('../../src/watch/file-gate.js');
    const { store, watcher, logs } = await watchFolder(dir, { openFile: (file) => openRegular(file === path ? fifo : file) });
    await waitFor('the swapped file skipped', () => skips(logs, path)[0]?.reason);
    expect(String(skips(logs, path)[0]?.reason)).toMatch(/FIFO/);
    expect(store.get('XAUUSD')).toBeUndefined();
    expect(watcher.status().stalled).toEqual([]);
  });
});

describe('reads that do not finish', () => {
  /** An opener that really blocks a thread of the pool: a FIFO opened without O_NONBLOCK, until a writer comes. */
  function blockingOpener(blocked: readonly string[]) {
    const once = new Set(blocked);
    return async (file: string): Promise<FileHandle> => {
      if (!once.delete(file)) return open(file, 'r');
      const fifo = `${file}.fifo`;
      mkfifo(fifo);
      releases.push(async () => {
        const writer = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => null);
        await writer?.close();
      });
      return open(fifo, 'r');
    };
  }

  it('marks a stalled read DEGRADED, logs it with an event key, and goes on reading the other files', async () => {
    const dir = await tempDir();
    const stuck = join(dir, 'STUCK.json');
    await writeFile(stuck, '{"bid": 1}');
    await writeFile(join(dir, 'XAUUSD.json'), '{"bid": 1}');
    const opener = blockingOpener([stuck]);
    const store = new Store({ journalSize: 1000, epoch: 'test' });
    const logs = new LogCapture('info');
    const watcher = new SourceWatcher({
      path: dir,
      registry: new FormatRegistry(),
      openIngest: ingestInto(store, { windows: { M1: 200 } }),
      logger: logs.logger,
      schedule: { ...DEFAULT_CONFIG.watch, safetyPollMs: 50, readTimeoutMs: 200 },
      usePolling: false,
      pollIntervalMs: 1000,
      depth: 1,
      historyMs: 60_000,
      maxBackfillBytes: 1 << 20,
      chunkBytes: 1 << 20,
      maxWholeBytes: 1 << 20,
      openFile: opener,
    });
    watchers.push(watcher);
    void watcher.start();
    await waitFor('the other file read', () => store.get('XAUUSD')?.document.quote.bid === 1);
    const warning = await waitFor('the stall logged', () => logs.find((line) => line.event === 'read_stalled'));
    expect(warning).toMatchObject({ file: stuck, readTimeoutMs: 200 });
    expect(watcher.status().stalled.map((read) => read.file)).toEqual([stuck]);
    const [folder, all] = sourceHealth([{ name: 'source', status: watcher.status() }]);
    expect(folder?.[1].status).toBe('DEGRADED');
    expect(all?.[1]).toMatchObject({ status: 'HEALTHY', stalled: 1 });

    // Polls go on, but no second read of the stuck file is issued (each would hold another thread).
    await sleep(300);
    expect(logs.lines.filter((line) => line.event === 'read_stalled')).toHaveLength(1);
    await writeFile(join(dir, 'XAUUSD.json'), '{"bid": 2}');
    await waitFor('a later change of the other file', () => store.get('XAUUSD')?.document.quote.bid === 2);

    // Ten times the bound: UNHEALTHY.
    await waitFor(
      'UNHEALTHY after 10 × readTimeoutMs',
      () => sourceHealth([{ name: 'source', status: watcher.status() }])[0]?.[1].status === 'UNHEALTHY',
      5000,
    );
    await Promise.all(releases.splice(0).map((release) => release()));
    await waitFor('the stall over', () => watcher.status().stalled.length === 0 && logs.find((line) => line.event === 'read_unstalled'));
    await waitFor('HEALTHY again', () => sourceHealth([{ name: 'source', status: watcher.status() }])[0]?.[1].status === 'HEALTHY');
    await watcher.close();
  });

  it('three stalled files make the folder and the sources UNHEALTHY', async () => {
    const dir = await tempDir();
    const stuck = ['S1.json', 'S2.json', 'S3.json'].map((name) => join(dir, name));
    for (const file of stuck) await writeFile(file, '{"bid": 1}');
    const { watcher } = (() => {
      const store = new Store({ journalSize: 10, epoch: 'test' });
      const w = new SourceWatcher({
        path: dir,
        registry: new FormatRegistry(),
        openIngest: ingestInto(store, { windows: { M1: 10 } }),
        logger: new LogCapture('warn').logger,
        schedule: { ...DEFAULT_CONFIG.watch, readTimeoutMs: 100 },
        usePolling: false,
        pollIntervalMs: 1000,
        depth: 0,
        historyMs: 60_000,
        maxBackfillBytes: 1 << 20,
        chunkBytes: 1 << 20,
        maxWholeBytes: 1 << 20,
        openFile: blockingOpener(stuck),
      });
      watchers.push(w);
      void w.start();
      return { watcher: w };
    })();
    await waitFor('three stalled reads', () => watcher.status().stalled.length === 3);
    const health = sourceHealth([{ name: 'source', status: watcher.status() }]);
    expect(health.map(([, component]) => component.status)).toEqual(['UNHEALTHY', 'UNHEALTHY']);
  });
});

describe('a watched folder deleted and created again', () => {
  it('is found again: a file written in the new folder is read', async () => {
    const parent = await tempDir();
    const dir = join(parent, 'exports');
    await mkdir(dir);
    await writeFile(join(dir, 'XAUUSD.json'), '{"bid": 1}');
    const { store, watcher } = await watchFolder(dir);
    expect(store.get('XAUUSD')?.document.quote.bid).toBe(1);

    await rm(dir, { recursive: true });
    await waitFor('the folder reported gone', () => !watcher.status().exists);
    await mkdir(dir);
    await writeFile(join(dir, 'EURUSD.json'), '{"bid": 2}');
    await waitFor('a file of the new folder read', () => store.get('EURUSD')?.document.quote.bid === 2, 8000);
    expect(watcher.status().exists).toBe(true);
    await writeFile(join(dir, 'XAUUSD.json'), '{"bid": 3}');
    await waitFor('a re-created file read', () => store.get('XAUUSD')?.document.quote.bid === 3, 8000);

    // And again.
    await rm(dir, { recursive: true });
    await waitFor('gone again', () => !watcher.status().exists);
    await mkdir(dir);
    await writeFile(join(dir, 'GBPUSD.json'), '{"bid": 4}');
    await waitFor('read after the second re-creation', () => store.get('GBPUSD')?.document.quote.bid === 4, 8000);
  });
});

describe('symbolic links', () => {
  async function linkedFolders() {
    const parent = await tempDir();
    const dir = join(parent, 'watched');
    const outside = join(parent, 'outside');
    await mkdir(join(outside, 'nested'), { recursive: true });
    await mkdir(dir);
    await writeFile(join(outside, 'SECRET.json'), '{"bid": 666}');
    await writeFile(join(outside, 'nested', 'HIDDEN.json'), '{"bid": 777}');
    await writeFile(join(dir, 'XAUUSD.json'), '{"bid": 1}');
    await symlink(join(outside, 'SECRET.json'), join(dir, 'SECRET.json'));
    await symlink(join(outside, 'nested'), join(dir, 'linked'));
    return { dir, outside };
  }

  it('does not follow links out of the folder (by default), with one warning each', async () => {
    const { dir } = await linkedFolders();
    const { store, watcher, logs } = await watchFolder(dir);
    expect(store.get('XAUUSD')?.document.quote.bid).toBe(1);
    await sleep(300);
    expect(store.get('SECRET')).toBeUndefined();
    expect(store.get('HIDDEN')).toBeUndefined();
    for (const file of [join(dir, 'SECRET.json'), join(dir, 'linked', 'HIDDEN.json')]) {
      const lines = skips(logs, file);
      expect(lines).toHaveLength(1);
      expect(lines[0]?.reason).toMatch(/outside the watched folder/);
    }
    expect(watcher.status().skipped).toHaveLength(2);
  });

  it('refuses a link inside the folder turned to point outside it', async () => {
    const { dir, outside } = await linkedFolders();
    // A link inside the folder to a file no format reads by its own name: read as GOLD.
    await mkdir(join(dir, 'store'));
    await writeFile(join(dir, 'store', 'gold'), '{"bid": 1}');
    await symlink(join(dir, 'store', 'gold'), join(dir, 'GOLD.json'));
    const { store, logs } = await watchFolder(dir);
    await waitFor('the inside link read', () => store.get('GOLD')?.document.quote.bid === 1);
    await rm(join(dir, 'GOLD.json'));
    await writeFile(join(outside, 'OTHER.json'), '{"bid": 9}');
    await symlink(join(outside, 'OTHER.json'), join(dir, 'GOLD.json'));
    await waitFor('the retargeted link refused', () => skips(logs, join(dir, 'GOLD.json')).length === 1);
    expect(store.get('GOLD')?.document.quote.bid).toBe(1);
  });

  it('follows links out of the folder with followSymlinks', async () => {
    const { dir } = await linkedFolders();
    const { store, watcher } = await watchFolder(dir, { followSymlinks: true });
    await waitFor('the linked file read', () => store.get('SECRET')?.document.quote.bid === 666);
    await waitFor('the file of the linked folder read', () => store.get('HIDDEN')?.document.quote.bid === 777);
    expect(watcher.status().skipped).toEqual([]);
  });

  it('reads a file once whatever number of paths lead to it (links, a link loop)', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'a'));
    await writeFile(join(dir, 'a', 'XAUUSD.json'), '{"bid": 1}');
    await symlink(join(dir, 'a'), join(dir, 'a', 'loop'));
    await symlink(join(dir, 'a'), join(dir, 'b'));
    const { store, watcher } = await watchFolder(dir);
    expect(store.get('XAUUSD')?.document.quote.bid).toBe(1);
    const status = watcher.status();
    const paths = status.files.filter((file) => file.path.endsWith('XAUUSD.json')).map((file) => file.path);
    expect(paths.length).toBeGreaterThan(1);
    const read = paths.filter((path) => !status.skipped.some((entry) => entry.file === path));
    expect(read).toHaveLength(1);
    for (const entry of status.skipped) expect(entry.reason).toMatch(/^the same file as /);

    // The one path that reads it goes: another path to the same file takes over.
    const owner = read[0] as string;
    await rm(owner);
    await writeFile(join(dir, 'a', 'XAUUSD.json'), '{"bid": 2}');
    await waitFor('the file read again, once', () => store.get('XAUUSD')?.document.quote.bid === 2);
    await sleep(200);
    const after = watcher.status();
    const readers = after.files.filter((file) => file.path.endsWith('XAUUSD.json') && !after.skipped.some((entry) => entry.file === file.path));
    expect(readers).toHaveLength(1);
  });
});
