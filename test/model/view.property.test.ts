import fc from 'fast-check';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { MAX_VIEW_PARTS, parseView, restrictDocument, restrictOps, type View } from '../../src/model/view.js';
import { diff } from '../../src/state/delta.js';

/*
 * Property: for random instrument documents a → b → c …, random views, and the patches the
 * delta engine makes between them (those the bridge sends), the view's patches applied in
 * order from the view's document of a give the view's document of every later version; the
 * ops kept are the document's own (unchanged paths) or ops on a container of parts.
 */

const TIMEFRAMES = ['M1', 'M5', 'H1'] as const;
const num = fc.integer({ min: 0, max: 20 });
const maybe = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arbitrary, { nil: undefined });
const bar = fc.record({ t: num, o: num, h: num, l: num, c: num, v: num });
const indicatorValues = fc.dictionary(fc.constantFrom('rsi14', 'ema20', 'macd'), fc.oneof(num, fc.record({ macd: num, signal: num, hist: num })), {
  maxKeys: 3,
});

const documentArb = fc
  .record({
    quote: fc.record({ bid: maybe(num), ask: maybe(num), last: maybe(num), time: maybe(num) }),
    bars: fc.dictionary(fc.constantFrom(...TIMEFRAMES), fc.array(bar, { maxLength: 3 }), { maxKeys: 3 }),
    book: maybe(fc.record({ bids: fc.array(fc.tuple(num, num), { maxLength: 2 }), asks: fc.array(fc.tuple(num, num), { maxLength: 2 }), time: maybe(num) })),
    indicators: maybe(fc.dictionary(fc.constantFrom(...TIMEFRAMES), indicatorValues, { maxKeys: 2 })),
    fields: fc.dictionary(fc.constantFrom('spread', 'a/b', 'c~d', 'x'), fc.oneof(num, fc.string({ maxLength: 2 }), fc.array(num, { maxLength: 2 })), {
      maxKeys: 3,
    }),
    sources: fc.array(fc.constantFrom('json', 'mt5-ticks'), { maxLength: 2 }),
  })
  .map((document) => JSON.parse(JSON.stringify({ symbol: 'S', ...document })) as Record<string, unknown>);

const PARTS = [
  '/quote',
  '/quote/bid',
  '/quote/time',
  '/bars',
  '/bars/M1',
  '/bars/H1',
  '/book',
  '/book/bids',
  '/book/time',
  '/indicators',
  '/indicators/M5',
  '/indicators/M1/rsi14',
  '/indicators/M1/macd',
  '/fields',
  '/fields/spread',
  '/fields/a~1b',
  '/fields/c~0d',
  '/symbol',
];
const viewArb = fc.uniqueArray(fc.constantFrom(...PARTS), { minLength: 1, maxLength: 4 }).map((parts) => parseView(parts) as View);

function apply(document: unknown, ops: readonly unknown[]): unknown {
  return jsonpatch.applyPatch(structuredClone(document), ops as Operation[], true, false).newDocument;
}

describe('views: restriction of documents and patches (property)', () => {
  it('the view patches of any sequence of versions keep the view document equal to the restricted document', () => {
    fc.assert(
      fc.property(fc.array(documentArb, { minLength: 2, maxLength: 6 }), viewArb, (versions, view) => {
        let held: unknown = restrictDocument(versions[0] as object, view);
        for (let i = 1; i < versions.length; i++) {
          const ops = diff(versions[i - 1], versions[i]);
          const viewOps = restrictOps(ops, view);
          for (const op of viewOps) {
            const inside = [...view.parts, '/symbol', '/sources'].some((part) => op.path === part || op.path.startsWith(`${part}/`));
            const container = view.parts.some((part) => part.startsWith(`${op.path}/`));
            expect(inside || container).toBe(true);
            if (inside) expect(ops).toContainEqual(op);
          }
          held = apply(held, viewOps);
          expect(held).toEqual(restrictDocument(versions[i] as object, view));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('an op on a container of parts becomes the same op carrying only the parts', () => {
    const view = parseView(['/bars/M1', '/book/bids']) as View;
    const bars = { M1: [{ t: 1, o: 1, h: 1, l: 1, c: 1, v: 1 }], M5: [] };
    expect(
      restrictOps(
        [
          { op: 'replace', path: '/bars', value: bars },
          { op: 'add', path: '/book', value: { bids: [[1, 2]], asks: [], time: 3 } },
          { op: 'replace', path: '/book/time', value: 4 },
          { op: 'remove', path: '/book' },
          { op: 'replace', path: '/quote/bid', value: 1 },
        ],
        view,
      ),
    ).toEqual([
      { op: 'replace', path: '/bars', value: { M1: bars.M1 } },
      { op: 'add', path: '/book', value: { bids: [[1, 2]] } },
      { op: 'remove', path: '/book' },
    ]);
  });

  it('normalises: sorted, without duplicates, parts inside another, /symbol or /sources', () => {
    const view = parseView(['/quote/bid', '/book', '/quote', '/book', '/symbol', '/fields/a~1b']) as View;
    expect(view.parts).toEqual(['/book', '/fields/a~1b', '/quote']);
    expect(view.key).toBe((parseView(['/quote', '/fields/a~1b', '/book']) as View).key);
    expect(restrictDocument({ symbol: 'S', sources: [], quote: { bid: 1 }, fields: { 'a/b': 2, c: 3 } }, view)).toEqual({
      symbol: 'S',
      sources: [],
      quote: { bid: 1 },
      fields: { 'a/b': 2 },
    });
  });

  it.each([
    [[], 'parts must be a non-empty array'],
    ['/quote', 'parts must be a non-empty array'],
    [[7], 'parts must hold strings'],
    [['quote'], 'part "quote" is not a JSON pointer'],
    [['/quote~2'], 'part "/quote~2" is not a JSON pointer'],
    [['/quote', '/bars/M2'], 'part "/bars/M2" is not a path of the document'],
    [['/bars/M1/0'], 'part "/bars/M1/0" is not a path of the document'],
    [['/quote/bid/x'], 'part "/quote/bid/x" is not a path of the document'],
    [['/nope'], 'part "/nope" is not a path of the document'],
    [[''], 'part "" is not a JSON pointer'],
    [['/fields/a/b'], 'part "/fields/a/b" is not a path of the document'],
    [[`/fields/${'x'.repeat(300)}`], 'is longer than 256 characters'],
    [Array.from({ length: MAX_VIEW_PARTS + 1 }, () => '/quote'), `at most ${MAX_VIEW_PARTS}`],
  ])('refuses %#, naming the part', (parts, problem) => {
    const result = parseView(parts);
    expect(typeof result).toBe('string');
    expect(result).toContain(problem);
  });

  it('reads members as own properties only', () => {
    const view = parseView(['/fields/constructor', '/fields/__proto__']) as View;
    const document = JSON.parse('{"symbol":"S","sources":[],"fields":{"__proto__":{"x":1}}}') as object;
    const restricted = restrictDocument(document, view);
    expect(Object.keys(restricted.fields as object)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(restricted.fields)).toBe(Object.prototype);
  });
});
