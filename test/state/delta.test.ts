import jsonpatch, { type Operation } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { diff } from '../../src/state/delta.js';
import type { Bar, BookLevel, InstrumentDocument } from '../../src/model/document.js';
import type { PatchOperation } from '../../src/model/patch.js';

/** Applies `ops` to a deep clone of `doc` the way a strict client would (validating each op). */
function apply(doc: unknown, ops: PatchOperation[]): unknown {
  return jsonpatch.applyPatch(structuredClone(doc), ops as Operation[], true, false).newDocument;
}

/** What a client receives: the ops after a JSON round trip. */
function wire(ops: PatchOperation[]): PatchOperation[] {
  return JSON.parse(JSON.stringify(ops)) as PatchOperation[];
}

const T0 = 1_763_640_000_000;

function bar(i: number): Bar {
  const o = 6000 + (i % 17) * 0.25;
  return { t: T0 + i * 60_000, o, h: o + 1.5, l: o - 1.25, c: o + 0.5, v: 1000 + i };
}

function instrument(bars: readonly Bar[]): InstrumentDocument {
  return {
    symbol: 'ESZ25_FUT_CME',
    sources: ['sierra-depth', 'sierra-scid'],
    quote: { bid: 6012.25, ask: 6012.5, last: 6012.25, lastSize: 3, time: 1763648400123.456 },
    bars: { M1: bars },
    book: {
      bids: [
        [6012.25, 41],
        [6012, 87],
      ],
      asks: [
        [6012.5, 12],
        [6012.75, 66],
      ],
      time: 1763648400120,
    },
    fields: {},
  };
}

describe('diff: nothing changed', () => {
  it('returns [] for the same reference', () => {
    const doc = instrument(Array.from({ length: 10 }, (_, i) => bar(i)));
    expect(diff(doc, doc)).toEqual([]);
  });

  it('returns [] for an equal but separately built document', () => {
    const a = instrument(Array.from({ length: 10 }, (_, i) => bar(i)));
    const b = structuredClone(a);
    expect(b).not.toBe(a);
    expect(diff(a, b)).toEqual([]);
  });

  it('returns [] for equal primitives and [] for empty containers', () => {
    expect(diff(1, 1)).toEqual([]);
    expect(diff('x', 'x')).toEqual([]);
    expect(diff(null, null)).toEqual([]);
    expect(diff({}, {})).toEqual([]);
    expect(diff([], [])).toEqual([]);
  });

  it('skips an unchanged subtree by reference without looking into it', () => {
    const shared = { deep: { value: 1 } };
    const a = { shared, n: 1 };
    const b = { shared, n: 2 };
    // A subtree whose reference is equal is not walked: mutate it behind diff's back.
    const getter = {
      get value(): number {
        throw new Error('walked an unchanged subtree');
      },
    };
    Object.defineProperty(shared, 'deep', { value: getter, enumerable: true });
    expect(diff(a, b)).toEqual([{ op: 'replace', path: '/n', value: 2 }]);
  });
});

describe('diff: root values', () => {
  it('replaces the root when types differ', () => {
    expect(diff({ a: 1 }, [1])).toEqual([{ op: 'replace', path: '', value: [1] }]);
    expect(diff(1, 'one')).toEqual([{ op: 'replace', path: '', value: 'one' }]);
    expect(diff(null, { a: 1 })).toEqual([{ op: 'replace', path: '', value: { a: 1 } }]);
  });

  it('never replaces the root object whole, even when every field changed', () => {
    const a = { bid: 1, ask: 2, last: 3, time: 4 };
    const b = { bid: 10.123456, ask: 20.123456, last: 30.123456, time: 40.123456 };
    const ops = diff(a, b);
    expect(ops.every((op) => op.path !== '')).toBe(true);
    expect(ops).toHaveLength(4);
    expect(apply(a, ops)).toEqual(b);
  });
});

describe('diff: bar windows', () => {
  it('a 200-bar window rolling by one bar is exactly one remove and one add', () => {
    const old = Array.from({ length: 200 }, (_, i) => bar(i));
    const rolled = [...old.slice(1), bar(200)];
    const a = instrument(old);
    const b = { ...a, bars: { M1: rolled } };
    const ops = diff(a, b);
    expect(ops).toEqual([
      { op: 'remove', path: '/bars/M1/0' },
      { op: 'add', path: '/bars/M1/199', value: bar(200) },
    ]);
    expect(ops[1]).toMatchObject({ value: rolled[199] });
    expect(apply(a, ops)).toEqual(b);
  });

  it('a window rolling by three bars is three removes and three adds', () => {
    const old = Array.from({ length: 50 }, (_, i) => bar(i));
    const rolled = [...old.slice(3), bar(50), bar(51), bar(52)];
    const a = { bars: { M1: old } };
    const b = { bars: { M1: rolled } };
    const ops = diff(a, b);
    expect(ops.filter((op) => op.op === 'remove')).toHaveLength(3);
    expect(ops.filter((op) => op.op === 'add')).toHaveLength(3);
    expect(ops.filter((op) => op.op === 'replace')).toHaveLength(0);
    expect(apply(a, ops)).toEqual(b);
  });

  it('a roll plus a change of the previous last bar adds replaces for its changed fields', () => {
    const old = Array.from({ length: 20 }, (_, i) => bar(i));
    const closed = { ...(old[19] as Bar), c: 7000.5, h: 7001 };
    const rolled = [...old.slice(1, 19), closed, bar(20)];
    const a = { bars: { M1: old } };
    const b = { bars: { M1: rolled } };
    const ops = diff(a, b);
    expect(ops).toEqual([
      { op: 'remove', path: '/bars/M1/0' },
      { op: 'replace', path: '/bars/M1/18/h', value: 7001 },
      { op: 'replace', path: '/bars/M1/18/c', value: 7000.5 },
      { op: 'add', path: '/bars/M1/19', value: bar(20) },
    ]);
    expect(apply(a, ops)).toEqual(b);
  });

  it('a late bar inserted in a gap is one add at its index', () => {
    const old = [bar(0), bar(1), bar(3), bar(4)];
    const next = [bar(0), bar(1), bar(2), bar(3), bar(4)];
    const ops = diff({ M1: old }, { M1: next });
    expect(ops).toEqual([{ op: 'add', path: '/M1/2', value: bar(2) }]);
  });

  it('a new window and a removed window are one add and one remove', () => {
    const m1 = [bar(0), bar(1)];
    const ops = diff({ M1: m1 }, { M5: m1 });
    expect(ops).toEqual([
      { op: 'remove', path: '/M1' },
      { op: 'add', path: '/M5', value: m1 },
    ]);
  });

  it('a tick (last bar c and v, quote bid/ask/time) is a small patch', () => {
    const old = Array.from({ length: 200 }, (_, i) => bar(i));
    const a = instrument(old);
    const last = old[199] as Bar;
    const b: InstrumentDocument = {
      ...a,
      quote: { ...a.quote, bid: 6012.5, ask: 6012.75, time: 1763648400456.789 },
      bars: { M1: [...old.slice(0, 199), { ...last, c: last.c + 0.25, v: last.v + 2 }] },
    };
    const ops = diff(a, b);
    expect(ops.length).toBeGreaterThanOrEqual(2);
    expect(ops.length).toBeLessThanOrEqual(4);
    // No op touches a bar other than the last.
    for (const op of ops) if (op.path.startsWith('/bars/')) expect(op.path.startsWith('/bars/M1/199')).toBe(true);
    const patchBytes = JSON.stringify(ops).length;
    const documentBytes = JSON.stringify(b).length;
    expect(patchBytes).toBeLessThan(400);
    expect(documentBytes).toBeGreaterThan(10_000);
    expect(patchBytes * 40).toBeLessThan(documentBytes);
    expect(apply(a, ops)).toEqual(b);
  });
});

describe('diff: book levels', () => {
  const bids: BookLevel[] = [
    [100, 5],
    [99.75, 7, 2],
    [99.5, 3],
    [99.25, 9],
    [99, 1],
  ];
  const asks: BookLevel[] = [
    [100.25, 4],
    [100.5, 8],
    [100.75, 2],
    [101, 6],
  ];

  it('a bid level inserted in the middle (descending prices) is one add at its index', () => {
    const next: BookLevel[] = [...bids.slice(0, 2), [99.6, 11], ...bids.slice(2)];
    const ops = diff({ bids }, { bids: next });
    expect(ops).toEqual([{ op: 'add', path: '/bids/2', value: [99.6, 11] }]);
  });

  it('an ask level inserted in the middle (ascending prices) is one add at its index', () => {
    const next: BookLevel[] = [asks[0] as BookLevel, [100.3, 1], ...asks.slice(1)];
    const ops = diff({ asks }, { asks: next });
    expect(ops).toEqual([{ op: 'add', path: '/asks/1', value: [100.3, 1] }]);
  });

  it('a level removed in the middle is one remove, not a cascade of replaces', () => {
    const next = [...bids.slice(0, 1), ...bids.slice(2)];
    const ops = diff({ bids }, { bids: next });
    expect(ops).toEqual([{ op: 'remove', path: '/bids/1' }]);
  });

  it('a size change of a matching level replaces only that size', () => {
    const next = bids.map((level) => (level[0] === 99.5 ? ([99.5, 4] as BookLevel) : level));
    expect(diff({ bids }, { bids: next })).toEqual([{ op: 'replace', path: '/bids/2/1', value: 4 }]);
  });

  it('an orders count dropped from a level removes that element', () => {
    const next = bids.map((level) => (level[0] === 99.75 ? ([99.75, 7] as BookLevel) : level));
    expect(diff({ bids }, { bids: next })).toEqual([{ op: 'remove', path: '/bids/1/2' }]);
  });

  it('insert, remove and change at once apply to the new book', () => {
    const a = { book: { bids, asks, time: 1 } };
    const b = {
      book: {
        bids: [
          [100.25, 1],
          [100, 6],
          [99.5, 3],
          [99.3, 2],
          [99, 1],
          [98.75, 4],
        ] as BookLevel[],
        asks: [
          [100.5, 8],
          [100.75, 2],
          [101, 6],
          [101.25, 3],
        ] as BookLevel[],
        time: 2,
      },
    };
    const ops = diff(a, b);
    expect(ops.filter((op) => op.op === 'add')).toHaveLength(4);
    expect(ops.filter((op) => op.op === 'remove')).toHaveLength(3);
    expect(apply(a, ops)).toEqual(b);
  });
});

describe('diff: arrays without an ordered identity fall back to positions', () => {
  it('bars with duplicate t', () => {
    const a = { M1: [bar(0), bar(1), bar(2)] };
    const b = { M1: [bar(0), { ...bar(1), t: bar(0).t }, bar(2), bar(3)] };
    const ops = diff(a, b);
    expect(ops).toEqual([
      { op: 'replace', path: '/M1/1/t', value: bar(0).t },
      { op: 'add', path: '/M1/3', value: bar(3) },
    ]);
    expect(apply(a, ops)).toEqual(b);
  });

  it('unordered levels', () => {
    const a = {
      bids: [
        [3, 1],
        [1, 1],
        [2, 1],
      ],
    };
    const b = {
      bids: [
        [3, 1],
        [2, 1],
      ],
    };
    const ops = diff(a, b);
    expect(ops).toEqual([
      { op: 'replace', path: '/bids/1/0', value: 2 },
      { op: 'remove', path: '/bids/2' },
    ]);
    expect(apply(a, ops)).toEqual(b);
  });

  it('plain arrays shrink from the end', () => {
    const ops = diff({ x: [1, 2, 3, 4] }, { x: [1, 9] });
    expect(ops).toEqual([
      { op: 'replace', path: '/x/1', value: 9 },
      { op: 'remove', path: '/x/3' },
      { op: 'remove', path: '/x/2' },
    ]);
  });

  it('a mix of bars and other elements', () => {
    const a = { x: [bar(0), 'note', bar(1)] };
    const b = { x: [bar(0), bar(1)] };
    expect(apply(a, diff(a, b))).toEqual(b);
  });
});

describe('diff: paths', () => {
  it("escapes '~' and '/' in keys per RFC 6901", () => {
    // `nested` keeps `fields` from being replaced whole (it is not flat).
    const nested = { keep: true };
    const a = { fields: { 'a/b': 1, 'c~d': 2, '~1': 3, plain: 4, nested } };
    const b = { fields: { 'a/b': 10, 'c~d': 20, '~1': 30, plain: 4, 'e/~f': 5, nested } };
    const ops = diff(a, b);
    expect(ops).toHaveLength(4);
    expect(ops).toEqual(
      expect.arrayContaining([
        { op: 'replace', path: '/fields/a~1b', value: 10 },
        { op: 'replace', path: '/fields/c~0d', value: 20 },
        { op: 'replace', path: '/fields/~01', value: 30 },
        { op: 'add', path: '/fields/e~1~0f', value: 5 },
      ]),
    );
    expect(apply(a, ops)).toEqual(b);
  });

  it('handles the empty key', () => {
    const a = { '': { '': 1 } };
    const b = { '': { '': 2 } };
    expect(diff(a, b)).toEqual([{ op: 'replace', path: '//', value: 2 }]);
    expect(apply(a, diff(a, b))).toEqual(b);
  });

  it('keys named like Object.prototype members are diffed as own fields', () => {
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ f: {} }, { f: { constructor: 1 } }],
      [{ f: { toString: 1 } }, { f: {} }],
      [{ f: { valueOf: 1, hasOwnProperty: 2 } }, { f: { valueOf: 3 } }],
      [{ f: { isPrototypeOf: { a: 1 } } }, { f: { isPrototypeOf: { a: 2 } } }],
    ];
    for (const [a, b] of cases) {
      const ops = diff(a, b);
      expect(ops.length).toBeGreaterThan(0);
      expect(jsonpatch.validate(ops as Operation[], structuredClone(a))).toBeUndefined();
      expect(apply(a, ops)).toEqual(b);
    }
    expect(diff({ f: {} }, { f: { constructor: 1 } })).toEqual([{ op: 'add', path: '/f/constructor', value: 1 }]);
    expect(diff({ f: { toString: 1 } }, { f: {} })).toEqual([{ op: 'remove', path: '/f/toString' }]);
  });
});

describe('diff: undefined counts as absent', () => {
  it('a field going from a value to undefined is a remove', () => {
    expect(diff({ q: { bid: 1, ask: 2 } }, { q: { bid: 1, ask: undefined } })).toEqual([{ op: 'remove', path: '/q/ask' }]);
  });

  it('a field going from undefined to a value is an add', () => {
    expect(diff({ q: { bid: 1, ask: undefined } }, { q: { bid: 1, ask: 2 } })).toEqual([{ op: 'add', path: '/q/ask', value: 2 }]);
  });

  it('undefined on both sides, or undefined against missing, is no change', () => {
    expect(diff({ q: { bid: 1, ask: undefined } }, { q: { bid: 1 } })).toEqual([]);
    expect(diff({ q: { bid: 1 } }, { q: { bid: 1, ask: undefined } })).toEqual([]);
    expect(diff({ q: { bid: 1, ask: undefined } }, { q: { bid: 1, ask: undefined } })).toEqual([]);
  });

  it('the wire form of a patch over documents with undefined fields gives the JSON of the new one', () => {
    const a = { quote: { bid: 1, ask: undefined, last: 3 }, x: { y: undefined } };
    const b = { quote: { bid: 2, ask: 5, last: undefined }, x: { y: 1, z: undefined } };
    const jsonA = JSON.parse(JSON.stringify(a)) as unknown;
    const jsonB = JSON.parse(JSON.stringify(b)) as unknown;
    expect(apply(jsonA, wire(diff(a, b)))).toEqual(jsonB);
  });
});

describe('diff: flat objects replaced whole when cheaper', () => {
  const quote = { bid: 6012.25, ask: 6012.5, last: 6012.25, lastSize: 3, time: 1763648400123.456 };

  it('replaces a quote whole when most of its fields change', () => {
    const next = { bid: 6012.5, ask: 6012.75, last: 6012.5, lastSize: 1, time: 1763648400999.125 };
    const ops = diff({ quote }, { quote: next });
    expect(ops).toEqual([{ op: 'replace', path: '/quote', value: next }]);
  });

  it('replaces one field when only one changes', () => {
    const ops = diff({ quote }, { quote: { ...quote, bid: 6012.5 } });
    expect(ops).toEqual([{ op: 'replace', path: '/quote/bid', value: 6012.5 }]);
  });

  it('keeps separate ops when they are shorter than the whole object', () => {
    const wide = { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10, k: 11, l: 12 };
    const ops = diff({ wide }, { wide: { ...wide, a: 100, b: 200 } });
    expect(ops).toEqual([
      { op: 'replace', path: '/wide/a', value: 100 },
      { op: 'replace', path: '/wide/b', value: 200 },
    ]);
  });

  it('the whole-object choice is never longer than the separate ops', () => {
    const next = { bid: 6012.5, ask: 6012.75, last: 6012.5, lastSize: 1, time: 1763648400999.125 };
    const whole = JSON.stringify(diff({ quote }, { quote: next }));
    const separate = JSON.stringify(Object.entries(next).map(([key, value]) => ({ op: 'replace', path: `/quote/${key}`, value })));
    expect(whole.length).toBeLessThan(separate.length);
  });

  it('does not replace a nested (non-flat) object whole', () => {
    const a = { book: { time: 1, bids: [[1, 1]], depth: 1, x: 1, y: 1 } };
    const b = { book: { time: 2, bids: [[1, 1]], depth: 2, x: 2, y: 2 } };
    const ops = diff(a, b);
    expect(ops.every((op) => op.path !== '/book')).toBe(true);
    expect(ops).toHaveLength(4);
  });

  it('a bar whose every field changed is replaced whole, at its index', () => {
    const a = { M1: [bar(0), bar(1)] };
    const changed = { t: bar(1).t, o: 1.125, h: 2.125, l: 0.125, c: 1.625, v: 99999, n: 12 };
    const b = { M1: [bar(0), changed] };
    expect(diff(a, b)).toEqual([{ op: 'replace', path: '/M1/1', value: changed }]);
  });
});

describe('diff: inputs are not mutated', () => {
  it('leaves both documents as they were', () => {
    const a = instrument(Array.from({ length: 30 }, (_, i) => bar(i)));
    const b = { ...a, bars: { M1: [...(a.bars.M1 as Bar[]).slice(2), bar(30), bar(31)] }, quote: { bid: 1 } };
    const beforeA = structuredClone(a);
    const beforeB = structuredClone(b);
    const ops = diff(a, b);
    apply(a, ops);
    expect(a).toEqual(beforeA);
    expect(b).toEqual(beforeB);
  });
});
