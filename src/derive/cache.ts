import { LRUCache } from 'lru-cache';
import { CACHE_KINDS, cacheCounters, type CacheCounters, type CacheKind } from './cache-counters.js';
import type { Tally } from '../core/tally.js';

export interface DerivedCacheOptions {
  /** Bytes of answers (and their keys) held at most; the least recently used go first. */
  maxBytes: number;
  /** How long an answer of each kind is kept. */
  ttlMs: Readonly<Record<CacheKind, number>>;
}

export interface CacheStats {
  hits: number;
  misses: number;
  coalesced: number;
  /** hits / (hits + misses), null before the first request. */
  hitRate: number | null;
  entries: number;
  bytes: number;
  maxBytes: number;
  evictions: number;
  expirations: number;
  kinds: Record<CacheKind, { hits: number; misses: number; hitRate: number | null }>;
}

/** Per entry beyond its key and value: the cache's own slots and the string headers. */
const ENTRY_OVERHEAD_BYTES = 64;
/** Expired entries are purged every shortest time to live, within 1 s to 60 s. */
const MAX_PURGE_INTERVAL_MS = 60_000;

type Compute = () => string;

/**
 * The one cache of on-demand answers (`/bars`, `/indicators`), shared by every client. An
 * answer is JSON text, keyed by what it was computed from, including the version of the
 * data, so that it is never served stale and never computed twice for the same state.
 * Identical requests that arrive while the answer is being computed wait for that one
 * computation (lru-cache's fetch). Bounded in bytes (LRU eviction) and by a time to live
 * per kind; answers of older versions are never asked for again and age out.
 */
export class DerivedCache {
  #cache: LRUCache<string, string, Compute>;
  #options: DerivedCacheOptions;
  #purge: NodeJS.Timeout;
  readonly #counters: CacheCounters;

  constructor(options: DerivedCacheOptions, counters: CacheCounters = cacheCounters()) {
    this.#options = options;
    this.#counters = counters;
    this.#cache = this.#create(options.maxBytes);
    this.#purge = this.#schedulePurge();
  }

  /** The answer under `key`, computed by `compute` (synchronously, once) when not held. */
  async get(kind: CacheKind, key: string, compute: Compute): Promise<string> {
    const status: LRUCache.Status<string, string, Compute> = {};
    const value = await this.#cache.fetch(key, { context: compute, ttl: this.#options.ttlMs[kind], status });
    const outcome = status.fetch;
    if (outcome === 'hit') {
      this.#counters.hits[kind].add();
    } else if (outcome === 'inflight') {
      this.#counters.hits[kind].add();
      this.#counters.coalesced[kind].add();
    } else {
      this.#counters.misses[kind].add();
      // Held, but past its time to live: computed again in its place.
      if (outcome === 'stale') this.#counters.expirations.add();
    }
    return value as string;
  }

  /** New limits: a new size bound starts an empty cache; new times to live apply to new answers. */
  applyOptions(options: DerivedCacheOptions): void {
    if (options.maxBytes !== this.#options.maxBytes) this.#cache = this.#create(options.maxBytes);
    this.#options = options;
    clearInterval(this.#purge);
    this.#purge = this.#schedulePurge();
  }

  /** Drops every answer (what they were computed with changed: the indicators configured). */
  clear(): void {
    this.#cache.clear();
  }

  stats(): CacheStats {
    const counters = this.#counters;
    const sum = (tallies: Record<CacheKind, Tally>): number => CACHE_KINDS.reduce((total, kind) => total + tallies[kind].value, 0);
    const hits = sum(counters.hits);
    const misses = sum(counters.misses);
    const kinds = Object.fromEntries(
      CACHE_KINDS.map((kind) => [
        kind,
        { hits: counters.hits[kind].value, misses: counters.misses[kind].value, hitRate: rate(counters.hits[kind].value, counters.misses[kind].value) },
      ]),
    ) as CacheStats['kinds'];
    return {
      hits,
      misses,
      coalesced: sum(counters.coalesced),
      hitRate: rate(hits, misses),
      entries: this.#cache.size,
      bytes: this.#cache.calculatedSize,
      maxBytes: this.#options.maxBytes,
      evictions: counters.evictions.value,
      expirations: counters.expirations.value,
      kinds,
    };
  }

  #closing: Promise<void> | null = null;

  /** Stops the purge timer and empties the cache. Memoised: every call gets the same promise. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = Promise.resolve();
    clearInterval(this.#purge);
    this.#cache.clear();
    return this.#closing;
  }

  #create(maxBytes: number): LRUCache<string, string, Compute> {
    return new LRUCache<string, string, Compute>({
      maxSize: maxBytes,
      sizeCalculation: (value, key) => value.length + key.length + ENTRY_OVERHEAD_BYTES,
      fetchMethod: (_key, _stale, { context }) => context(),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.#counters.evictions.add();
        else if (reason === 'expire') this.#counters.expirations.add();
      },
    });
  }

  #schedulePurge(): NodeJS.Timeout {
    const interval = Math.min(MAX_PURGE_INTERVAL_MS, Math.max(1000, Math.min(...Object.values(this.#options.ttlMs))));
    const timer = setInterval(() => this.#cache.purgeStale(), interval);
    timer.unref();
    return timer;
  }
}

function rate(hits: number, misses: number): number | null {
  const total = hits + misses;
  return total === 0 ? null : Math.round((hits / total) * 1000) / 1000;
}
