import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/app/config.js';
import { ChangeHints } from '../../src/watch/change-hints.js';
import type { ReadOutcome } from '../../src/watch/file-tail.js';
import { ReadScheduler } from '../../src/watch/read-scheduler.js';
import { LogCapture } from '../helpers/bridge.js';
import { tempDir } from '../helpers/temp.js';
import { sleep, waitFor } from '../helpers/wait.js';

describe('ChangeHints', () => {
  const open: ChangeHints[] = [];
  afterEach(() => {
    for (const hints of open.splice(0)) hints.close();
  });

  it('names every file written in a watched folder, and nothing once the folder is unwatched', async () => {
    const dir = await tempDir();
    const other = await tempDir();
    const seen: string[] = [];
    const hints = new ChangeHints((path) => seen.push(path), new LogCapture('warn').logger);
    open.push(hints);
    hints.watch(dir);
    hints.watch(dir);
    hints.watch(other);
    await writeFile(join(dir, 'A.json'), '{}');
    await appendFile(join(other, 'B.scid'), 'x');
    await waitFor('both files', () => seen.includes(join(dir, 'A.json')) && seen.includes(join(other, 'B.scid')));
    hints.unwatch(dir);
    const count = seen.length;
    await writeFile(join(dir, 'C.json'), '{}');
    await appendFile(join(other, 'B.scid'), 'y');
    await waitFor('the other folder', () => seen.slice(count).includes(join(other, 'B.scid')));
    await sleep(50);
    expect(seen.slice(count).filter((path) => path.startsWith(dir))).toEqual([]);
  });

  it('logs a folder it cannot watch and goes on', async () => {
    const logs = new LogCapture('debug');
    const hints = new ChangeHints(() => undefined, logs.logger);
    open.push(hints);
    hints.watch(join(await tempDir(), 'missing'));
    expect(logs.find((line) => String(line.msg).startsWith('cannot watch folder'))).toBeDefined();
  });
});

describe('ReadScheduler with hints from a throttled watcher and from the OS', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("reads again past chokidar's 50 ms throttle window after its events only", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const reads: string[] = [];
    const scheduler = new ReadScheduler(
      {
        read: (key): Promise<ReadOutcome> => {
          reads.push(key);
          return Promise.resolve('unchanged');
        },
      },
      { schedule: { ...DEFAULT_CONFIG.watch, safetyPollMs: 0 }, breaker: DEFAULT_CONFIG.breaker },
    );
    // The scheduler's clock (performance.now()) is faked too; a real process never reads it at 0.
    await vi.advanceTimersByTimeAsync(1000);
    scheduler.hint('os', false);
    scheduler.hint('chokidar', true);
    await vi.advanceTimersByTimeAsync(DEFAULT_CONFIG.watch.debounceMs + 1);
    expect(reads.sort()).toEqual(['chokidar', 'os']);
    await vi.advanceTimersByTimeAsync(100);
    expect(reads.sort()).toEqual(['chokidar', 'chokidar', 'os']);
    await scheduler.close();
  });
});
