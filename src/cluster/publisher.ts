import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.js';
import type { ComponentHealth } from '../core/health.js';
import type { InstrumentDocument } from '../model/document.js';
import { patchMessageOfJson, snapshotMessage } from '../model/wire.js';
import { diff } from '../state/delta.js';
import type { CommitEvent, Store } from '../state/store.js';
import type { ClusterKeys, SymbolKeys } from './keys.js';
import { readTop, ClusterDataError, type RemoteLimits } from './remote-state.js';
import { namespaceEpoch } from './namespace.js';
import { loadPublish, queuePublish } from './scripts.js';
import type { ClusterCounters } from './counters.js';

export interface PublisherOptions {
  readonly node: string;
  /** How long a writer's lease lasts unrenewed (cluster.leaseMs): a standby takes over within it. */
  readonly leaseMs: number;
  /** Versions each symbol's stream keeps (journal.size, at least 2 × documentEvery). */
  readonly streamLength: number;
  /** A symbol's whole document is stored every this many versions (cluster.documentEvery). */
  readonly documentEvery: number;
  /** What is read back from Redis at most. */
  readonly limits: RemoteLimits;
}

/**
 * The top version in Redis, as this node wrote or read it; `document` null when Redis holds
 * nothing this node can continue from (nothing at all, another epoch, bad data): the next write
 * is then the whole document, at `seq + 1`.
 */
interface Synced {
  seq: number;
  document: InstrumentDocument | null;
}

/** A version sent in a pipeline, settled by its reply. */
interface Written {
  readonly symbol: string;
  readonly link: Link;
  readonly seq: number;
  readonly document: InstrumentDocument;
  /** The version of the document it stores, if it stores one. */
  readonly stored: number | null;
  /** A whole document (the symbol is also added to the namespace's set, one more reply). */
  readonly reset: boolean;
}

/** How long after a flush with failed writes the next one waits. */
const RETRY_MS = 250;

/**
 * Commits of one symbol between two flushes sent as their ops one after the other, at most:
 * past this many a diff is smaller, and worth its cost (it walks the whole document).
 */
const MAX_CHAINED = 8;

/** The ops' JSON of each commit since the last flush, in order, the first made on `from`: together, the patch from it. */
interface Chain {
  readonly from: InstrumentDocument;
  readonly ops: string[];
}

/** What this node knows of one symbol in Redis. */
interface Link {
  /** This node holds the symbol's lease and writes it. */
  owned: boolean;
  /** Whether the lease was asked for yet (a new symbol is asked for at its first commit, not at the next renewal). */
  asked: boolean;
  /** The top version in Redis and its document, when this node's last write made it (null: read it first). */
  synced: Synced | null;
  /** The document at the last commit seen, and the commits since the last flush (null: none, too many, or one without ops). */
  seen: InstrumentDocument | null;
  chain: Chain | null;
  commits: number;
  /**
   * The version of the document stored in Redis (0: none known). Counted from Redis's, not this
   * process's writes: a node restarted more often than documentEvery versions must still store
   * it that often, or the capped stream would trim past it.
   */
  documentSeq: number;
  /** The version to store next, once documentEvery more have been written after it (see #documentFor). */
  nextDocument: { seq: number; document: InstrumentDocument } | null;
  readonly keys: SymbolKeys;
}

/**
 * The ingest node's side of the cluster: every symbol this node's files feed is published to
 * Redis, one atomic script per symbol and per event-loop turn, all of a turn in one pipeline.
 * A symbol has one writer at a time (a lease, renewed every leaseMs / 3, at most 1 s apart); a node that does
 * not hold it stands by, and on taking it over continues the symbol's epoch and seq from
 * Redis: it diffs its own document against the top version stored there and publishes the
 * difference. The same happens after a restart and after Redis was unreachable, so clients
 * of the edges resume without a snapshot. Redis's seq is its own: this node's local clients
 * keep the local epoch.
 */
export class ClusterPublisher {
  readonly #links = new Map<string, Link>();
  readonly #dirty = new Set<string>();
  readonly #logger: Logger;
  #epoch: string | null = null;
  #ready = false;
  #flushing: Promise<void> | null = null;
  #scheduled = false;
  #lastError: string | null = null;
  /** The publishing script loaded on this connection (null: not yet, or Redis lost it). */
  #script: Promise<void> | null = null;
  #closed: Promise<void> | null = null;
  #firstReady: () => void = () => undefined;
  /** Resolves once this node reached Redis the first time: it knows the namespace epoch and holds its leases. */
  readonly synced: Promise<void>;
  readonly #timer: NodeJS.Timeout;
  readonly #stopListening: () => void;

  constructor(
    private readonly redis: Redis,
    private readonly keys: ClusterKeys,
    private readonly store: Store,
    logger: Logger,
    private readonly options: PublisherOptions,
    private readonly counters: ClusterCounters,
  ) {
    this.#logger = logger.child({ component: 'cluster' });
    this.synced = new Promise((resolve) => (this.#firstReady = resolve));
    this.#stopListening = store.onCommit((event) => this.#onCommit(event));
    redis.on('ready', () => void this.#onReady());
    redis.on('close', () => this.#onLost('connection closed'));
    redis.on('error', (error: Error) => (this.#lastError = error.message));
    // Renewed thrice per lease, and at least every second: a standby then takes over within the lease and one second.
    this.#timer = setInterval(() => void this.#renewLeases(), Math.max(100, Math.min(1000, Math.floor(options.leaseMs / 3))));
    if (redis.status === 'ready') void this.#onReady();
  }

  health(): ComponentHealth {
    let owned = 0;
    for (const link of this.#links.values()) if (link.owned) owned++;
    const standby = this.#links.size - owned;
    if (!this.#ready)
      return {
        status: 'DEGRADED',
        reason: `redis unreachable: ${this.#lastError ?? 'connecting'}; local clients are served, Redis gets what changed on recovery`,
        role: 'ingest',
        owned,
        standby,
      };
    return { status: 'HEALTHY', role: 'ingest', epoch: this.#epoch, owned, standby };
  }

  /** Publishes what is pending, gives up this node's leases (a standby takes over at once) and stops. Memoised. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#timer);
      this.#stopListening();
      if (this.#ready) {
        await this.#flush().catch(() => undefined);
        const pipeline = this.redis.pipeline();
        for (const link of this.#links.values()) if (link.owned) pipeline.tbRelease(link.keys.lease, this.options.node);
        await pipeline.exec().catch(() => undefined);
      }
    })();
    return this.#closed;
  }

  #onCommit({ state, entry }: CommitEvent): void {
    const link = this.#link(state.symbol);
    const from = link.seen;
    link.seen = state.document;
    // Each commit's ops apply to the document the one before made: in order, they are the patch from the first one's.
    if (link.commits++ === 0) link.chain = entry && from ? { from, ops: [entry.opsJson] } : null;
    else if (entry && link.chain && link.chain.ops.length < MAX_CHAINED) link.chain.ops.push(entry.opsJson);
    else link.chain = null;
    this.#dirty.add(state.symbol);
    this.#schedule();
  }

  #link(symbol: string): Link {
    let link = this.#links.get(symbol);
    if (!link) {
      link = { owned: false, asked: false, synced: null, seen: null, chain: null, commits: 0, documentSeq: 0, nextDocument: null, keys: this.keys.of(symbol) };
      this.#links.set(symbol, link);
    }
    return link;
  }

  async #onReady(): Promise<void> {
    try {
      const epoch = await namespaceEpoch(this.redis, this.keys);
      if (epoch !== this.#epoch) this.#logger.info({ event: 'cluster_epoch', epoch, node: this.options.node }, 'publishing to the namespace epoch');
      this.#epoch = epoch;
      // A new connection may be to a Redis restarted empty: its script cache too.
      this.#script = null;
      this.#ready = true;
      this.#lastError = null;
      // What Redis holds may have moved on while this node was away: read it again before writing.
      for (const state of this.store.symbols()) {
        const link = this.#link(state.symbol);
        link.synced = null;
        link.seen ??= state.document;
        this.#dirty.add(state.symbol);
      }
      await this.#renewLeases();
      this.#firstReady();
    } catch (error) {
      this.#lastError = (error as Error).message;
    }
  }

  #onLost(reason: string): void {
    if (!this.#ready) return;
    this.#ready = false;
    this.#lastError = reason;
    this.#logger.warn({ event: 'cluster_unreachable', reason }, 'redis unreachable; serving local clients, publishing what changed on recovery');
  }

  #schedule(): void {
    if (this.#scheduled || !this.#ready || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  /**
   * One flush at a time; commits made meanwhile wait for the next one, scheduled when it ends:
   * at once, or RETRY_MS later when writes failed (Redis refusing them must not be asked again
   * in a tight loop).
   */
  #flush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    const errorsBefore = this.counters.publishErrors.value;
    this.#flushing = this.#publishDirty()
      .catch((error: unknown) => {
        this.#lastError = (error as Error).message;
        this.counters.publishErrors.add();
      })
      .finally(() => {
        this.#flushing = null;
        if (this.#dirty.size === 0) return;
        if (this.counters.publishErrors.value === errorsBefore) this.#schedule();
        else setTimeout(() => this.#schedule(), RETRY_MS).unref();
      });
    return this.#flushing;
  }

  async #publishDirty(): Promise<void> {
    const epoch = this.#epoch;
    if (!this.#ready || epoch === null || this.#dirty.size === 0) return;
    const unasked = [...this.#dirty].filter((symbol) => this.#links.get(symbol)?.asked === false);
    if (unasked.length > 0) await this.#takeLeases(unasked);
    // A symbol another node writes waits here for its lease (taking it marks the symbol again).
    const symbols = [...this.#dirty].filter((symbol) => this.#links.get(symbol)?.owned);
    this.#dirty.clear();
    const unsynced = symbols.filter((symbol) => !this.#links.get(symbol)?.synced);
    if (unsynced.length > 0) await Promise.all(unsynced.map((symbol) => this.#sync(symbol, epoch)));
    await this.#scriptLoaded();
    const pipeline = this.redis.pipeline();
    const sent: Written[] = [];
    for (const symbol of symbols) {
      const link = this.#links.get(symbol) as Link;
      const state = this.store.get(symbol);
      if (!state || !link.synced) continue;
      const message = this.#messageOf(link, link.synced, epoch, state.document, state.symbolJson, () => state.documentJson());
      link.chain = null;
      link.commits = 0;
      if (!message) continue;
      const stored = this.#documentFor(link, message, () => state.documentJson());
      const documentText = stored === null ? '' : `{"seq":${stored.seq},"data":${stored.json}}`;
      queuePublish(pipeline, link.keys, {
        node: this.options.node,
        epoch,
        seq: message.seq,
        message: message.text,
        document: documentText,
        streamLength: this.options.streamLength,
        kind: message.kind,
      });
      if (message.kind === 'reset') pipeline.sadd(this.keys.symbols, symbol);
      this.counters.publishedBytes.add(message.text.length + documentText.length);
      sent.push({ symbol, link, seq: message.seq, document: state.document, stored: stored?.seq ?? null, reset: message.kind === 'reset' });
    }
    if (sent.length === 0) return;
    const replies = (await pipeline.exec()) ?? [];
    let at = 0;
    for (const item of sent) {
      const [error, reply] = replies[at++] ?? [new Error('no reply'), null];
      if (item.reset) at++;
      this.#settle(item, error, reply as string[] | null);
    }
  }

  /**
   * The document a write of `message` stores, if any. The stored document lags the top by
   * documentEvery to 2 × documentEvery versions (the stream holds at least 2 × documentEvery):
   * an edge that starts rebuilds its journal from it, and so resumes clients from at least
   * documentEvery versions back. A whole document is stored as it is written.
   */
  #documentFor(link: Link, message: { kind: 'patch' | 'reset'; seq: number }, documentJson: () => string): { seq: number; json: string } | null {
    if (message.kind === 'reset') return { seq: message.seq, json: documentJson() };
    if (message.seq - link.documentSeq < 2 * this.options.documentEvery) return null;
    const due = link.nextDocument;
    return due ? { seq: due.seq, json: JSON.stringify(due.document) } : { seq: message.seq, json: documentJson() };
  }

  /** The next version of `symbol` for Redis: a patch from the synced version, or a whole document; null when nothing changed. */
  #messageOf(
    link: Link,
    synced: Synced,
    epoch: string,
    document: InstrumentDocument,
    symbolJson: string,
    documentJson: () => string,
  ): { kind: 'patch' | 'reset'; seq: number; text: string } | null {
    const seq = synced.seq + 1;
    if (synced.document === null) return { kind: 'reset', seq, text: snapshotMessage(symbolJson, epoch, seq, documentJson()) };
    // The commits since the last write, from the version written: their ops' JSON is already made.
    if (link.chain?.from === synced.document)
      return { kind: 'patch', seq, text: patchMessageOfJson(symbolJson, epoch, seq, seq - 1, chainedOps(link.chain.ops)) };
    const ops = diff(synced.document, document);
    if (ops.length === 0) {
      synced.document = document;
      return null;
    }
    return { kind: 'patch', seq, text: patchMessageOfJson(symbolJson, epoch, seq, seq - 1, JSON.stringify(ops)) };
  }

  /** Loads the publishing script when this connection may not have it; a failure is tried again at the next flush. */
  #scriptLoaded(): Promise<void> {
    this.#script ??= loadPublish(this.redis).catch((error: unknown) => {
      this.#script = null;
      throw error;
    });
    return this.#script;
  }

  #settle(item: Written, error: Error | null, reply: string[] | null): void {
    const { symbol, link } = item;
    if (error?.message.startsWith('NOSCRIPT')) this.#script = null;
    if (error || !reply) {
      link.synced = null;
      this.#dirty.add(symbol);
      this.#lastError = error?.message ?? 'no reply';
      this.counters.publishErrors.add();
      return;
    }
    if (reply[0] === 'OK') {
      link.synced = { seq: item.seq, document: item.document };
      if (item.stored !== null) {
        link.documentSeq = item.stored;
        link.nextDocument = null;
      }
      if (link.nextDocument === null && item.seq - link.documentSeq >= this.options.documentEvery)
        link.nextDocument = { seq: item.seq, document: item.document };
      this.counters.published.add();
      return;
    }
    link.synced = null;
    if (reply[0] === 'NOTOWNER') {
      link.owned = false;
      this.#logger.warn({ event: 'cluster_lease_lost', symbol, owner: reply[1] }, 'another node writes this symbol now; standing by');
    } else {
      this.#dirty.add(symbol);
    }
  }

  /** Reads the symbol's top version from Redis, which this node does not know (start, takeover, recovery, a refused write). */
  async #sync(symbol: string, epoch: string): Promise<void> {
    const link = this.#links.get(symbol) as Link;
    try {
      const top = await readTop(this.redis, this.keys, symbol, this.options.limits);
      link.synced = top?.epoch === epoch ? { seq: top.seq, document: top.document } : { seq: 0, document: null };
      const documentSeq = top?.epoch === epoch ? (top.storedSeq ?? 0) : 0;
      link.documentSeq = documentSeq;
      link.nextDocument = top?.steps.find((step) => step.seq - documentSeq >= this.options.documentEvery) ?? null;
    } catch (error) {
      if (!(error instanceof ClusterDataError)) throw error;
      // What Redis holds cannot be continued: the whole document goes on from its top seq (or starts the symbol again).
      this.#logger.error({ event: 'cluster_bad_data', symbol, key: error.key, reason: error.message }, 'bad data in redis; publishing the whole document');
      link.synced = { seq: await this.#topSeq(symbol, epoch), document: null };
    }
    link.chain = null;
  }

  /** The symbol's top seq in the meta hash when it is in `epoch` and readable, else 0 (a fresh start). */
  async #topSeq(symbol: string, epoch: string): Promise<number> {
    const [metaEpoch, top] = await this.redis.hmget((this.#links.get(symbol) as Link).keys.meta, 'epoch', 'seq');
    const seq = Number(top);
    return metaEpoch === epoch && Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
  }

  /** Renews the leases held, and tries to take those another node held (it may have died). */
  async #renewLeases(): Promise<void> {
    if (!this.#ready || this.#links.size === 0) return;
    try {
      await this.#takeLeases([...this.#links.keys()]);
    } catch (error) {
      this.#lastError = (error as Error).message;
      return;
    }
    this.#schedule();
  }

  /** Takes or renews the leases of `symbols`: those taken over are read from Redis before their next write. */
  async #takeLeases(symbols: readonly string[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const symbol of symbols) pipeline.tbLease((this.#links.get(symbol) as Link).keys.lease, this.options.node, this.options.leaseMs);
    const replies = (await pipeline.exec()) ?? [];
    symbols.forEach((symbol, index) => {
      const [error, held] = replies[index] ?? [null, 0];
      if (error) return;
      const link = this.#links.get(symbol) as Link;
      const known = link.asked;
      link.asked = true;
      if (held === 1 && !link.owned) {
        link.owned = true;
        link.synced = null;
        this.#dirty.add(symbol);
        if (known) this.#logger.info({ event: 'cluster_lease_taken', symbol, node: this.options.node }, 'this node writes the symbol now');
      } else if (held !== 1 && link.owned) {
        link.owned = false;
        link.synced = null;
        this.#logger.warn({ event: 'cluster_lease_lost', symbol }, 'another node writes this symbol now; standing by');
      }
    });
  }
}

/** One array of every op in `ops` (each a JSON array, never empty: a commit changes something), in order. */
function chainedOps(ops: readonly string[]): string {
  if (ops.length === 1) return ops[0] as string;
  return `[${ops.map((json) => json.slice(1, -1)).join(',')}]`;
}
