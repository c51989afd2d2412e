/**
 * One committed change of a symbol's document, kept only as the JSON of its `patch` message:
 * at 1,000 patches per symbol the journal is most of the bridge's heap, and the operations as
 * objects (with the document parts they point to) took four times as much (bench/README.md).
 */
export class JournalEntry {
  constructor(
    /** The symbol's version this patch produces (it applies to `seq - 1`). */
    readonly seq: number,
    /** Bridge-wide commit counter: orders changes across symbols (SSE event ids). */
    readonly gseq: number,
    /** The whole `patch` message as JSON (PROTOCOL.md §3), its `ops` last. */
    readonly messageJson: string,
    /** Where the ops' JSON starts in messageJson. */
    private readonly opsAt: number,
  ) {}

  /** The ops as JSON: a slice of messageJson (V8 shares the characters, no copy). */
  get opsJson(): string {
    return this.messageJson.slice(this.opsAt, -1);
  }
}

/**
 * The last `capacity` patches of one symbol, for resume, and no more than `maxBytes` of them
 * (the oldest are dropped beyond; a patch larger than that is not held at all). It can bring a
 * client from any version at or after `floorSeq` up to the current one.
 */
export class Journal {
  readonly #ring: (JournalEntry | undefined)[];
  #start = 0;
  #length = 0;
  #floorSeq: number;
  #floorGseq: number;
  #bytes = 0;

  constructor(
    readonly capacity: number,
    /** The version the journal starts from (the symbol's first) and its gseq. */
    baseSeq: number,
    baseGseq: number,
    readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    this.#ring = new Array<JournalEntry | undefined>(capacity);
    this.#floorSeq = baseSeq;
    this.#floorGseq = baseGseq;
  }

  /** Oldest version a client may hold and still be replayed forward. */
  get floorSeq(): number {
    return this.#floorSeq;
  }

  /** gseq of the `floorSeq` version: a client whose SSE cursor is below it cannot be replayed. */
  get floorGseq(): number {
    return this.#floorGseq;
  }

  get size(): number {
    return this.#length;
  }

  /** Characters of the patch messages held (bytes, for the ASCII they mostly are). */
  get bytes(): number {
    return this.#bytes;
  }

  push(entry: JournalEntry): void {
    if (this.capacity === 0) {
      this.#floorSeq = entry.seq;
      this.#floorGseq = entry.gseq;
      return;
    }
    if (this.#length === this.capacity) this.dropOldest();
    this.#bytes += entry.messageJson.length;
    this.#ring[(this.#start + this.#length) % this.capacity] = entry;
    this.#length++;
    while (this.#bytes > this.maxBytes) this.dropOldest();
  }

  /** gseq of the oldest patch held (undefined when none is). */
  get oldestGseq(): number | undefined {
    return this.#length > 0 ? this.#at(0).gseq : undefined;
  }

  /** Drops the oldest patch held (resumes from before it get a snapshot); returns its bytes. */
  dropOldest(): number {
    if (this.#length === 0) return 0;
    const evicted = this.#at(0);
    this.#floorSeq = evicted.seq;
    this.#floorGseq = evicted.gseq;
    this.#bytes -= evicted.messageJson.length;
    this.#ring[this.#start] = undefined;
    this.#start = (this.#start + 1) % this.capacity;
    this.#length--;
    return evicted.messageJson.length;
  }

  /** The gseqs of the patches held, oldest first. */
  gseqs(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#length; i++) out.push(this.#at(i).gseq);
    return out;
  }

  /** The same history in a journal of another capacity: the newest entries that fit are kept. */
  resized(capacity: number, maxBytes = this.maxBytes): Journal {
    const dropped = Math.max(0, this.#length - capacity);
    const base = dropped === 0 ? { seq: this.#floorSeq, gseq: this.#floorGseq } : this.#at(dropped - 1);
    const journal = new Journal(capacity, base.seq, base.gseq, maxBytes);
    for (let i = dropped; i < this.#length; i++) journal.push(this.#at(i));
    return journal;
  }

  /** The patches after version `seq`, or null when they are no longer all held. */
  since(seq: number): JournalEntry[] | null {
    if (seq < this.#floorSeq || seq > this.#floorSeq + this.#length) return null;
    return this.#slice(seq - this.#floorSeq);
  }

  /** The patches committed after bridge-wide `gseq`, or null when some are no longer held. */
  sinceGseq(gseq: number): JournalEntry[] | null {
    if (gseq < this.#floorGseq) return null;
    let lo = 0;
    let hi = this.#length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#at(mid).gseq <= gseq) lo = mid + 1;
      else hi = mid;
    }
    return this.#slice(lo);
  }

  #slice(from: number): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (let i = from; i < this.#length; i++) out.push(this.#at(i));
    return out;
  }

  #at(index: number): JournalEntry {
    return this.#ring[(this.#start + index) % this.capacity] as JournalEntry;
  }
}
