/**
 * Frames queued for a connection during one turn of the event loop go out at its end as
 * one write. A burst of commits (several files read in the same turn, a resume, a snapshot
 * burst) then costs each socket one system call instead of one per message: at a thousand
 * clients the per-write cost, not the bytes, is what limits fan-out (bench/README.md).
 *
 * Connections that have the same frames queued (every `*` subscriber, every subscriber of
 * the same symbols) are written the same buffer: it is concatenated once per flush, not
 * once per connection, which also keeps the bytes the kernel copies from in the CPU's cache.
 */

/** A connection with frames waiting: `flush()` writes them. */
export interface Flushable {
  flush(joined: JoinedFrames): void;
}

/** Runs the flushes of every connection written to during this turn, once, in setImmediate. */
export class WriteBatcher {
  #dirty: Flushable[] = [];
  #spare: Flushable[] = [];
  #scheduled: NodeJS.Immediate | null = null;
  readonly #joined = new JoinedFrames();
  readonly #run = (): void => this.flush();

  /** `outlet` has its first frame of this turn waiting. */
  schedule(outlet: Flushable): void {
    this.#dirty.push(outlet);
    this.#scheduled ??= setImmediate(this.#run);
  }

  /** Writes everything waiting now (also what the timer would have written). */
  flush(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = null;
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
    const data = Buffer.concat(frames as Buffer[], bytes);
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

  /** Everything waiting as one buffer, or null; empties. */
  take(joined: JoinedFrames): Buffer | null {
    const frames = this.#frames;
    if (frames.length === 0) return null;
    const data = joined.join(frames, this.#bytes);
    frames.length = 0;
    this.#bytes = 0;
    return data;
  }
}
