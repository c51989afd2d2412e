import { isDeepStrictEqual } from 'node:util';
import { stableJson, type Config, type SourceConfig } from './config.js';
import { servedReason, type ComponentHealth, type HealthStatus } from '../core/health.js';
import type { Logger } from '../core/logger.js';
import type { SourceStatus, SourceWatcher } from '../watch/source-watcher.js';
import type { WarmupStatus } from '../watch/backfill-queue.js';
import type { Store } from '../state/store.js';
import type { SourceFile } from '../transports/sources-route.js';

/** `initial`: a folder watched from the start (its files are read tail first); false for one a config change adds or reads again. */
export type CreateWatcher = (source: SourceConfig, config: Config, initial: boolean) => SourceWatcher;

interface Entry {
  key: string;
  source: SourceConfig;
  watcher: SourceWatcher;
}

/** The history still to read behind the tails served first, over every folder (/v1/stats `warmup`). */
export interface BridgeWarmup {
  /** The files present at start were read, and none has history left to read. */
  done: boolean;
  filesDone: number;
  filesLeft: number;
  bytesLeft: number;
  /** The longest folder's last warm-up, in ms; null before one ended. */
  tookMs: number | null;
  files: WarmupStatus['files'];
}

/** Keys whose change needs every file read again from its start. */
const REREAD_KEYS = (config: Config): unknown[] => [
  config.document.bars,
  config.document.sessionZone,
  config.document.bookLevels,
  config.watch.chunkBytes,
  config.watch.maxWholeBytes,
  config.watch.maxBackfillBytes,
];

/**
 * The watched folders of the running config. A change of config starts the folders added,
 * closes those removed, and gives the others their new timings; a source whose own options
 * changed, or a change of bar windows or read sizes, means reading its files again from
 * their start (the store diffs what they then contribute, so clients get patches).
 */
export class SourceSet {
  readonly #create: CreateWatcher;
  readonly #logger: Logger;
  #entries: Entry[] = [];
  #closed = false;
  #started = false;

  constructor(create: CreateWatcher, logger: Logger) {
    this.#create = create;
    this.#logger = logger;
  }

  /** Starts a watcher per source; resolves once each has read the files present. */
  async start(config: Config): Promise<void> {
    this.#entries = config.sources.map((source) => this.#entry(source, config, true));
    await Promise.all(this.#entries.map((entry) => entry.watcher.start()));
    this.#started = true;
  }

  /** The warm-up of every folder: done once the files present at start were read and no history is left behind their tails. */
  warmup(): BridgeWarmup {
    let filesDone = 0;
    let bytesLeft = 0;
    let tookMs: number | null = null;
    const files: BridgeWarmup['files'] = [];
    for (const { watcher } of this.#entries) {
      const warmup = watcher.warmup();
      filesDone += warmup.filesDone;
      if (warmup.tookMs !== null) tookMs = Math.max(tookMs ?? 0, warmup.tookMs);
      for (const file of warmup.files) {
        bytesLeft += file.bytesLeft;
        files.push(file);
      }
    }
    return { done: this.#started && files.length === 0, filesDone, filesLeft: files.length, bytesLeft, tookMs, files };
  }

  /**
   * Moves to `next`: closes the folders no longer watched, then starts the new ones. When
   * one fails to start, the new ones are closed, the old ones started again, and it throws.
   */
  async apply(next: Config, previous: Config): Promise<void> {
    if (this.#closed) return;
    const reread = !isDeepStrictEqual(REREAD_KEYS(next), REREAD_KEYS(previous));
    const wanted = next.sources.map((source) => ({ key: sourceKey(source), source }));
    const kept: Entry[] = [];
    const removed: Entry[] = [];
    for (const entry of this.#entries) {
      const match = reread ? -1 : wanted.findIndex((want) => want.key === entry.key);
      if (match >= 0) {
        wanted.splice(match, 1);
        kept.push(entry);
      } else {
        removed.push(entry);
      }
    }
    for (const entry of kept) entry.watcher.applySchedule(next.watch, next.breaker);
    if (removed.length === 0 && wanted.length === 0) return;

    await Promise.all(removed.map((entry) => entry.watcher.close()));
    const added = wanted.map(({ source }) => this.#entry(source, next, false));
    try {
      await Promise.all(added.map((entry) => entry.watcher.start()));
    } catch (error) {
      await Promise.all(added.map((entry) => entry.watcher.close()));
      const restored = removed.map((entry) => this.#entry(entry.source, previous, false));
      this.#entries = [...kept, ...restored];
      for (const entry of kept) entry.watcher.applySchedule(previous.watch, previous.breaker);
      await Promise.all(restored.map((entry) => entry.watcher.start()));
      throw error;
    }
    const pool = [...kept, ...added];
    this.#entries = next.sources.map((source) => {
      const key = sourceKey(source);
      return pool.splice(
        pool.findIndex((entry) => entry.key === key),
        1,
      )[0] as Entry;
    });
    this.#logger.info({ added: wanted.map(({ source }) => source.path), removed: removed.map((entry) => entry.source.path) }, 'sources changed');
  }

  /** Every file's reading and ingest (JSON), for a checkpoint, with the identity of the source that reads it. */
  async checkpoint(): Promise<{ source: string; files: string[] }[]> {
    const saved: { source: string; files: string[] }[] = [];
    for (const { key, watcher } of [...this.#entries]) saved.push({ source: key, files: await watcher.checkpoint() });
    return saved;
  }

  /** Every file being read, with its folder and the symbols the store holds from it (GET /v1/sources). */
  files(store: Store): SourceFile[] {
    const symbols = new Map<string, string[]>();
    for (const state of store.symbols()) {
      for (const key of state.contributions.keys()) {
        const list = symbols.get(key);
        if (list) list.push(state.symbol);
        else symbols.set(key, [state.symbol]);
      }
    }
    return this.#entries.flatMap(({ watcher }) =>
      watcher.fileReports().map((report) => ({ folder: watcher.root, ...report, symbols: (symbols.get(report.path) ?? []).sort() })),
    );
  }

  /** Each folder's status, with a name for its health component (`source:<path>`). */
  statuses(): { name: string; status: SourceStatus }[] {
    const names = new Map<string, number>();
    return this.#entries.map(({ watcher }) => {
      const status = watcher.status();
      const base = `source:${status.path}`;
      const seen = (names.get(base) ?? 0) + 1;
      names.set(base, seen);
      return { name: seen === 1 ? base : `${base} (${seen})`, status };
    });
  }

  #closing: Promise<void> | null = null;

  /** Closes every folder's watcher. Memoised: every call gets the same promise. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= Promise.all(this.#entries.map((entry) => entry.watcher.close())).then(() => undefined);
    return this.#closing;
  }

  #entry(source: SourceConfig, config: Config, initial: boolean): Entry {
    return { key: sourceKey(source), source, watcher: this.#create(source, config, initial) };
  }
}

/** A source's identity: all its options. */
export const sourceKey = (source: SourceConfig): string => stableJson(source);

/** What shapes every file's contribution (windows, zone, read sizes): a checkpoint of another shape is not taken. */
export const documentShape = (config: Config): string => stableJson(REREAD_KEYS(config));

/**
 * Reads stalled at once that make a folder, or all of them, UNHEALTHY: libuv's thread pool
 * has 4 threads by default (UV_THREADPOOL_SIZE), and each stalled read holds one, so at 3
 * one thread is left for every other file, the log and the config.
 */
const STALLED_UNHEALTHY = 3;
/** A read stalled this many times watch.readTimeoutMs is UNHEALTHY on its own. */
const STALL_UNHEALTHY_FACTOR = 10;

/**
 * Health of the watched folders: one component per folder, DEGRADED while it is missing,
 * any of its files has a breaker not CLOSED, or a read of one of them has been running
 * past watch.readTimeoutMs; UNHEALTHY when a read has been running 10 times that long or 3
 * are stalled. And `sources`, UNHEALTHY when every file of every folder has its breaker
 * OPEN (nothing can flow) or 3 reads are stalled in all.
 */
export function sourceHealth(statuses: readonly { name: string; status: SourceStatus }[]): [string, ComponentHealth][] {
  let files = 0;
  let open = 0;
  let stalled = 0;
  const components: [string, ComponentHealth][] = statuses.map(({ name, status }) => {
    files += status.files.length;
    open += status.breakers.OPEN;
    stalled += status.stalled.length;
    const hung = status.stalled.length >= STALLED_UNHEALTHY || status.stalled.some((read) => read.forMs >= status.readTimeoutMs * STALL_UNHEALTHY_FACTOR);
    const degraded = !status.exists || status.breakers.OPEN + status.breakers.HALF_OPEN > 0 || status.stalled.length > 0;
    // The per-file lists stay in /v1/stats; health gives the counts.
    return [
      name,
      {
        status: hung ? 'UNHEALTHY' : degraded ? 'DEGRADED' : 'HEALTHY',
        ...servedStatus(status),
        files: status.files.length,
        warmup: warmupCounts(status.warmup),
      },
    ];
  });
  const summary: HealthStatus = (files > 0 && open === files) || stalled >= STALLED_UNHEALTHY ? 'UNHEALTHY' : 'HEALTHY';
  components.push(['sources', { status: summary, folders: statuses.length, files, open, stalled }]);
  return components;
}

/** A folder's warm-up as health reports it: served while it runs (HEALTHY), with its files done and left and the bytes left. */
function warmupCounts(warmup: WarmupStatus): { filesDone: number; filesLeft: number; bytesLeft: number; tookMs: number | null } {
  return {
    filesDone: warmup.filesDone,
    filesLeft: warmup.files.length,
    bytesLeft: warmup.files.reduce((sum, file) => sum + file.bytesLeft, 0),
    tookMs: warmup.tookMs,
  };
}

/** A folder's status as it is served: failure reasons short and structured (servedReason), never file bytes. */
export function servedStatus(status: SourceStatus): SourceStatus {
  return {
    ...status,
    files: status.files.map((file) => ({
      ...file,
      problems: { ...file.problems, last: file.problems.last && { ...file.problems.last, reason: servedReason(file.problems.last.reason) ?? '' } },
    })),
    failing: status.failing.map((failure) => ({ ...failure, reason: servedReason(failure.reason) })),
  };
}
