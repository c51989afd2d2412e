import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from './logger.js';

/** Editors save in steps (truncate, write, rename): wait for the file to settle. */
const SETTLE_MS = 100;

/**
 * Watches a few files (the config files, the tokens file) that may not exist yet, and
 * calls `onChange` once they have been quiet for a moment after a change, creation or
 * removal (a replace-by-rename counts as a change).
 */
export class FileWatcher {
  readonly #onChange: () => void;
  readonly #logger: Logger;
  #watcher: FSWatcher | null = null;
  #ready: Promise<void> = Promise.resolve();
  #paths: string[] = [];
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(paths: readonly string[], onChange: () => void, logger: Logger) {
    this.#onChange = onChange;
    this.#logger = logger;
    this.watchOnly(paths);
  }

  /** Resolves once the files are watched. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Watches `paths` instead of the files watched so far. */
  watchOnly(paths: readonly string[]): void {
    if (this.#closed) return;
    const removed = this.#paths.filter((path) => !paths.includes(path));
    const added = paths.filter((path) => !this.#paths.includes(path));
    this.#paths = [...paths];
    if (removed.length > 0) this.#watcher?.unwatch(removed);
    if (added.length === 0) return;
    if (this.#watcher) {
      this.#watcher.add(added);
      return;
    }
    // chokidar announces `ready` only once it watches something: created on the first path.
    const watcher = watch(added, { ignoreInitial: true, persistent: true });
    this.#watcher = watcher;
    this.#ready = new Promise((resolve) => watcher.once('ready', () => resolve()));
    watcher.on('all', () => this.#changed());
    watcher.on('error', (error) => this.#logger.warn({ event: 'config_watch_failed', err: error }, 'watching the config files failed; edits may go unnoticed'));
  }

  #closing: Promise<void> | null = null;

  /** Stops watching. Memoised: every call gets the same promise. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#watcher?.close();
  }

  #changed(): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#onChange();
    }, SETTLE_MS);
  }
}
