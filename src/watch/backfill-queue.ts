import { setImmediate } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../core/logger.js';
import type { BackfillProgress } from './file-tail.js';

/** What the queue needs of a file read tail first. */
export interface BackfillingFile {
  readonly path: string;
  /** Reads the next run of history; true while there is more. */
  backfill(): Promise<boolean>;
  readonly backfillProgress: BackfillProgress | null;
}

/** The warm-up of one watched folder: the history still to read behind the tails served first. */
export interface WarmupStatus {
  /** Files whose history was read in full since the folder was first watched. */
  filesDone: number;
  /** Files whose history is still being read, each with its bytes left. */
  files: ({ path: string } & BackfillProgress)[];
  /** How long the last warm-up took, from its first file queued to its last file's history read; null before one ended. */
  tookMs: number | null;
}

/**
 * Reads the history of the files opened tail first, after their tails were served: one
 * run of one file per turn of the event loop, round robin over the files, so that every
 * file's history advances together and clients are served between runs. Files queued
 * before open() wait for it (the tails of every file present at start come first).
 */
export class BackfillQueue {
  readonly #logger: Logger;
  readonly #files = new Map<string, BackfillingFile>();
  #open = false;
  #running: Promise<void> | null = null;
  #closed = false;
  #filesDone = 0;
  #tookMs: number | null = null;
  /** The warm-up under way: since when, and the files and bytes it was given. */
  #warming: { since: number; files: number; bytes: number } | null = null;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Queues a file whose history is still to read (again: a no-op). */
  add(file: BackfillingFile): void {
    const progress = file.backfillProgress;
    if (this.#closed || this.#files.has(file.path) || progress === null) return;
    this.#files.set(file.path, file);
    const warming = (this.#warming ??= { since: performance.now(), files: 0, bytes: 0 });
    warming.files++;
    warming.bytes += progress.bytesTotal;
    this.#kick();
  }

  /** Forgets a file no longer read (deleted, or superseded by a newer file of its series). */
  remove(path: string): void {
    if (this.#files.delete(path) && this.#files.size === 0) this.#warmed();
  }

  /** Starts reading the files queued, and those queued from now on. */
  open(): void {
    this.#open = true;
    this.#kick();
  }

  status(): WarmupStatus {
    const files: WarmupStatus['files'] = [];
    // A file whose last step is ending (its history committed, its handle closing) is still listed, with nothing left.
    for (const file of this.#files.values()) files.push({ path: file.path, ...(file.backfillProgress ?? { bytesLeft: 0, bytesTotal: 0 }) });
    return { filesDone: this.#filesDone, files, tookMs: this.#tookMs };
  }

  /** Stops between two runs (a file's history is then read again at the next start). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#files.clear();
    await this.#running;
  }

  #kick(): void {
    if (this.#open && !this.#running && this.#files.size > 0) this.#running = this.#run().finally(() => (this.#running = null));
  }

  async #run(): Promise<void> {
    while (!this.#closed && this.#files.size > 0) {
      for (const file of [...this.#files.values()]) {
        // Removed meanwhile, or closed (which forgets every file).
        if (this.#files.get(file.path) !== file) continue;
        const more = await file.backfill().catch((error: unknown) => {
          this.#logger.warn({ event: 'backfill_failed', file: file.path, err: error }, 'history behind the tail could not be read');
          return false;
        });
        if (!more) {
          this.#files.delete(file.path);
          this.#filesDone++;
          if (this.#files.size === 0) this.#warmed();
        }
        await setImmediate();
      }
    }
  }

  /** The last file's history was read: the warm-up ends, with one line saying how long it took. */
  #warmed(): void {
    const warming = this.#warming;
    if (this.#closed || !warming) return;
    this.#warming = null;
    const tookMs = (this.#tookMs = Math.round(performance.now() - warming.since));
    this.#logger.info(
      { event: 'warmup_done', files: warming.files, bytes: warming.bytes, tookMs },
      `warm-up done: the history of ${warming.files} file(s), ${(warming.bytes / 2 ** 20).toFixed(1)} MB, read in ${(tookMs / 1000).toFixed(1)} s`,
    );
  }
}
