import fc from 'fast-check';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { diff } from '../../src/state/delta.js';
import { applyPatch } from '../../src/state/apply-patch.js';
import type { PatchOperation } from '../../src/model/patch.js';

/*
 * Property: for any two JSON documents a and b, diff(a, b) is a valid RFC 6902 patch
 * that turns a into b, and neither input is touched.
 *
 * Two appliers check it: fast-json-patch (validating) on documents without the keys it
 * refuses for its own safety (`__proto__`, `constructor/prototype`), and a small strict
 * applier of our own on every document, that treats members as own properties only (a
 * `replace` or `remove` of a missing member fails, whatever Object.prototype holds).
 */

// ---------------------------------------------------------------- helpers

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** -0 is not a JSON value the wire can carry (it serialises as 0): normalise it. */
function normalise(value: unknown, dropKey: (key: string) => boolean = () => false): Json {
  if (typeof value === 'number') return Object.is(value, -0) ? 0 : value;
  if (Array.isArray(value)) return value.map((item) => normalise(item, dropKey));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, Json> = {};
    for (const key of Object.keys(value)) {
      if (dropKey(key)) continue;
      defineOwn(out, key, normalise((value as Record<string, unknown>)[key], dropKey));
    }
    return out;
  }
  return value as Json;
}

/** Sets an own data property, `__proto__` included. */
function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function clone(value: unknown): unknown {
  return normalise(value);
}

/** JSON with sorted keys: equality of JSON values whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function unescapeToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** A strict RFC 6902 (add/remove/replace) applier over own properties. Throws on any violation. */
function strictApply(document: unknown, ops: readonly PatchOperation[]): unknown {
  let root = clone(document);
  for (const op of ops) {
    if (op.path === '') {
      if (op.op === 'remove') throw new Error('remove of the root');
      root = clone(op.value);
      continue;
    }
    if (!op.path.startsWith('/')) throw new Error(`bad path ${op.path}`);
    if (/~[^01]|~$/.test(op.path)) throw new Error(`bad escape in ${op.path}`);
    const tokens = op.path.slice(1).split('/').map(unescapeToken);
    let parent: unknown = root;
    for (const token of tokens.slice(0, -1)) parent = member(parent, token, op.path);
    const last = tokens[tokens.length - 1] as string;
    if (Array.isArray(parent)) {
      if (!/^(0|[1-9][0-9]*)$/.test(last)) throw new Error(`bad array index in ${op.path}`);
      const index = Number(last);
      if (op.op === 'add') {
        if (index > parent.length) throw new Error(`add beyond the end: ${op.path}`);
        parent.splice(index, 0, clone(op.value));
      } else {
        if (index >= parent.length) throw new Error(`${op.op} of a missing element: ${op.path}`);
        if (op.op === 'remove') parent.splice(index, 1);
        else parent[index] = clone(op.value);
      }
    } else if (typeof parent === 'object' && parent !== null) {
      const object = parent as Record<string, unknown>;
      if (op.op !== 'add' && !Object.hasOwn(object, last)) throw new Error(`${op.op} of a missing member: ${op.path}`);
      if (op.op === 'remove') Reflect.deleteProperty(object, last);
      else defineOwn(object, last, clone(op.value));
    } else {
      throw new Error(`parent of ${op.path} is not a container`);
    }
  }
  return root;
}

function member(container: unknown, token: string, path: string): unknown {
  if (Array.isArray(container)) {
    if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= container.length) throw new Error(`no element ${token} in ${path}`);
    return container[Number(token)];
  }
  if (typeof container === 'object' && container !== null && Object.hasOwn(container, token)) {
    return (container as Record<string, unknown>)[token];
  }
  throw new Error(`no member ${token} in ${path}`);
}

/** Keys fast-json-patch refuses to write through (a safety rule of that library, not RFC 6902). */
const fjpUnsafe = (key: string): boolean => key === '__proto__' || key === 'prototype';

/** The whole check of one pair. */
function checkPair(a: unknown, b: unknown, viaFastJsonPatch: boolean): void {
  const beforeA = canonical(a);
  const beforeB = canonical(b);
  const ops = diff(a, b);
  expect(canonical(a)).toBe(beforeA);
  expect(canonical(b)).toBe(beforeB);
  for (const op of ops) expect(op.path === '' || op.path.startsWith('/')).toBe(true);
  if (canonical(a) === canonical(b)) expect(ops).toEqual([]);

  expect(canonical(strictApply(a, ops))).toBe(beforeB);
  // The edge's copy-on-write applier gives b too, and shares every untouched part of a.
  expect(canonical(applyPatch(a, ops))).toBe(beforeB);
  // The wire form (a JSON round trip of the ops) gives the same result.
  expect(canonical(strictApply(a, JSON.parse(JSON.stringify(ops)) as PatchOperation[]))).toBe(beforeB);

  if (viaFastJsonPatch) {
    expect(jsonpatch.validate(ops as Operation[], clone(a))).toBeUndefined();
    const applied = jsonpatch.applyPatch(clone(a), clone(ops) as Operation[], true, false).newDocument;
    expect(applied).toEqual(b);
  }
  // Applying did not touch the inputs either (op values are shared with b).
  expect(canonical(a)).toBe(beforeA);
  expect(canonical(b)).toBe(beforeB);
}

// ---------------------------------------------------------------- generators: any JSON

const anyJson = fc.jsonValue({ maxDepth: 4 }).map((value) => normalise(value));
const safeJson = anyJson.map((value) => normalise(value, fjpUnsafe));

/**
 * b derived from a by a few random edits that keep every other subtree by reference, the
 * way the store builds versions: most of b is a's objects.
 */
function mutate(value: Json, choices: readonly number[], pool: readonly Json[], keys: readonly string[]): Json {
  let cursor = 0;
  const next = (): number => choices[cursor++ % choices.length] as number;
  const pick = <T>(items: readonly T[]): T => items[next() % items.length] as T;
  const walk = (node: Json, depth: number): Json => {
    const choice = next() % 10;
    if (choice < 3 || depth > 5) return node;
    if (choice === 3) return pick(pool);
    if (Array.isArray(node)) {
      const copy = node.slice();
      const edits = 1 + (next() % 3);
      for (let e = 0; e < edits; e++) {
        const kind = next() % 4;
        const at = copy.length === 0 ? 0 : next() % (copy.length + (kind === 0 ? 1 : 0));
        if (kind === 0 || copy.length === 0) copy.splice(at, 0, pick(pool));
        else if (kind === 1) copy.splice(at, 1);
        else copy[at] = walk(copy[at] as Json, depth + 1);
      }
      return copy;
    }
    if (typeof node === 'object' && node !== null) {
      const copy = normaliseShallow(node);
      const own = Object.keys(copy);
      const edits = 1 + (next() % 3);
      for (let e = 0; e < edits; e++) {
        const kind = next() % 4;
        if (kind === 0 || own.length === 0) defineOwn(copy, pick(keys), pick(pool));
        else if (kind === 1) Reflect.deleteProperty(copy, pick(own));
        else {
          const key = pick(own);
          if (Object.hasOwn(copy, key)) defineOwn(copy, key, walk(copy[key] as Json, depth + 1));
        }
      }
      return copy;
    }
    return choice < 7 ? pick(pool) : node;
  };
  return walk(value, 0);
}

/** A shallow copy that keeps an own `__proto__` key as a key. */
function normaliseShallow(node: Record<string, Json>): Record<string, Json> {
  const copy: Record<string, Json> = {};
  for (const key of Object.keys(node)) defineOwn(copy, key, node[key]);
  return copy;
}

function mutatedPair(json: fc.Arbitrary<Json>): fc.Arbitrary<[Json, Json]> {
  return fc
    .tuple(
      json,
      fc.array(fc.nat(), { minLength: 16, maxLength: 64 }),
      fc.array(json, { minLength: 1, maxLength: 4 }),
      fc.array(fc.string({ maxLength: 4 }), { minLength: 1, maxLength: 4 }),
    )
    .map(([a, choices, pool, keys]) => [a, mutate(a, choices, pool, [...keys, 'a/b', '~', 'constructor'])]);
}

// ---------------------------------------------------------------- generators: instrument documents

const price = fc.integer({ min: 1, max: 40_000 }).map((quarter) => quarter / 4);
const T0 = 1_763_640_000_000;

type Mode = 'same' | 'clone' | 'partial' | 'other';
const mode = fc.constantFrom<Mode>('same', 'same', 'clone', 'partial', 'other');

const barBody = fc.record(
  { o: price, h: price, l: price, c: price, v: fc.nat(100_000), n: fc.nat(500), bv: fc.nat(1000), av: fc.nat(1000) },
  { requiredKeys: ['o', 'h', 'l', 'c', 'v'] },
);

const barItem = fc.record({ k: fc.integer({ min: 0, max: 300 }), a: barBody, b: barBody, inA: fc.boolean(), inB: fc.boolean(), mode });

/** Two versions of a bar window: sorted by unique t, sharing the objects the mode says. */
const windowPair = fc.uniqueArray(barItem, { selector: (item) => item.k, maxLength: 40 }).map((items) => {
  items.sort((x, y) => x.k - y.k);
  const a: Json[] = [];
  const b: Json[] = [];
  for (const item of items) {
    const t = T0 + item.k * 60_000;
    const barA: Json = { t, ...item.a };
    let barB: Json;
    if (item.mode === 'same') barB = barA;
    else if (item.mode === 'clone') barB = { t, ...item.a };
    else if (item.mode === 'partial') barB = { t, ...item.a, c: item.b.c, v: item.b.v };
    else barB = { t, ...item.b };
    if (item.inA) a.push(barA);
    if (item.inB) b.push(barB);
  }
  return [a, b] as [Json, Json];
});

/** A full window rolled by a few bars: old bar objects reused, new ones appended. */
const rollingPair = fc
  .tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 5 }), fc.boolean(), fc.array(barBody, { minLength: 65, maxLength: 65 }))
  .map(([size, roll, touchLast, bodies]) => {
    const bars: Json[] = bodies.map((body, i) => ({ t: T0 + i * 60_000, ...body }));
    const a = bars.slice(0, size);
    const b = bars.slice(roll, size + roll);
    if (touchLast && roll < size) {
      const index = size - 1 - roll;
      b[index] = { ...(b[index] as Record<string, Json>), c: 1.25, v: 7 };
    }
    return [a, b] as [Json, Json];
  });

const levelBody = fc.oneof(fc.tuple(fc.nat(5000)), fc.tuple(fc.nat(5000), fc.nat(50)));
const levelItem = fc.record({ k: fc.integer({ min: 0, max: 200 }), a: levelBody, b: levelBody, inA: fc.boolean(), inB: fc.boolean(), mode });

function levelsPair(direction: 1 | -1): fc.Arbitrary<[Json, Json]> {
  return fc.uniqueArray(levelItem, { selector: (item) => item.k, maxLength: 25 }).map((items) => {
    items.sort((x, y) => (x.k - y.k) * direction);
    const a: Json[] = [];
    const b: Json[] = [];
    for (const item of items) {
      const p = 6000 + item.k * 0.25;
      const levelA: Json = [p, ...item.a];
      let levelB: Json;
      if (item.mode === 'same') levelB = levelA;
      else if (item.mode === 'clone') levelB = [p, ...item.a];
      else if (item.mode === 'partial') levelB = [p, item.b[0], ...item.a.slice(1)];
      else levelB = [p, ...item.b];
      if (item.inA) a.push(levelA);
      if (item.inB) b.push(levelB);
    }
    return [a, b] as [Json, Json];
  });
}

/** Arrays that look like bars or levels but are not strictly ordered by their key. */
const messyBars = fc.array(fc.record({ t: fc.integer({ min: 0, max: 6 }), c: price }), { maxLength: 8 });
const messyLevels = fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.nat(9)), { maxLength: 8 });
const messyPair: fc.Arbitrary<[Json, Json]> = fc.oneof(
  fc.tuple(messyBars, messyBars),
  fc.tuple(messyLevels, messyLevels),
  // One side ordered, the other the reverse.
  windowPair.map(([a]) => [a, (a as Json[]).slice().reverse()] as [Json, Json]),
  levelsPair(-1).map(([a]) => [a, (a as Json[]).slice().reverse()] as [Json, Json]),
  // Mixed elements: bars with a non-bar, levels with a non-level.
  fc.tuple(messyBars, messyBars, anyJson).map(([a, b, extra]) => [a, [...b, extra]] as [Json, Json]),
  fc.tuple(messyLevels, messyLevels, anyJson).map(([a, b, extra]) => [[extra, ...a], b] as [Json, Json]),
  // Bars against levels.
  fc.tuple(messyBars, messyLevels),
);

const quote = fc.record(
  { bid: price, ask: price, last: price, lastSize: fc.nat(100), time: fc.double({ min: 1e12, max: 2e12, noNaN: true }) },
  { requiredKeys: [] },
);
const quotePair: fc.Arbitrary<[Json, Json]> = fc
  .tuple(quote, quote, fc.constantFrom('same', 'other', 'partial'))
  .map(([a, b, how]) => [a, how === 'same' ? a : how === 'other' ? b : { ...a, bid: b.bid ?? 1, time: b.time ?? 2 }]);

const optionalPair = <T>(pair: fc.Arbitrary<[T, T]>): fc.Arbitrary<[T | undefined, T | undefined]> =>
  fc.tuple(pair, fc.boolean(), fc.boolean()).map(([[a, b], keepA, keepB]) => [keepA ? a : undefined, keepB ? b : undefined]);

const fieldsPair = mutatedPair(fc.dictionary(fc.string({ maxLength: 6 }), safeJson, { maxKeys: 5 }));

const instrumentPair: fc.Arbitrary<[Json, Json]> = fc
  .record({
    quote: quotePair,
    m1: windowPair,
    m5: optionalPair(rollingPair),
    bids: levelsPair(-1),
    asks: levelsPair(1),
    book: fc.tuple(fc.boolean(), fc.boolean()),
    bookTime: fc.tuple(fc.nat(), fc.nat()),
    fields: fieldsPair,
    sources: fc.tuple(fc.subarray(['json', 'mt5-ticks', 'sierra-scid']), fc.subarray(['json', 'mt5-ticks', 'sierra-scid'])),
    messy: optionalPair(messyPair),
  })
  .map((parts) => {
    const side = (i: 0 | 1): Json => {
      const bars: Record<string, Json> = { M1: parts.m1[i] };
      const m5 = parts.m5[i];
      if (m5 !== undefined) bars.M5 = m5;
      const doc: Record<string, Json> = { symbol: 'ESZ25_FUT_CME', sources: parts.sources[i], quote: parts.quote[i], bars };
      if (parts.book[i]) doc.book = { bids: parts.bids[i], asks: parts.asks[i], time: parts.bookTime[i] };
      doc.fields = parts.fields[i];
      const messy = parts.messy[i];
      if (messy !== undefined) doc.indicators = { M5: { series: messy } };
      return doc;
    };
    return [side(0), side(1)];
  });

// ---------------------------------------------------------------- properties

const params = { numRuns: 150 };

describe('diff: property, a patch turns a into b', () => {
  it('any two JSON values (independent)', () => {
    fc.assert(
      fc.property(anyJson, anyJson, (a, b) => checkPair(a, b, false)),
      params,
    );
    fc.assert(
      fc.property(safeJson, safeJson, (a, b) => checkPair(a, b, true)),
      params,
    );
  });

  it('a JSON value and an edited version of it sharing unchanged subtrees', () => {
    fc.assert(
      fc.property(mutatedPair(anyJson), ([a, b]) => checkPair(a, b, false)),
      params,
    );
    fc.assert(
      fc.property(mutatedPair(safeJson), ([a, b]) => checkPair(a, b, true)),
      { numRuns: 250 },
    );
  });

  it('two objects of JSON (never a root replace between objects)', () => {
    const object = fc.dictionary(fc.string({ maxLength: 5 }), safeJson, { maxKeys: 6 }) as fc.Arbitrary<Json>;
    fc.assert(
      fc.property(object, object, (a, b) => {
        checkPair(a, b, true);
        expect(diff(a, b).some((op) => op.path === '')).toBe(false);
      }),
      params,
    );
  });

  it('instrument documents: bar windows, book levels, quotes, fields', () => {
    fc.assert(
      fc.property(instrumentPair, ([a, b]) => checkPair(a, b, true)),
      { numRuns: 300 },
    );
  });

  it('ordered bar windows diff by identity: ops never touch a bar whose t matches and object is shared', () => {
    fc.assert(
      fc.property(windowPair, ([a, b]) => {
        checkPair({ M1: a }, { M1: b }, true);
        const before = a as { t: number }[];
        const after = b as { t: number }[];
        const ops = diff({ M1: a }, { M1: b });
        const removed = before.filter((bar) => !after.some((other) => other.t === bar.t)).length;
        const added = after.filter((bar) => !before.some((other) => other.t === bar.t)).length;
        // Identity diff: one remove per bar gone, one add per bar new (or, at worst, a whole-window replace when one side is empty).
        if (before.length > 0 && after.length > 0) {
          expect(ops.filter((op) => op.op === 'remove' && /^\/M1\/\d+$/.test(op.path))).toHaveLength(removed);
          expect(ops.filter((op) => op.op === 'add' && /^\/M1\/\d+$/.test(op.path))).toHaveLength(added);
        }
      }),
      params,
    );
  });

  it('a full window rolling by k bars is k removes at 0 and k adds at the end', () => {
    fc.assert(
      fc.property(rollingPair, ([a, b]) => {
        checkPair({ M1: a }, { M1: b }, true);
        const before = a as Json[];
        const after = b as Json[];
        const roll = before.length === 0 ? 0 : before.findIndex((bar) => bar === after[0]);
        if (roll <= 0 || after.length !== before.length) return;
        const ops = diff({ M1: a }, { M1: b });
        const structural = ops.filter((op) => /^\/M1\/\d+$/.test(op.path) && op.op !== 'replace');
        expect(structural.slice(0, roll)).toEqual(Array.from({ length: roll }, () => ({ op: 'remove', path: '/M1/0' })));
        expect(structural.slice(roll).map((op) => [op.op, op.path])).toEqual(
          Array.from({ length: roll }, (_, i) => ['add', `/M1/${before.length - roll + i}`]),
        );
      }),
      params,
    );
  });

  it('book sides diff by price, in either direction', () => {
    fc.assert(
      fc.property(levelsPair(-1), levelsPair(1), ([bidsA, bidsB], [asksA, asksB]) => {
        checkPair({ bids: bidsA, asks: asksA }, { bids: bidsB, asks: asksB }, true);
        const before = bidsA as number[][];
        const after = bidsB as number[][];
        const ops = diff({ bids: bidsA }, { bids: bidsB });
        if (before.length > 0 && after.length > 0) {
          const added = after.filter((level) => !before.some((other) => other[0] === level[0])).length;
          expect(ops.filter((op) => op.op === 'add' && /^\/bids\/\d+$/.test(op.path))).toHaveLength(added);
        }
      }),
      params,
    );
  });

  it('unordered, duplicate-keyed and mixed arrays fall back to positions and stay correct', () => {
    fc.assert(
      fc.property(messyPair, ([a, b]) => checkPair({ x: a }, { x: b }, true)),
      { numRuns: 250 },
    );
  });
});

describe('the strict applier used above', () => {
  it('rejects what it must (so the property is not vacuous)', () => {
    expect(() => strictApply({ a: {} }, [{ op: 'replace', path: '/a/constructor', value: 1 }])).toThrow();
    expect(() => strictApply({ a: {} }, [{ op: 'remove', path: '/a/toString' }])).toThrow();
    expect(() => strictApply({ a: [1] }, [{ op: 'add', path: '/a/2', value: 1 }])).toThrow();
    expect(() => strictApply({ a: [1] }, [{ op: 'remove', path: '/a/1' }])).toThrow();
    expect(() => strictApply({ a: [1] }, [{ op: 'replace', path: '/a/01', value: 1 }])).toThrow();
    expect(() => strictApply({}, [{ op: 'add', path: 'a', value: 1 }])).toThrow();
    expect(strictApply({ 'a/b': { '~': 1 } }, [{ op: 'replace', path: '/a~1b/~0', value: 2 }])).toEqual({ 'a/b': { '~': 2 } });
  });
});
