import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../core/logger.js';

/**
 * Change hints straight from the operating system (inotify, ReadDirectoryChangesW,
 * FSEvents): one `fs.watch` per watched directory, which names the file of every write with
 * no stat and no directory scan.
 *
 * Why not chokidar's own events: chokidar re-reads a directory (readdir, then lstat of every
 * entry) on each event in it, back to back for as long as events keep coming. At 200 writes
 * a second in a folder of 50 export files that alone took 0.44 of a core, and the reads of
 * the files waited behind thousands of lstat calls in libuv's thread pool (bench/README.md).
 * chokidar still says which files and folders exist (SourceWatcher), polling at a slow pace.
 */
export class ChangeHints {
  readonly #watchers = new Map<string, FSWatcher>();
  readonly #onHint: (path: string) => void;
  readonly #logger: Logger;

  constructor(onHint: (path: string) => void, logger: Logger) {
    this.#onHint = onHint;
    this.#logger = logger;
  }

  /** Hints every change of a file directly in `dir` (not in its sub-folders: each has its own). */
  watch(dir: string): void {
    if (this.#watchers.has(dir)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => {
        // A null name (rare; some platforms under load) says nothing: the safety poll covers it.
        if (name) this.#onHint(join(dir, name));
      });
    } catch (error) {
      this.#logger.debug({ err: error, dir }, 'cannot watch folder for changes; the safety poll reads its files');
      return;
    }
    watcher.on('error', (error) => {
      this.#logger.debug({ err: error, dir }, 'folder change events stopped; the safety poll reads its files');
      this.unwatch(dir);
    });
    this.#watchers.set(dir, watcher);
  }

  unwatch(dir: string): void {
    this.#watchers.get(dir)?.close();
    this.#watchers.delete(dir);
  }

  close(): void {
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }
}
