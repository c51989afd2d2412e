import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { FormatRegistry } from '../formats/registry.js';
import type { Logger } from '../ops/logger.js';
import { FileTail, type FileTailOptions } from './file-tail.js';
import { ReadScheduler, type ReadSchedulerOptions } from './read-scheduler.js';

export interface SourceWatcherOptions extends Omit<FileTailOptions, 'registry' | 'logger'> {
  /** The folder to watch. */
  path: string;
  registry: FormatRegistry;
  logger: Logger;
  schedule: ReadSchedulerOptions;
  /** Poll with stat instead of OS events (network shares). */
  usePolling: boolean;
  pollIntervalMs: number;
  /** Sub-folder levels watched below `path`. */
  depth: number;
}

/**
 * One watched folder: chokidar events (hints only) drive a read scheduler, which reads each
 * file through its own FileTail. Deleting a file forgets it; its symbols keep their last
 * state, and a file re-created under the same name is read from its start.
 */
export class SourceWatcher {
  readonly root: string;
  readonly #options: SourceWatcherOptions;
  readonly #logger: Logger;
  readonly #tails = new Map<string, FileTail>();
  readonly #scheduler: ReadScheduler;
  #watcher: FSWatcher | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: SourceWatcherOptions) {
    this.root = resolve(options.path);
    this.#options = options;
    this.#logger = options.logger.child({ source: this.root });
    this.#scheduler = new ReadScheduler(options.schedule, (path) => this.#readFile(path));
  }

  /** Starts watching; resolves once the files present at start have been read once. */
  async start(): Promise<void> {
    await stat(this.root).catch(() => this.#logger.warn('watched folder does not exist (yet); waiting for it'));
    const watcher = watch(this.root, {
      persistent: true,
      ignoreInitial: false,
      depth: this.#options.depth,
      usePolling: this.#options.usePolling,
      interval: this.#options.pollIntervalMs,
      binaryInterval: this.#options.pollIntervalMs,
      ignored: (path, stats) => stats?.isFile() === true && !this.#options.registry.couldRead(basename(path)),
    });
    this.#watcher = watcher;
    watcher.on('add', (path) => this.#onEvent(path));
    watcher.on('change', (path) => this.#onEvent(path));
    watcher.on('unlink', (path) => this.#onUnlink(path));
    watcher.on('error', (error) => this.#logger.error({ err: error }, 'watcher error; watching continues'));
    await new Promise<void>((ready) => watcher.once('ready', ready));
    if (this.#closing) return;
    await Promise.all([...this.#tails.keys()].map((path) => this.#scheduler.readNow(path)));
    this.#logger.info({ files: this.#tails.size }, 'watching');
  }

  /** Files being read, with their format. */
  files(): { path: string; format: string | null }[] {
    return [...this.#tails.values()].map((tail) => ({ path: tail.path, format: tail.format?.name ?? null }));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#watcher?.close();
      await this.#scheduler.close();
      this.#tails.clear();
    })();
    return this.#closing;
  }

  #onEvent(path: string): void {
    if (this.#closing) return;
    if (!this.#tails.has(path)) {
      this.#tails.set(path, new FileTail(path, { ...this.#options, logger: this.#logger }));
    }
    this.#scheduler.hint(path);
  }

  #onUnlink(path: string): void {
    if (!this.#tails.delete(path)) return;
    this.#scheduler.remove(path);
    this.#logger.info({ file: path }, 'file removed; its symbols keep their last state');
  }

  async #readFile(path: string): Promise<'changed' | 'unchanged' | 'retry' | 'gone'> {
    const tail = this.#tails.get(path);
    if (!tail) return 'gone';
    return tail.read();
  }
}
