import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.js';
import type { ComponentHealth } from '../core/health.js';
import { symbolNameProblem } from '../model/symbol-name.js';
import type { Store } from '../state/store.js';
import type { ClusterCounters } from './counters.js';
import type { ClusterKeys } from './keys.js';
import { applyOrThrow, ClusterDataError, parseVersion, readTop, readVersionsAfter, type RemoteLimits, type RemoteVersion } from './remote-state.js';
import { EPOCH_PATTERN } from '../model/wire.js';

/** How long after a read of the namespace that failed the next one starts. */
const RETRY_MS = 250;

export interface MirrorOptions {
  /** What is taken from Redis at most. */
  readonly limits: RemoteLimits;
  /** Symbols mirrored at most (document.maxSymbols); more are refused with an error. */
  readonly maxSymbols: number;
}

/**
 * The edge node's side of the cluster: the store follows what the ingest nodes publish. It
 * subscribes to every symbol's channel first, then reads each symbol's top version, so that
 * nothing published in between is missed. A version that follows the one held is applied at
 * once (in the same turn it arrives); a gap is filled from the symbol's stream before anything
 * past it is applied, and while that read is under way the channel's messages for the symbol
 * are dropped (the stream has them). A gap the stream no longer holds becomes the whole
 * document, which every subscriber gets as a fresh snapshot: never a silent gap.
 */
export class ClusterMirror {
  /** The version applied per symbol, in #epoch. */
  readonly #seqs = new Map<string, number>();
  readonly #catchingUp = new Set<string>();
  /** Symbols whose channel spoke while they were being caught up: read again after. */
  readonly #again = new Set<string>();
  readonly #logger: Logger;
  #epoch: string | null = null;
  #lastError: string | null = 'connecting';
  #resyncing: Promise<void> | null = null;
  /** Resyncs asked for: one asked while another runs makes it run again. */
  #resyncsWanted = 0;
  #firstSync: () => void = () => undefined;
  /** Resolves once every symbol in Redis was read the first time. */
  readonly synced: Promise<void>;
  #closed: Promise<void> | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly keys: ClusterKeys,
    private readonly store: Store,
    logger: Logger,
    private readonly options: MirrorOptions,
    private readonly counters: ClusterCounters,
  ) {
    this.#logger = logger.child({ component: 'cluster' });
    this.synced = new Promise((resolve) => (this.#firstSync = resolve));
    subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => this.#onMessage(channel, message));
    for (const connection of [redis, subscriber]) {
      connection.on('error', (error: Error) => (this.#lastError = error.message));
      connection.on('close', () => this.#onLost());
    }
    // After a reconnect the channel may have spoken unheard: read every symbol again, once subscribed.
    redis.on('ready', () => void this.#resyncAll());
    subscriber.on('ready', () => void this.#subscribe());
    if (subscriber.status === 'ready') void this.#subscribe();
  }

  async #subscribe(): Promise<void> {
    try {
      await this.subscriber.psubscribe(this.keys.channelPattern);
      await this.#resyncAll();
    } catch (error) {
      this.#lastError = (error as Error).message;
    }
  }

  get ready(): boolean {
    return this.redis.status === 'ready' && this.subscriber.status === 'ready' && this.#lastError === null;
  }

  health(): ComponentHealth {
    const symbols = this.#seqs.size;
    if (!this.ready)
      return { status: 'DEGRADED', reason: `redis unreachable: ${this.#lastError ?? 'connecting'}; serving the state held`, role: 'edge', symbols };
    return { status: 'HEALTHY', role: 'edge', epoch: this.#epoch, symbols, catchingUp: this.#catchingUp.size };
  }

  /** Stops following (the connections are the caller's). Memoised. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.subscriber.removeAllListeners('pmessage');
      await (this.#resyncing ?? Promise.resolve()).catch(() => undefined);
    })();
    return this.#closed;
  }

  #onLost(): void {
    if (this.#lastError === null) {
      this.#lastError = 'connection closed';
      this.#logger.warn({ event: 'cluster_unreachable' }, 'redis unreachable; serving the state held, catching up on recovery');
    }
  }

  #onMessage(channel: string, text: string): void {
    if (this.#closed) return;
    const symbol = this.keys.symbolOf(channel);
    if (symbol === null) return;
    const problem = symbolNameProblem(symbol);
    if (problem) {
      this.#bad(new ClusterDataError(`channel ${channel}`, problem));
      return;
    }
    let version: RemoteVersion;
    try {
      version = parseVersion(text, symbol, `channel ${channel}`, this.options.limits.maxBytes);
    } catch (error) {
      this.#bad(error);
      return;
    }
    if (version.epoch !== this.#epoch) {
      void this.#resyncAll();
      return;
    }
    if (this.#catchingUp.has(symbol)) {
      this.#again.add(symbol);
      return;
    }
    const held = this.#seqs.get(symbol) ?? 0;
    if (version.seq <= held) return;
    if (version.seq === held + 1) {
      try {
        this.#apply(symbol, version);
      } catch (error) {
        this.#bad(error);
        void this.#catchUp(symbol);
      }
      return;
    }
    this.counters.gapsFilled.add();
    void this.#catchUp(symbol);
  }

  /** Takes `version`, the one after the version held. */
  #apply(symbol: string, version: RemoteVersion): void {
    if (version.kind === 'snapshot') {
      if (!this.#seqs.has(symbol) && this.#seqs.size >= this.options.maxSymbols) {
        throw new ClusterDataError(this.keys.meta(symbol), `is one symbol more than document.maxSymbols (${this.options.maxSymbols}); not mirrored`);
      }
      this.store.applyRemote(symbol, version.seq, { document: version.document });
    } else {
      const state = this.store.get(symbol);
      if (!state) throw new ClusterDataError(this.keys.log(symbol), `version ${version.seq} is a patch of a symbol not held`);
      const document = applyOrThrow(state.document, version.ops, this.keys.log(symbol), version.seq);
      this.store.applyRemote(symbol, version.seq, { ops: version.ops, document });
    }
    this.#seqs.set(symbol, version.seq);
    this.counters.applied.add();
  }

  /** Brings `symbol` to its top version in Redis: the stream's versions after the one held, else its whole document. */
  /** False when Redis could not be read (bad data is reported and counts as read). */
  async #catchUp(symbol: string): Promise<boolean> {
    if (this.#catchingUp.has(symbol)) {
      this.#again.add(symbol);
      return true;
    }
    this.#catchingUp.add(symbol);
    try {
      do {
        this.#again.delete(symbol);
        await this.#readUp(symbol);
      } while (this.#again.has(symbol) && !this.#closed);
      return true;
    } catch (error) {
      if (!(error instanceof ClusterDataError)) {
        this.#lastError = (error as Error).message;
        return false;
      }
      this.#bad(error);
      return true;
    } finally {
      this.#catchingUp.delete(symbol);
    }
  }

  async #readUp(symbol: string): Promise<void> {
    const epoch = this.#epoch;
    if (epoch === null) return;
    const held = this.#seqs.get(symbol) ?? 0;
    if (held > 0) {
      const versions = await readVersionsAfter(this.redis, this.keys, symbol, epoch, held, this.options.limits);
      if (versions !== null) {
        for (const version of versions) if (version.seq === (this.#seqs.get(symbol) ?? 0) + 1) this.#apply(symbol, version);
        return;
      }
    }
    const top = await readTop(this.redis, this.keys, symbol, this.options.limits);
    if (top?.epoch !== epoch || top.seq === held || epoch !== this.#epoch) return;
    if (held > 0) this.counters.resnapshots.add();
    // From the whole version the history starts at, patch by patch: the journal then holds the
    // patches the stream holds, and a client resuming from any of them gets patches, not a snapshot.
    this.#apply(symbol, { kind: 'snapshot', epoch, seq: top.from.seq, document: top.from.document });
    for (const step of top.steps) {
      this.store.applyRemote(symbol, step.seq, { ops: step.ops, document: step.document });
      this.#seqs.set(symbol, step.seq);
      this.counters.applied.add();
    }
  }

  /** Reads the namespace again: its epoch (a new one starts every symbol over), then every symbol. */
  #resyncAll(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#resyncsWanted++;
    if (this.#resyncing) return this.#resyncing;
    this.#resyncing = (async () => {
      let done;
      do {
        done = this.#resyncsWanted;
        await this.#resyncOnce();
      } while (done !== this.#resyncsWanted && !this.#closed);
    })()
      .catch((error: unknown) => {
        if (error instanceof ClusterDataError) this.#bad(error);
        else this.#lastError = (error as Error).message;
      })
      .finally(() => (this.#resyncing = null));
    return this.#resyncing;
  }

  async #resyncOnce(): Promise<void> {
    if (this.redis.status !== 'ready' || this.subscriber.status !== 'ready') return;
    const epoch = await this.redis.get(this.keys.epoch);
    if (epoch !== null && !EPOCH_PATTERN.test(epoch)) throw new ClusterDataError(this.keys.epoch, `holds ${JSON.stringify(epoch)}, not an epoch`);
    if (epoch !== null && epoch !== this.#epoch) {
      if (this.#epoch !== null)
        this.#logger.warn({ event: 'cluster_new_epoch', from: this.#epoch, to: epoch }, 'the namespace began a new epoch; clients get fresh snapshots');
      this.#epoch = epoch;
      this.#seqs.clear();
      this.store.adoptEpoch(epoch);
    }
    const symbols = epoch === null ? [] : await this.#namespaceSymbols();
    const read = await Promise.all(
      symbols.map(async (symbol) => {
        const problem = symbolNameProblem(symbol);
        if (!problem) return this.#catchUp(symbol);
        this.#bad(new ClusterDataError(`${this.keys.symbols} member`, problem));
        return true;
      }),
    );
    if (read.includes(false)) {
      // Still DEGRADED (#lastError says why): the whole namespace is read again shortly.
      setTimeout(() => void this.#resyncAll(), RETRY_MS).unref();
      return;
    }
    this.#lastError = null;
    this.#firstSync();
  }

  /** The namespace's symbols, at most document.maxSymbols of them (a larger set is reported, and its first ones read). */
  async #namespaceSymbols(): Promise<string[]> {
    const symbols: string[] = [];
    let cursor = '0';
    do {
      const [next, members] = await this.redis.sscan(this.keys.symbols, cursor, 'COUNT', 1000);
      cursor = next;
      symbols.push(...members);
    } while (cursor !== '0' && symbols.length <= this.options.maxSymbols);
    if (symbols.length <= this.options.maxSymbols) return symbols;
    this.#bad(new ClusterDataError(this.keys.symbols, `holds more than document.maxSymbols (${this.options.maxSymbols}) symbols; the first ones are mirrored`));
    return symbols.slice(0, this.options.maxSymbols);
  }

  #bad(error: unknown): void {
    if (!(error instanceof ClusterDataError)) throw error;
    this.counters.badData.add();
    this.#logger.error({ event: 'cluster_bad_data', key: error.key, reason: error.message }, 'bad data in redis; skipped');
  }
}
