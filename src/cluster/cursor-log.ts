import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from '../core/logger.js';
import { symbolNameProblem } from '../model/symbol-name.js';
import { formatRelayPositions, MAX_RELAY_POSITIONS, parseRelayedCursor, type RelayedCursor, type RelayedResume } from '../model/wire.js';
import type { CommitEvent, Store } from '../state/store.js';
import type { ClusterCounters } from './counters.js';
import type { ClusterKeys } from './keys.js';
import { ClusterDataError, type RemoteLimits } from './remote-state.js';

/** A checkpoint at least this often while commits come, and at least every CHECKPOINT_STEPS commits or CHECKPOINT_ENTRIES turns. */
const CHECKPOINT_MS = 1000;
/** Bounds what a resolution reads past its checkpoint. */
const CHECKPOINT_STEPS = 10_000;
const CHECKPOINT_ENTRIES = 1000;
/** Checkpoints kept: a cursor resolves while it is at most this many checkpoints old (a minute at a second each). */
const CHECKPOINTS_KEPT = 64;
/** A process's log outlives it by this much: its clients resume elsewhere within it. */
const LOG_TTL_MS = 15 * 60_000;
/** Order entries read per round trip while resolving. */
const READ_BATCH = 64;
/** A resolution that takes longer gives up: the client gets fresh snapshots instead of waiting. */
const RESOLVE_TIMEOUT_MS = 2000;

export interface CursorLogOptions {
  /** This edge process's cursor scope (`<node>.<suffix>`, Hub cursorScope). */
  readonly scope: string;
  readonly limits: RemoteLimits;
  /** Symbols a checkpoint may name at most (document.maxSymbols). */
  readonly maxSymbols: number;
}

/**
 * An edge's SSE cursors across edges (model/wire.ts RelayedCursor). An SSE id names a position
 * in the serving process's own commit order, which no other process shares; so each edge
 * logs that order in Redis (each turn's commits as one stream entry, and every second the
 * version of every symbol it holds as a checkpoint), and any edge turns a cursor back into
 * the version of each symbol the client held. What the log cannot tell (a commit it missed
 * while Redis was unreachable, a cursor older than its checkpoints) resolves to nothing, and
 * the client gets fresh snapshots: never a wrong position.
 */
export class CursorLog {
  readonly #logger: Logger;
  /** The namespace epoch of the log (a new one starts a new log). */
  #epoch: string | null = null;
  /** The version of every symbol at the last commit seen, in #epoch. */
  readonly #held = new Map<string, number>();
  #lastGseq = 0;
  /** Steps not yet written: symbol, seq, symbol, seq… from commit #first on. */
  #steps: (string | number)[] = [];
  #first = 0;
  /** The log has a hole (or is new): a checkpoint must come before any more steps. */
  #checkpointDue = true;
  /** That checkpoint, when it was taken as the steps after the hole began. */
  #base: { gseq: number; held: Record<string, number> } | null = null;
  #stepsSinceCheckpoint = 0;
  #entriesSinceCheckpoint = 0;
  #checkpointedAt = 0;
  /** gseqs of the checkpoints kept, oldest first: the order is trimmed after the oldest. */
  #checkpoints: number[] = [];
  #scheduled = false;
  #closed = false;
  readonly #stopListening: () => void;

  constructor(
    private readonly redis: Redis,
    private readonly keys: ClusterKeys,
    private readonly store: Store,
    logger: Logger,
    private readonly options: CursorLogOptions,
    private readonly counters: ClusterCounters,
  ) {
    this.#logger = logger.child({ component: 'cluster' });
    this.#stopListening = store.onCommit((event) => this.#onCommit(event));
  }

  /** Stops logging. Memoised. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopListening();
  }

  /**
   * What the client of SSE id `id` holds, read from the logs of the edge processes it names;
   * null when it is not an edge cursor, or the logs do not tell (the client gets snapshots).
   */
  async resolve(id: string): Promise<RelayedResume | null> {
    const cursor = parseRelayedCursor(id);
    if (!cursor) return null;
    // Its catch-up here adds a position: one the id could not carry is not started.
    const resume = cursor.positions.length < MAX_RELAY_POSITIONS ? await this.#resolve(cursor) : null;
    (resume ? this.counters.cursorsRelayed : this.counters.cursorsUnresolved).add();
    return resume;
  }

  /** `cursor` resolved; null when a log does not tell, or took too long to read. */
  async #resolve(cursor: RelayedCursor): Promise<RelayedResume | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), RESOLVE_TIMEOUT_MS)));
    try {
      const read = Promise.all(cursor.positions.map(({ scope, gseq }) => this.#heldAt(`${cursor.epoch}.${scope}`, gseq)));
      void read.catch(() => undefined); // after a timeout its failure is nobody's
      const vectors = await Promise.race([read, timeout]);
      if (vectors === null || vectors.includes(null)) return null;
      // The client holds what the oldest position held, each symbol at the latest version any position held.
      const held = new Map(vectors.at(-1));
      for (const vector of vectors.slice(0, -1) as Map<string, number>[]) {
        for (const [symbol, seq] of vector) if ((held.get(symbol) ?? seq) < seq) held.set(symbol, seq);
      }
      return { epoch: cursor.epoch, held, relay: formatRelayPositions(cursor.positions) };
    } catch (error) {
      if (error instanceof ClusterDataError) this.#bad(error);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  #onCommit({ state }: CommitEvent): void {
    if (this.#closed) return;
    if (this.store.epoch !== this.#epoch || state.gseq !== this.#lastGseq + 1) {
      // A new epoch's clients hold only what it sent them (and a commit not seen would make what is held unknown).
      if (this.store.epoch !== this.#epoch) this.#checkpoints = [];
      this.#epoch = this.store.epoch;
      this.#held.clear();
      this.#steps = [];
      this.#base = null;
      this.#checkpointDue = true;
    }
    if (this.#checkpointDue && this.#steps.length === 0 && this.#base === null) {
      this.#base = { gseq: state.gseq - 1, held: Object.fromEntries(this.#held) };
    }
    if (this.#steps.length === 0) this.#first = state.gseq;
    this.#steps.push(state.symbol, state.seq);
    this.#held.set(state.symbol, state.seq);
    this.#lastGseq = state.gseq;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /**
   * Writes the turn's steps, after the checkpoint they start from when one is due, and every
   * second a checkpoint after them. A write that fails leaves a hole, which the next
   * checkpoint closes: positions in it resolve to nothing.
   */
  #flush(): void {
    this.#scheduled = false;
    const epoch = this.#epoch;
    if (this.#closed || epoch === null) return;
    let steps = this.#steps;
    const base = this.#base;
    this.#steps = [];
    this.#base = null;
    if (this.redis.status !== 'ready') {
      this.#checkpointDue = true;
      return;
    }
    const scope = `${epoch}.${this.options.scope}`;
    const pipeline = this.redis.pipeline();
    if (base) this.#checkpoint(pipeline, scope, base.gseq, base.held);
    else if (this.#checkpointDue) steps = []; // a hole opened while they were pending: the checkpoint after them covers them
    if (steps.length > 0) {
      const count = steps.length / 2;
      pipeline.xadd(this.keys.cursorOrder(scope), `${this.#first + count - 1}-0`, 'r', JSON.stringify([this.#first, ...steps]));
      this.#stepsSinceCheckpoint += count;
      this.#entriesSinceCheckpoint++;
    }
    const now = Date.now();
    if (
      (this.#checkpointDue && !base) ||
      this.#stepsSinceCheckpoint >= CHECKPOINT_STEPS ||
      this.#entriesSinceCheckpoint >= CHECKPOINT_ENTRIES ||
      (this.#stepsSinceCheckpoint > 0 && now - this.#checkpointedAt >= CHECKPOINT_MS)
    ) {
      this.#checkpoint(pipeline, scope, this.#lastGseq, Object.fromEntries(this.#held));
    }
    void pipeline.exec().then(
      (replies) => {
        if (replies?.some(([error]) => error !== null)) this.#checkpointDue = true;
      },
      () => (this.#checkpointDue = true),
    );
  }

  /** Adds the checkpoint of commit `gseq` (skipped when one at or after it was written) and trims what it makes unneeded. */
  #checkpoint(pipeline: ChainableCommander, scope: string, gseq: number, held: Record<string, number>): void {
    this.#checkpointDue = false;
    this.#stepsSinceCheckpoint = 0;
    this.#entriesSinceCheckpoint = 0;
    this.#checkpointedAt = Date.now();
    if (gseq <= (this.#checkpoints.at(-1) ?? -1)) return;
    const order = this.keys.cursorOrder(scope);
    const checkpoints = this.keys.cursorCheckpoints(scope);
    // Entry id `<gseq>-1`: Redis takes no 0-0, and the checkpoint before the first commit is of gseq 0.
    pipeline.xadd(checkpoints, 'MAXLEN', CHECKPOINTS_KEPT, `${gseq}-1`, 'v', JSON.stringify(held));
    this.#checkpoints.push(gseq);
    if (this.#checkpoints.length > CHECKPOINTS_KEPT) this.#checkpoints.shift();
    // Only what follows the oldest checkpoint kept can still be resolved.
    pipeline.xtrim(order, 'MINID', '~', (this.#checkpoints[0] as number) + 1);
    pipeline.pexpire(order, LOG_TTL_MS);
    pipeline.pexpire(checkpoints, LOG_TTL_MS);
  }

  /** The version of every symbol edge process `scope` held at its commit `gseq`; null when its log does not tell. */
  async #heldAt(scope: string, gseq: number): Promise<Map<string, number> | null> {
    const checkpoints = this.keys.cursorCheckpoints(scope);
    const [checkpoint] = await this.redis.xrevrange(checkpoints, `${gseq}-1`, '-', 'COUNT', 1);
    if (!checkpoint) return null;
    const [checkpointId, checkpointFields] = checkpoint;
    const where = `${checkpoints} ${checkpointId}`;
    const held = this.#heldOf(fieldOf(checkpointFields, 'v', where), where);
    let next = gseqOf(checkpointId, 1, where) + 1;
    const order = this.keys.cursorOrder(scope);
    let start = `${next}-0`;
    for (let read = 0; next <= gseq;) {
      const entries = await this.redis.xrange(order, start, '+', 'COUNT', READ_BATCH);
      if (entries.length === 0) return null;
      for (const [id, fields] of entries) {
        const where = `${order} ${id}`;
        if (++read > 2 * CHECKPOINT_ENTRIES) throw new ClusterDataError(order, `holds more than ${2 * CHECKPOINT_ENTRIES} entries after a checkpoint`);
        const steps = stepsOf(fieldOf(fields, 'r', where), where, this.options.limits.maxBytes);
        // A hole (a turn that was not written): what the client held past it is not known.
        if (steps.first !== next || gseqOf(id, 0, where) !== steps.first + steps.symbols.length - 1) return null;
        for (let i = 0; i < steps.symbols.length && next <= gseq; i++, next++) held.set(steps.symbols[i] as string, steps.seqs[i] as number);
        if (next > gseq) return held;
        start = `(${id}`;
      }
    }
    return held;
  }

  #heldOf(text: string, where: string): Map<string, number> {
    const value = jsonOf(text, where, this.options.limits.maxBytes);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ClusterDataError(where, 'checkpoint is not an object of symbols');
    const held = new Map<string, number>();
    for (const [symbol, seq] of Object.entries(value)) {
      if (held.size >= this.options.maxSymbols)
        throw new ClusterDataError(where, `checkpoint names more than document.maxSymbols (${this.options.maxSymbols}) symbols`);
      held.set(validSymbol(symbol, where), validSeq(seq, where));
    }
    return held;
  }

  #bad(error: ClusterDataError): void {
    this.counters.badData.add();
    this.#logger.error({ event: 'cluster_bad_data', key: error.key, reason: error.message }, 'bad data in redis; skipped');
  }
}

/** An order entry: the gseq of its first commit, and each commit's symbol and seq. */
function stepsOf(text: string, where: string, maxBytes: number): { first: number; symbols: string[]; seqs: number[] } {
  const value = jsonOf(text, where, maxBytes);
  if (!Array.isArray(value) || value.length % 2 !== 1) throw new ClusterDataError(where, 'is not [first gseq, symbol, seq, …]');
  const first = validSeq(value[0], where);
  const symbols: string[] = [];
  const seqs: number[] = [];
  for (let i = 1; i < value.length; i += 2) {
    symbols.push(validSymbol(value[i], where));
    seqs.push(validSeq(value[i + 1], where));
  }
  return { first, symbols, seqs };
}

function fieldOf(fields: readonly string[], name: string, where: string): string {
  const at = fields.indexOf(name);
  const text = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
  if (text === undefined) throw new ClusterDataError(where, `entry has no field ${name}`);
  return text;
}

/** The gseq of an entry id `<gseq>-<sequence>`: 0 in the order, 1 in the checkpoints. */
function gseqOf(id: string, sequence: 0 | 1, where: string): number {
  const match = /^([0-9]{1,15})-([01])$/.exec(id);
  if (match?.[2] !== String(sequence)) throw new ClusterDataError(where, `entry id is not <gseq>-${sequence}`);
  return Number(match[1]);
}

function jsonOf(text: string, where: string, maxBytes: number): unknown {
  if (text.length > maxBytes) throw new ClusterDataError(where, `entry of ${text.length} characters is over cluster.maxMessageBytes (${maxBytes})`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ClusterDataError(where, `not JSON (${(error as Error).message})`);
  }
}

function validSymbol(value: unknown, where: string): string {
  const problem = symbolNameProblem(value);
  if (problem) throw new ClusterDataError(where, problem);
  return value as string;
}

function validSeq(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new ClusterDataError(where, `${JSON.stringify(value)} is not a seq`);
  return value;
}
