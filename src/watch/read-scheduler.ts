import { CircuitBreaker, type BreakerOptions, type BreakerTransition } from '../core/circuit-breaker.js';
import type { ReadOutcome } from './file-tail.js';

/** What the scheduler assumes when its options leave these out (`watch.*` in the config). */
export const READ_DEFAULTS = { leadingEdge: true, safetyPollFiles: 200, readTimeoutMs: 5000 } as const;

export interface ReadSchedulerOptions {
  /**
   * Change events closer together than this are one burst, read together this long after
   * its last event (trailing debounce); with `leadingEdge`, the burst's first event is also
   * read at once.
   */
  debounceMs: number;
  /** The first event of a burst reads at once (default true); false waits `debounceMs` first. */
  leadingEdge?: boolean;
  /** A file that keeps changing is still read at least this often. */
  maxWaitMs: number;
  /** After a read that found data, read again this much later: a write may have been missed. */
  trailingMs: number;
  /** Every known file is read at this interval whatever the watcher says (0 disables). */
  safetyPollMs: number;
  /** First delay after a read asks to be retried (locked, half-written); doubles each time. */
  retryBaseMs: number;
  /** Longest delay between retries. */
  retryMaxMs: number;
  /**
   * Most files one safety poll reads (round robin): with more files, each is read every
   * ceil(files / safetyPollFiles) polls, so that idle files cost a bounded number of stats.
   */
  safetyPollFiles?: number;
  /** A read still running after this long is stalled (a hung share, a blocked handle). */
  readTimeoutMs?: number;
}

/** A read of one file that has not finished in `readTimeoutMs`. */
export interface StalledRead {
  key: string;
  /** How long it has been running. */
  forMs: number;
}

/** A read passed its bound (`stalled`), or a stalled read finished (`stalled: false`, `forMs` its duration). */
export type StallListener = (key: string, stalled: boolean, forMs: number) => void;

/**
 * chokidar throttles `change` per file for 50 ms on the leading edge and never emits a
 * trailing event (its issue #1455): a write within 50 ms of a signalled one is not
 * signalled. A read is therefore always made past that window after the last such event.
 * (The operating system's own events, ChangeHints, are not throttled.)
 */
const WATCHER_THROTTLE_MS = 55;

type Pending = 'debounce' | 'follow-up';

interface FileSchedule {
  timer: NodeJS.Timeout | null;
  pending: Pending | null;
  due: number;
  /** First event of the current debounce (for the maximum wait). */
  firstEventAt: number;
  /** Last event of any source: one after `debounceMs` of quiet starts a burst. */
  lastEventAt: number;
  /** Last event from a throttled source (chokidar): a read is due past its throttle window. */
  throttledEventAt: number;
  running: Promise<void> | null;
  /** An event arrived during a read: read again once it ends. */
  rerun: boolean;
  retries: number;
  /** Counts failed reads ('failed'); decides when the file is tried again. */
  breaker: CircuitBreaker;
  /** When the read in progress began (performance.now()). */
  startedAt: number;
  /** The read in progress passed readTimeoutMs. */
  stalled: boolean;
}

export type ReadFile = (key: string) => Promise<ReadOutcome>;

/** A file's breaker changed state. */
export type BreakerListener = (key: string, transition: BreakerTransition) => void;

/** What the scheduler calls: the read of one file, and the listeners of breaker transitions and stalls. */
export interface ReadSchedulerDeps {
  read: ReadFile;
  onBreaker?: BreakerListener;
  onStall?: StallListener;
}

/** The read timings and the breaker settings every file's schedule follows. */
export interface ReadSchedulerSettings {
  schedule: ReadSchedulerOptions;
  breaker: BreakerOptions;
}

/**
 * Decides when each file is read. Watcher events are hints: the first of a burst reads at
 * once (leading edge), the rest are coalesced (trailing debounce with a maximum wait), reads
 * of one file never overlap, an event during a read has the file read again after it, every
 * read that found data is followed by another, and a slow safety poll reads every file
 * regardless, so the last write of a burst is never missed. A read that finds a partial
 * record leaves it to the next read (FileTail), which that record's last write hints.
 *
 * Each file has its own circuit breaker: a failed read is retried after a backoff (events
 * do not hasten it), and a file that keeps failing is left alone for a cool-down, then
 * tried once. Files never wait for each other, so a failing one slows no other.
 */
export class ReadScheduler {
  #options: ReadSchedulerOptions;
  #breakerOptions: BreakerOptions;
  readonly #read: ReadFile;
  readonly #onBreaker: BreakerListener;
  readonly #files = new Map<string, FileSchedule>();
  readonly #onStall: StallListener;
  #poll: NodeJS.Timeout | null = null;
  /** Where the last safety poll stopped (round robin over the files). */
  #pollCursor: Iterator<[string, FileSchedule]> | null = null;
  #closed = false;

  constructor({ read, onBreaker = () => undefined, onStall = () => undefined }: ReadSchedulerDeps, { schedule: options, breaker }: ReadSchedulerSettings) {
    this.#options = options;
    this.#onStall = onStall;
    this.#breakerOptions = breaker;
    this.#read = read;
    this.#onBreaker = onBreaker;
    this.#startPoll();
  }

  /** Takes new timings; timers already set keep their time. */
  applyOptions(options: ReadSchedulerOptions, breaker: BreakerOptions): void {
    const pollChanged = options.safetyPollMs !== this.#options.safetyPollMs;
    this.#options = options;
    this.#breakerOptions = breaker;
    if (pollChanged && !this.#closed) this.#startPoll();
  }

  /** Each known file's breaker. */
  *breakers(): IterableIterator<[key: string, breaker: CircuitBreaker]> {
    for (const [key, file] of this.#files) yield [key, file.breaker];
  }

  /** Reads running past readTimeoutMs. A file never has two reads at once, so each holds at most one thread. */
  stalled(): StalledRead[] {
    const now = performance.now();
    const bound = this.#readTimeoutMs;
    const stalled: StalledRead[] = [];
    for (const [key, file] of this.#files) {
      if (file.running && now - file.startedAt >= bound) stalled.push({ key, forMs: Math.round(now - file.startedAt) });
    }
    return stalled;
  }

  /** When the trailing read of a burst is due after its first event: the maximum wait bounds it too. */
  get #trailingDelay(): number {
    return Math.min(this.#options.debounceMs, this.#options.maxWaitMs);
  }

  get #readTimeoutMs(): number {
    return this.#options.readTimeoutMs ?? READ_DEFAULTS.readTimeoutMs;
  }

  /**
   * A watcher event for `key`. `throttled`: from a watcher that may have dropped the events
   * that followed it (chokidar), so that a read is made once that window is over.
   */
  hint(key: string, throttled = true): void {
    if (this.#closed) return;
    const file = this.#file(key);
    const now = performance.now();
    if (throttled) file.throttledEventAt = now;
    const startsBurst = now - file.lastEventAt >= this.#options.debounceMs;
    file.lastEventAt = now;
    // A failing file is tried again when its breaker says, not sooner.
    if (file.breaker.backingOff) return;
    if (file.running) {
      file.rerun = true;
      return;
    }
    if (file.pending === 'debounce') {
      this.#schedule(key, file, Math.min(now + this.#options.debounceMs, file.firstEventAt + this.#options.maxWaitMs), 'debounce');
    } else if (startsBurst && (this.#options.leadingEdge ?? READ_DEFAULTS.leadingEdge)) {
      // Leading edge: the write is read now; events that follow within the burst wait for the
      // trailing read (or, during this read, for the read again after it).
      void this.#run(key, file);
    } else if (file.pending === null || file.due > now + this.#trailingDelay) {
      file.firstEventAt = now;
      this.#schedule(key, file, now + this.#trailingDelay, 'debounce');
    }
  }

  /** Reads `key` now (waiting for a read in progress first) and resolves when done. */
  async readNow(key: string): Promise<void> {
    const file = this.#file(key);
    while (file.running) await file.running;
    if (this.#closed || this.#files.get(key) !== file) return;
    await this.#run(key, file);
  }

  /** Forgets `key` (deleted file). A read in progress finishes; nothing follows it. */
  remove(key: string): void {
    const file = this.#files.get(key);
    if (!file) return;
    if (file.timer) clearTimeout(file.timer);
    this.#files.delete(key);
  }

  /** Stops every timer and waits for reads in progress (a stalled one no longer than readTimeoutMs). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = null;
    const running: Promise<void>[] = [];
    for (const file of this.#files.values()) {
      if (file.timer) clearTimeout(file.timer);
      file.timer = null;
      if (file.running) running.push(file.running);
    }
    this.#files.clear();
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#readTimeoutMs)));
    await Promise.race([Promise.all(running), bound]);
    clearTimeout(timer);
  }

  #startPoll(): void {
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = this.#options.safetyPollMs > 0 ? setInterval(() => this.#safetyPoll(), this.#options.safetyPollMs) : null;
  }

  #file(key: string): FileSchedule {
    let file = this.#files.get(key);
    if (!file) {
      const breaker = new CircuitBreaker((transition) => this.#onBreaker(key, transition));
      file = {
        timer: null,
        pending: null,
        due: 0,
        firstEventAt: 0,
        lastEventAt: Number.NEGATIVE_INFINITY,
        throttledEventAt: 0,
        running: null,
        rerun: false,
        retries: 0,
        breaker,
        startedAt: 0,
        stalled: false,
      };
      this.#files.set(key, file);
    }
    return file;
  }

  #schedule(key: string, file: FileSchedule, due: number, pending: Pending): void {
    if (file.timer) clearTimeout(file.timer);
    file.due = due;
    file.pending = pending;
    file.timer = setTimeout(() => void this.#run(key, file), Math.max(0, due - performance.now()));
  }

  /** Follow-ups keep an earlier timer: whichever comes first reads the file. */
  #followUp(key: string, file: FileSchedule, due: number): void {
    if (file.pending !== null && file.due <= due) return;
    this.#schedule(key, file, due, 'follow-up');
  }

  async #run(key: string, file: FileSchedule): Promise<void> {
    if (file.timer) clearTimeout(file.timer);
    file.timer = null;
    file.pending = null;
    file.rerun = false;
    const now = performance.now();
    if (!file.breaker.tryAttempt(now)) {
      this.#schedule(key, file, file.breaker.retryAt, 'follow-up');
      return;
    }
    file.startedAt = now;
    file.stalled = false;
    // A blocked fs call cannot be cancelled: it is surfaced, and no other read of the file is issued meanwhile.
    const watchdog = setTimeout(() => {
      file.stalled = true;
      if (this.#files.get(key) === file) this.#onStall(key, true, Math.round(performance.now() - file.startedAt));
    }, this.#readTimeoutMs);
    watchdog.unref();
    const read = this.#read(key).catch((): ReadOutcome => 'failed');
    file.running = read.then(() => undefined);
    const outcome = await read;
    clearTimeout(watchdog);
    file.running = null;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the watchdog sets it during the await; TS keeps `stalled = false` from above
    if (file.stalled) {
      file.stalled = false;
      this.#onStall(key, false, Math.round(performance.now() - file.startedAt));
    }
    if (this.#closed || this.#files.get(key) !== file) return;
    this.#afterRead(key, file, outcome);
  }

  #afterRead(key: string, file: FileSchedule, outcome: ReadOutcome): void {
    const now = performance.now();
    if (outcome === 'failed') {
      file.retries = 0;
      this.#schedule(key, file, now + file.breaker.failure(now, this.#breakerOptions), 'follow-up');
      return;
    }
    if (outcome === 'changed' || outcome === 'unchanged') file.breaker.success();
    if (file.rerun) {
      file.firstEventAt = now;
      this.#schedule(key, file, now + this.#trailingDelay, 'debounce');
      return;
    }
    if (outcome === 'retry') {
      const delay = Math.min(this.#options.retryBaseMs * 2 ** file.retries, this.#options.retryMaxMs);
      file.retries++;
      this.#followUp(key, file, now + delay);
      return;
    }
    file.retries = 0;
    if (outcome === 'changed') this.#followUp(key, file, now + this.#options.trailingMs);
    else if (outcome === 'unchanged' && now < file.throttledEventAt + WATCHER_THROTTLE_MS) {
      this.#followUp(key, file, file.throttledEventAt + WATCHER_THROTTLE_MS);
    }
  }

  /** Reads up to safetyPollFiles idle files, going on where the last poll stopped. */
  #safetyPoll(): void {
    const budget = this.#options.safetyPollFiles ?? READ_DEFAULTS.safetyPollFiles;
    let read = 0;
    for (let looked = 0, total = this.#files.size; looked < total && read < budget; looked++) {
      this.#pollCursor ??= this.#files.entries();
      const next = this.#pollCursor.next();
      if (next.done) {
        this.#pollCursor = null;
        continue;
      }
      const [key, file] = next.value;
      if (file.running || file.pending !== null) continue;
      read++;
      void this.#run(key, file);
    }
  }
}
