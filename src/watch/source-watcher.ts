import { stat } from 'node:fs/promises';
import { basename, relative, resolve, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import picomatch from 'picomatch';
import type { FormatRegistry } from '../formats/registry.js';
import type { Logger } from '../ops/logger.js';
import { FileTail, type FileProblems, type FileTailOptions } from './file-tail.js';
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
  /**
   * Globs (relative to `path`, `/`-separated) of the files read; `!glob` excludes. Every file
   * a format reads when there is no positive glob.
   */
  include?: readonly string[];
}

/** One watched folder's files and their problems (for health, stats and metrics). */
export interface SourceStatus {
  path: string;
  /** Problems in all of its files since start. */
  problems: number;
  files: { path: string; format: string | null; problems: FileProblems }[];
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
  readonly #included: (relativePath: string) => boolean;
  /** The current file of each series (Sierra's depth files, one per day): older ones are not read. */
  readonly #series = new Map<string, { path: string; rank: string }>();
  /** Problems of files no longer read (deleted, or superseded by a newer file of their series). */
  #pastProblems = 0;
  #watcher: FSWatcher | null = null;
  #ready = false;
  #closing: Promise<void> | null = null;

  constructor(options: SourceWatcherOptions) {
    this.root = resolve(options.path);
    this.#options = options;
    this.#logger = options.logger.child({ source: this.root });
    this.#scheduler = new ReadScheduler(options.schedule, (path) => this.#readFile(path));
    this.#included = includeFilter(options.include ?? []);
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
      ignored: (path, stats) => stats?.isFile() === true && !this.#reads(path),
    });
    this.#watcher = watcher;
    watcher.on('add', (path) => this.#onEvent(path));
    watcher.on('change', (path) => this.#onEvent(path));
    watcher.on('unlink', (path) => this.#onUnlink(path));
    watcher.on('error', (error) => this.#logger.error({ err: error }, 'watcher error; watching continues'));
    await new Promise<void>((ready) => watcher.once('ready', ready));
    this.#ready = true;
    if (this.#closing) return;
    await Promise.all([...this.#tails.keys()].map((path) => this.#scheduler.readNow(path)));
    this.#logger.info({ files: this.#tails.size }, 'watching');
  }

  /** Files being read, with their format. */
  files(): { path: string; format: string | null }[] {
    return [...this.#tails.values()].map((tail) => ({ path: tail.path, format: tail.format?.name ?? null }));
  }

  /** Files being read and the problems found in them. */
  status(): SourceStatus {
    const files = [...this.#tails.values()].map((tail) => ({ path: tail.path, format: tail.format?.name ?? null, problems: { ...tail.problems } }));
    const problems = files.reduce((sum, file) => sum + file.problems.count, this.#pastProblems);
    return { path: this.root, problems, files };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#watcher?.close();
      await this.#scheduler.close();
      this.#tails.clear();
    })();
    return this.#closing;
  }

  /** Whether a file is read: a format could read its name and it matches `include`. */
  #reads(path: string): boolean {
    if (!this.#options.registry.couldRead(basename(path))) return false;
    return this.#included(relative(this.root, path).split(sep).join('/'));
  }

  #onEvent(path: string): void {
    if (this.#closing) return;
    if (!this.#tails.has(path)) {
      // chokidar may ask `ignored` before it has a file's stats: check again here.
      if (!this.#reads(path) || !this.#isCurrentOfSeries(path)) return;
      this.#tails.set(path, new FileTail(path, { ...this.#options, logger: this.#logger }));
    }
    // Files found by the first scan are read once it is done (start()).
    if (this.#ready) this.#scheduler.hint(path);
  }

  /**
   * Whether a file is the newest of its series (a new day's depth file continues its
   * symbol): an older one is not read, and a newer one stops the reading of the previous.
   */
  #isCurrentOfSeries(path: string): boolean {
    const series = this.#options.registry.seriesOf(basename(path));
    if (!series) return true;
    const current = this.#series.get(series.key);
    if (current && current.path !== path) {
      if (series.rank < current.rank) {
        this.#logger.debug({ file: path, current: current.path }, 'older file of a series; not read');
        return false;
      }
      this.#forget(current.path);
      this.#logger.info({ file: path, previous: current.path }, 'newer file of a series; reading it instead');
    }
    this.#series.set(series.key, { path, rank: series.rank });
    return true;
  }

  #forget(path: string): boolean {
    const tail = this.#tails.get(path);
    if (!tail) return false;
    this.#pastProblems += tail.problems.count;
    this.#tails.delete(path);
    this.#scheduler.remove(path);
    return true;
  }

  #onUnlink(path: string): void {
    if (!this.#forget(path)) return;
    for (const [key, current] of this.#series) if (current.path === path) this.#series.delete(key);
    this.#logger.info({ file: path }, 'file removed; its symbols keep their last state');
  }

  async #readFile(path: string): Promise<'changed' | 'unchanged' | 'retry' | 'gone'> {
    const tail = this.#tails.get(path);
    if (!tail) return 'gone';
    return tail.read();
  }
}

/** A path matches when some positive glob (or none is given) and no `!` glob matches it. */
function includeFilter(globs: readonly string[]): (relativePath: string) => boolean {
  const positive = globs.filter((glob) => !glob.startsWith('!'));
  const negative = globs.filter((glob) => glob.startsWith('!')).map((glob) => glob.slice(1));
  const included = positive.length === 0 ? () => true : picomatch(positive, { dot: true });
  const excluded = negative.length === 0 ? () => false : picomatch(negative, { dot: true });
  return (path) => included(path) && !excluded(path);
}
