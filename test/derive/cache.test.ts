import { afterEach, describe, expect, it } from 'vitest';
import { DerivedCache, type DerivedCacheOptions } from '../../src/derive/cache.js';
import { sleep } from '../helpers/wait.js';

const caches: DerivedCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

function cacheOf(options: Partial<DerivedCacheOptions> = {}): DerivedCache {
  const cache = new DerivedCache({ maxBytes: 1 << 20, ttlMs: { bars: 60_000, indicators: 60_000 }, ...options });
  caches.push(cache);
  return cache;
}

/** A computation that counts how often it ran. */
function counted(value: string): { compute: () => string; runs: () => number } {
  let runs = 0;
  return {
    compute: () => {
      runs++;
      return value;
    },
    runs: () => runs,
  };
}

describe('the shared cache of on-demand answers', () => {
  it('computes an answer once and serves it from then on, counting hits and misses per kind', async () => {
    const cache = cacheOf();
    const answer = counted('{"a":1}');
    expect(await cache.get('indicators', 'k', answer.compute)).toBe('{"a":1}');
    expect(await cache.get('indicators', 'k', answer.compute)).toBe('{"a":1}');
    expect(await cache.get('bars', 'other', () => '[]')).toBe('[]');
    expect(answer.runs()).toBe(1);
    const stats = cache.stats();
    expect(stats).toMatchObject({ hits: 1, misses: 2, hitRate: 0.333, entries: 2, evictions: 0 });
    expect(stats.kinds).toEqual({ bars: { hits: 0, misses: 1, hitRate: 0 }, indicators: { hits: 1, misses: 1, hitRate: 0.5 } });
    expect(stats.bytes).toBeGreaterThan('{"a":1}[]kother'.length);
  });

  it('coalesces identical requests made while the answer is being computed: one computation', async () => {
    const cache = cacheOf();
    const answer = counted('x'.repeat(100));
    const answers = await Promise.all(Array.from({ length: 50 }, () => cache.get('indicators', 'same', answer.compute)));
    expect(new Set(answers)).toEqual(new Set(['x'.repeat(100)]));
    expect(answer.runs()).toBe(1);
    expect(cache.stats()).toMatchObject({ misses: 1, hits: 49, coalesced: 49 });
  });

  it("answers age out after their kind's time to live, and are purged", async () => {
    const cache = cacheOf({ ttlMs: { bars: 60_000, indicators: 40 } });
    const indicators = counted('i');
    const bars = counted('b');
    await cache.get('indicators', 'i', indicators.compute);
    await cache.get('bars', 'b', bars.compute);
    await sleep(80);
    await cache.get('indicators', 'i', indicators.compute);
    await cache.get('bars', 'b', bars.compute);
    expect([indicators.runs(), bars.runs()]).toEqual([2, 1]);
    expect(cache.stats().expirations).toBe(1);
    // The purge (every shortest time to live, at least each second) drops what nobody asked for again.
    await sleep(1100);
    expect(cache.stats()).toMatchObject({ entries: 1, expirations: 2 });
  });

  it('holds at most maxBytes, evicting the least recently used', async () => {
    const cache = cacheOf({ maxBytes: 2048 });
    for (let i = 0; i < 20; i++) await cache.get('bars', `key${i}`, () => 'y'.repeat(400));
    const stats = cache.stats();
    expect(stats.bytes).toBeLessThanOrEqual(2048);
    expect(stats.entries).toBeLessThan(20);
    expect(stats.evictions).toBe(20 - stats.entries);
    // The newest are still there; the oldest were computed again.
    const newest = counted('y'.repeat(400));
    await cache.get('bars', 'key19', newest.compute);
    expect(newest.runs()).toBe(0);
    const oldest = counted('y'.repeat(400));
    await cache.get('bars', 'key0', oldest.compute);
    expect(oldest.runs()).toBe(1);
  });

  it('a computation that fails is not cached; a new size bound or clear() empties it', async () => {
    const cache = cacheOf();
    await expect(
      cache.get('indicators', 'bad', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await cache.get('indicators', 'bad', () => 'ok')).toBe('ok');
    cache.clear();
    expect(cache.stats().entries).toBe(0);
    await cache.get('indicators', 'k', () => 'v');
    cache.applyOptions({ maxBytes: 4096, ttlMs: { bars: 1000, indicators: 1000 } });
    expect(cache.stats()).toMatchObject({ entries: 0, maxBytes: 4096 });
  });
});
