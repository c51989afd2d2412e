import { stat } from 'node:fs/promises';
import { setImmediate } from 'node:timers/promises';
import { basename, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { watch, type FSWatcher } from 'chokidar';
import picomatch from 'picomatch';
import type { FormatRegistry } from '../formats/registry.js';
import { BREAKER_STATES, DEFAULT_BREAKER, type BreakerOptions, type BreakerState, type BreakerTransition } from '../core/circuit-breaker.js';
import type { Logger } from '../core/logger.js';
import type { FileEvent, SourceCounters } from './counters.js';
import { BackfillQueue, type WarmupStatus } from './backfill-queue.js';
import { ChangeHints } from './change-hints.js';
import { FileGate } from './file-gate.js';
import { FileTail, type FileProblems, type FileReading, type FileTailOptions, type ReadOutcome } from './file-tail.js';
import { READ_DEFAULTS, ReadScheduler, type ReadSchedulerOptions } from './read-scheduler.js';

/** The circuit breaker of a file in a watched folder changed state. */
export interface FileBreakerEvent extends BreakerTransition {
  /** The watched folder. */
  source: string;
  file: string;
  /** Why its last read failed. */
  reason: string | null;
}

/** A watched folder as health and stats report it. */
export interface SourceStatus {
  path: string;
  /** The folder exists (it may appear later; watching waits for it). */
  exists: boolean;
  /** The files being read, with the problems found in each. */
  files: { path: string; format: string | null; problems: FileProblems }[];
  breakers: Record<BreakerState, number>;
  /** Files whose breaker is not CLOSED, or that are failing. */
  failing: { file: string; state: BreakerState; failures: number; reason: string | null; retryInMs: number | null }[];
  /** Files seen but not read: not regular files (FIFOs, devices, sockets), links out of the folder, second paths to one file. */
  skipped: { file: string; reason: string }[];
  /** Reads running past watch.readTimeoutMs (a hung share, a blocked handle). */
  stalled: { file: string; forMs: number }[];
  /** watch.readTimeoutMs: a read longer than this is stalled. */
  readTimeoutMs: number;
  /** Last read that succeeded (epoch ms), with or without new data; null before any. */
  lastGoodReadAt: number | null;
  /** Last read that found new data (epoch ms). */
  lastDataAt: number | null;
  /** Records, lines or contents that did not decode since start (files no longer read included). */
  problems: number;
  /** Problems and failed reads since start. */
  errors: number;
  /** The history still to read behind the tails of files opened tail first. */
  warmup: WarmupStatus;
}

/** One file being read, as the dashboard's sources panel shows it (GET /v1/sources). */
export interface FileReport extends FileReading {
  path: string;
  format: string | null;
  /** Its circuit breaker's state; null before its first read was scheduled. */
  breaker: BreakerState | null;
  /** Why its last read failed, while it is failing. */
  failure: string | null;
  problems: FileProblems;
}

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
  /** When a failing file is tried again (default: DEFAULT_BREAKER). */
  breaker?: BreakerOptions;
  /** Told when a file's breaker changes state. */
  onBreaker?: (event: FileBreakerEvent) => void;
  /** Counts events, reads, bytes and problems. */
  counters?: SourceCounters;
  /**
   * Globs (relative to `path`, `/`-separated) of the files read; `!glob` excludes. Every file
   * a format reads when there is no positive glob.
   */
  include?: readonly string[];
  /** Read links that lead out of the folder (default false: only links whose target is inside it). */
  followSymlinks?: boolean;
}

/**
 * How often chokidar looks for files and folders that appeared or went, in a local folder
 * (where the operating system's events say at once which file changed: ChangeHints).
 */
const DISCOVERY_POLL_MS = 1000;

/**
 * One watched folder: events (hints only) drive a read scheduler, which reads each file
 * through its own FileTail. In a local folder the hints come from the operating system
 * (ChangeHints) and chokidar, polling, tracks which files and folders exist; with
 * `usePolling` (network shares) chokidar's polling gives both. Deleting a file forgets it;
 * its symbols keep their last state, and a file re-created under the same name is read from
 * its start.
 */
export class SourceWatcher {
  readonly root: string;
  readonly #options: SourceWatcherOptions;
  readonly #logger: Logger;
  readonly #tails = new Map<string, FileTail>();
  readonly #scheduler: ReadScheduler;
  readonly #backfills: BackfillQueue;
  readonly #counters: SourceCounters | null;
  readonly #included: (relativePath: string) => boolean;
  readonly #gate: FileGate;
  /** A look again at the skipped files is queued (#reconsiderSkipped). */
  #reconsidering = false;
  /** The current file of each series (Sierra's depth files, one per day): older ones are not read. */
  readonly #series = new Map<string, { path: string; rank: string }>();
  /** Problems of files no longer read (deleted, or superseded by a newer file of their series). */
  #pastProblems = 0;
  #watcher: FSWatcher | null = null;
  #hints: ChangeHints | null = null;
  #ready = false;
  #closing: Promise<void> | null = null;
  #exists = true;
  /** Looks for the folder while it does not exist (chokidar does not see it appear). */
  #folderPoll: NodeJS.Timeout | null = null;
  #lastGoodReadAt: number | null = null;
  #lastDataAt: number | null = null;
  #failedReads = 0;

  constructor(options: SourceWatcherOptions) {
    this.root = resolve(options.path);
    this.#counters = options.counters ?? null;
    const counters = this.#counters;
    const gate = (this.#gate = new FileGate(this.root, options.followSymlinks ?? false, () => this.#reconsiderSkipped()));
    this.#options = {
      ...options,
      admit: (path) => gate.admit(path),
      onProblem: (path) => {
        counters?.problems.add();
        options.onProblem?.(path);
      },
      ...(counters ? { readBytes: counters.bytes } : {}),
    };
    this.#logger = options.logger.child({ source: this.root });
    this.#backfills = new BackfillQueue(this.#logger);
    this.#scheduler = new ReadScheduler(
      {
        read: (path) => this.#readFile(path),
        onBreaker: (file, transition) => options.onBreaker?.({ ...transition, source: this.root, file, reason: this.#tails.get(file)?.lastFailure ?? null }),
        onStall: (file, stalled, forMs) => this.#onStall(file, stalled, forMs),
      },
      { schedule: options.schedule, breaker: options.breaker ?? DEFAULT_BREAKER },
    );
    this.#included = includeFilter(options.include ?? []);
  }

  /** Takes new read timings and breaker settings for every file. */
  applySchedule(schedule: ReadSchedulerOptions, breaker: BreakerOptions): void {
    this.#scheduler.applyOptions(schedule, breaker);
  }

  /** Starts watching; resolves once the files present at start have been read once. */
  async start(): Promise<void> {
    await stat(this.root).catch(() => {
      this.#exists = false;
      this.#logger.warn({ event: 'folder_missing' }, 'watched folder does not exist (yet); waiting for it');
    });
    const hints = this.#options.usePolling ? null : new ChangeHints((path) => this.#onHint(path), this.#logger);
    this.#hints = hints;
    const interval = this.#options.usePolling ? this.#options.pollIntervalMs : DISCOVERY_POLL_MS;
    const watcher = watch(this.root, {
      persistent: true,
      ignoreInitial: false,
      depth: this.#options.depth,
      // Polling also where the OS has events: chokidar's event mode re-reads the whole folder on every write in it.
      usePolling: true,
      interval,
      binaryInterval: interval,
      ignored: (path, stats) => stats?.isFile() === true && !this.#reads(path),
    });
    this.#watcher = watcher;
    watcher.on('add', (path) => this.#onEvent(path, 'add'));
    // Where the OS says what changed, chokidar's polling only tells what exists.
    if (!hints) watcher.on('change', (path) => this.#onEvent(path, 'change'));
    watcher.on('unlink', (path) => void this.#onUnlink(path));
    watcher.on('addDir', (path) => {
      if (path === this.root) this.#exists = true;
      hints?.watch(path);
    });
    watcher.on('unlinkDir', (path) => {
      hints?.unwatch(path);
      if (path === this.root) this.#lostFolder(watcher);
    });
    watcher.on('error', (error) => this.#logger.error({ event: 'watcher_failed', err: error }, 'watcher error; watching continues'));
    await new Promise<void>((ready) => watcher.once('ready', ready));
    this.#ready = true;
    if (this.#closing) return;
    if (!this.#exists) this.#awaitFolder(watcher);
    await Promise.all([...this.#tails.keys()].map((path) => this.#scheduler.readNow(path)));
    // Every file's tail was read: the history behind them comes now.
    this.#backfills.open();
    this.#logger.info({ files: this.#tails.size }, 'watching');
  }

  /**
   * Each file's reading and ingest, for a checkpoint (FileTail.checkpoint, JSON): those with
   * something to go on from. One file at a time, each in its own turn of the event loop, so
   * that clients are served between them.
   */
  async checkpoint(): Promise<string[]> {
    const saved: string[] = [];
    for (const tail of [...this.#tails.values()]) {
      const file = await tail.checkpoint();
      if (file !== null) saved.push(file);
      await setImmediate();
    }
    return saved;
  }

  /** Files being read, with their format. */
  files(): { path: string; format: string | null }[] {
    return [...this.#tails.values()].map((tail) => ({ path: tail.path, format: tail.format?.name ?? null }));
  }

  /** Each file being read: how far, when, its breaker and its problems. */
  fileReports(): FileReport[] {
    const breakers = new Map(this.#scheduler.breakers());
    return [...this.#tails.values()].map((tail) => ({
      path: tail.path,
      format: tail.format?.name ?? null,
      ...tail.reading,
      breaker: breakers.get(tail.path)?.state ?? null,
      failure: tail.lastFailure ?? tail.refused,
      problems: { ...tail.problems },
    }));
  }

  /** The history still to read behind the tails of files opened tail first. */
  warmup(): WarmupStatus {
    return this.#backfills.status();
  }

  /** Breaker states, failing files, last reads, and the problems found in each file. */
  status(): SourceStatus {
    const breakers = Object.fromEntries(BREAKER_STATES.map((state) => [state, 0])) as Record<BreakerState, number>;
    const failing: SourceStatus['failing'] = [];
    const now = performance.now();
    for (const [file, breaker] of this.#scheduler.breakers()) {
      breakers[breaker.state]++;
      if (breaker.state === 'CLOSED' && breaker.failures === 0) continue;
      const retryInMs = breaker.retryAt > 0 ? Math.max(0, Math.round(breaker.retryAt - now)) : null;
      failing.push({ file, state: breaker.state, failures: breaker.failures, reason: this.#tails.get(file)?.lastFailure ?? null, retryInMs });
    }
    const tails = [...this.#tails.values()];
    const files = tails.map((tail) => ({ path: tail.path, format: tail.format?.name ?? null, problems: { ...tail.problems } }));
    const skipped = tails.flatMap((tail) => (tail.refused === null ? [] : [{ file: tail.path, reason: tail.refused }]));
    const problems = files.reduce((sum, file) => sum + file.problems.count, this.#pastProblems);
    return {
      path: this.root,
      exists: this.#exists,
      files,
      breakers,
      failing,
      skipped,
      stalled: this.#scheduler.stalled().map(({ key, forMs }) => ({ file: key, forMs })),
      readTimeoutMs: this.#readTimeoutMs,
      lastGoodReadAt: this.#lastGoodReadAt,
      lastDataAt: this.#lastDataAt,
      problems,
      errors: problems + this.#failedReads,
      warmup: this.warmup(),
    };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#folderPoll) clearInterval(this.#folderPoll);
      this.#hints?.close();
      await this.#watcher?.close();
      await this.#backfills.close();
      await this.#scheduler.close();
      this.#tails.clear();
    })();
    return this.#closing;
  }

  get #readTimeoutMs(): number {
    return this.#options.schedule.readTimeoutMs ?? READ_DEFAULTS.readTimeoutMs;
  }

  #onStall(file: string, stalled: boolean, forMs: number): void {
    if (stalled) {
      this.#logger.warn(
        { event: 'read_stalled', file, forMs, readTimeoutMs: this.#readTimeoutMs },
        'read of a file has not finished; no other read of it is issued until it does',
      );
    } else {
      this.#logger.info({ event: 'read_unstalled', file, forMs }, 'stalled read finished');
    }
  }

  /**
   * The watched folder went away: its files are forgotten (their symbols keep their last
   * state), and the folder is looked for again, as one missing at start (it may be created
   * again, and its files are then read from their start).
   */
  #lostFolder(watcher: FSWatcher): void {
    this.#exists = false;
    this.#gate.rootChanged();
    if (this.#closing || this.#folderPoll !== null) return;
    const files = this.#tails.size;
    for (const path of [...this.#tails.keys()]) this.#forget(path);
    this.#series.clear();
    this.#logger.warn({ event: 'folder_gone', files }, 'watched folder removed; waiting for it to be created again');
    watcher.unwatch(this.root);
    this.#awaitFolder(watcher);
  }

  /** Polls for the missing folder (at the safety poll interval), and watches it once it is there. */
  #awaitFolder(watcher: FSWatcher): void {
    this.#folderPoll = setInterval(() => {
      void stat(this.root).then(
        () => {
          if (this.#closing || this.#folderPoll === null) return;
          clearInterval(this.#folderPoll);
          this.#folderPoll = null;
          this.#exists = true;
          this.#gate.rootChanged();
          this.#logger.info({ event: 'folder_appeared' }, 'watched folder appeared');
          watcher.add(this.root);
        },
        () => undefined,
      );
    }, this.#options.schedule.safetyPollMs || 1000);
  }

  /** Whether a file is read: a format could read its name and it matches `include`. */
  #reads(path: string): boolean {
    if (!this.#options.registry.couldRead(basename(path))) return false;
    return this.#included(relative(this.root, path).split(sep).join('/'));
  }

  /** `throttled`: a chokidar event (see ReadScheduler.hint), not the OS's own. */
  #onEvent(path: string, event: FileEvent, throttled = true): void {
    if (this.#closing) return;
    this.#counters?.events[event].add();
    if (!this.#tails.has(path)) {
      // chokidar may ask `ignored` before it has a file's stats: check again here.
      if (!this.#reads(path) || !this.#isCurrentOfSeries(path)) return;
      this.#tails.set(path, new FileTail(path, { ...this.#options, logger: this.#logger }));
    }
    // Files found by the first scan are read once it is done (start()).
    if (this.#ready) this.#scheduler.hint(path, throttled);
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
    this.#backfills.remove(path);
    this.#gate.release(path);
    return true;
  }

  /**
   * A file no longer read by one of its paths: the paths skipped as its duplicates look
   * again (once for all the files released in one turn, such as a whole folder's).
   */
  #reconsiderSkipped(): void {
    if (this.#reconsidering) return;
    this.#reconsidering = true;
    queueMicrotask(() => {
      this.#reconsidering = false;
      this.#reconsiderNow();
    });
  }

  #reconsiderNow(): void {
    for (const tail of this.#tails.values()) {
      if (tail.refused === null) continue;
      tail.reconsider();
      this.#scheduler.hint(tail.path, false);
    }
  }

  /** An OS event for `path`: a file that is not read is ignored, a new one is read at once. */
  #onHint(path: string): void {
    if (this.#closing || (!this.#tails.has(path) && !this.#reads(path))) return;
    this.#onEvent(path, 'change', false);
  }

  async #onUnlink(path: string): Promise<void> {
    if (!this.#tails.has(path)) return;
    // Polling can report a file gone that was deleted and already re-created: keep that one.
    if (
      await stat(path).then(
        () => true,
        () => false,
      )
    ) {
      this.#scheduler.hint(path);
      return;
    }
    if (this.#closing || !this.#forget(path)) return;
    this.#counters?.events.unlink.add();
    for (const [key, current] of this.#series) if (current.path === path) this.#series.delete(key);
    this.#logger.info({ file: path }, 'file removed; its symbols keep their last state');
  }

  async #readFile(path: string): Promise<ReadOutcome> {
    const tail = this.#tails.get(path);
    if (!tail) return 'gone';
    const outcome = await tail.read();
    this.#counters?.reads[outcome].add();
    if (outcome === 'changed' || outcome === 'unchanged') this.#lastGoodReadAt = Date.now();
    if (outcome === 'changed') this.#lastDataAt = this.#lastGoodReadAt;
    if (outcome === 'failed') this.#failedReads++;
    if (tail.backfillProgress) this.#backfills.add(tail);
    return outcome;
  }
}

/** A path matches when some positive glob (or none is given) and no `!` glob matches it. */
export function includeFilter(globs: readonly string[]): (relativePath: string) => boolean {
  const positive = globs.filter((glob) => !glob.startsWith('!'));
  const negative = globs.filter((glob) => glob.startsWith('!')).map((glob) => glob.slice(1));
  const included = positive.length === 0 ? () => true : picomatch(positive, { dot: true });
  const excluded = negative.length === 0 ? () => false : picomatch(negative, { dot: true });
  return (path) => included(path) && !excluded(path);
}
