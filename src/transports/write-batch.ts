/**
 * Frames queued for a connection during one turn of the event loop go out at its end as
 * one write. A burst of commits (several files read in the same turn, a resume, a snapshot
 * burst) then costs each socket one system call instead of one per message: at a thousand
 * clients the per-write cost, not the bytes, is what limits fan-out (bench/README.md).
 *
 * Connections that have the same frames queued (every `*` subscriber, every subscriber of
 * the same symbols) are written the same buffer: it is concatenated once per flush, not
 * once per connection, which also keeps the bytes the kernel copies from in the CPU's cache.
 *
 * A burst past JOIN_LIMIT (a new client's snapshots, a resume) is not concatenated: its
 * frames, each already shared by every connection, go out in one corked write (one
 * writev). Copying them would cost each connection the burst's size in memory until the
 * collector frees it: 150 KB for five default snapshots, 150 MB for a thousand clients.
 */

/** Bytes queued above which a connection's frames are written as they are, not copied into one buffer. */
export const JOIN_LIMIT = 64 * 1024;

/** Where a connection's bytes go: its socket, or its HTTP response. */
export interface FrameSink {
  write(chunk: Buffer): unknown;
  cork(): void;
  uncork(): void;
}

/** A connection with frames waiting: `flush()` writes them. */
export interface Flushable {
  flush(joined: JoinedFrames): void;
}

/**
 * Runs the flushes of every connection written to, once, in setImmediate: at the end of the
 * turn. With a flush window of W ms, a flush comes at most every W ms: the first frame after
 * a quiet spell still goes at the end of its turn (no added latency when changes are rare),
 * and what arrives within W of the last flush waits for the window to end, so that the
 * changes of separate turns (one file read each) share one write per socket. That write, not
 * the bytes, is what a change costs at a thousand clients (docs/benchmarks.md). 0: every turn.
 */
export class WriteBatcher {
  #dirty: Flushable[] = [];
  #spare: Flushable[] = [];
  #scheduled: NodeJS.Immediate | null = null;
  #delayed: NodeJS.Timeout | null = null;
  #windowMs: number;
  #lastFlushAt = Number.NEGATIVE_INFINITY;
  readonly #joined = new JoinedFrames();
  readonly #run = (): void => this.flush();

  constructor(windowMs = 0) {
    this.#windowMs = windowMs;
  }

  /** A new flush window; it applies from the next flush scheduled. */
  set windowMs(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** `outlet` has its first frame since its last flush waiting. */
  schedule(outlet: Flushable): void {
    this.#dirty.push(outlet);
    if (this.#scheduled || this.#delayed) return;
    const wait = this.#lastFlushAt + this.#windowMs - performance.now();
    if (wait > 0) this.#delayed = setTimeout(this.#run, wait);
    else this.#scheduled = setImmediate(this.#run);
  }

  /** Writes everything waiting now (also what the timer would have written). */
  flush(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    if (this.#delayed) clearTimeout(this.#delayed);
    this.#scheduled = null;
    this.#delayed = null;
    this.#lastFlushAt = performance.now();
    // Swap the lists: a flush that queues again lands in the next batch.
    const dirty = this.#dirty;
    this.#dirty = this.#spare;
    for (const outlet of dirty) outlet.flush(this.#joined);
    dirty.length = 0;
    this.#spare = dirty;
    this.#joined.clear();
  }
}

/** Concatenations should not be compared against more than this many others of the same first frame. */
const CANDIDATES = 8;

/** The concatenations of one flush, by the frames they hold. */
export class JoinedFrames {
  readonly #byFirst = new Map<Buffer, { frames: readonly Buffer[]; data: Buffer }[]>();

  /**
   * `frames` as one buffer: the same buffer for every connection with the same frames. The
   * caller may reuse `frames` once this returns.
   */
  join(frames: readonly Buffer[], bytes: number): Buffer {
    if (frames.length === 1) return frames[0] as Buffer;
    const first = frames[0] as Buffer;
    let candidates = this.#byFirst.get(first);
    if (candidates) {
      for (const candidate of candidates) if (sameFrames(candidate.frames, frames)) return candidate.data;
    } else {
      candidates = [];
      this.#byFirst.set(first, candidates);
    }
    const data = Buffer.concat(frames, bytes);
    if (candidates.length < CANDIDATES) candidates.push({ frames: frames.slice(), data });
    return data;
  }

  clear(): void {
    this.#byFirst.clear();
  }
}

function sameFrames(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One connection's frames waiting for the end of the turn. */
export class PendingFrames {
  readonly #frames: Buffer[] = [];
  #bytes = 0;

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queues `frame`; true when it is the first one (the connection needs a flush). */
  push(frame: Buffer): boolean {
    this.#frames.push(frame);
    this.#bytes += frame.length;
    return this.#frames.length === 1;
  }

  /**
   * Writes everything waiting to `sink` (nowhere when it is null: the connection is no
   * longer open) and empties: as one buffer shared through `joined`, or past JOIN_LIMIT
   * frame by frame in one corked write.
   */
  writeTo(sink: FrameSink | null, joined: JoinedFrames): void {
    const frames = this.#frames;
    if (frames.length === 0) return;
    if (sink) {
      if (this.#bytes <= JOIN_LIMIT) {
        sink.write(joined.join(frames, this.#bytes));
      } else {
        sink.cork();
        for (const frame of frames) sink.write(frame);
        sink.uncork();
      }
    }
    frames.length = 0;
    this.#bytes = 0;
  }
}
