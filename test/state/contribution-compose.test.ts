import { describe, expect, it } from 'vitest';
import type { TickRecord } from '../../src/formats/types.js';
import { composeDocument } from '../../src/state/compose.js';
import { diff } from '../../src/state/delta.js';
import { Contribution, type SealedContribution } from '../../src/state/contribution.js';
import type { Bar, Book, JsonObject, Quote } from '../../src/model/document.js';

const MIN = 60_000;
const T0 = 1_763_640_000_000;

function part(source: string, fields: Partial<Omit<SealedContribution, 'source'>>): SealedContribution {
  return { source, quote: undefined, bars: {}, book: undefined, fields: undefined, ...fields };
}

function bar(minute: number, c = 100): Bar {
  return { t: T0 + minute * MIN, o: c, h: c, l: c, c, v: 1 };
}

describe('Contribution: bars by basis', () => {
  it("'auto' builds bid bars with tick-count volume while no trade was seen", () => {
    const c = new Contribution('mt5-ticks', 'auto', { M1: 10, M5: 10 });
    c.applyTick({ time: T0 + 1_000, bid: 1.1, ask: 1.2 });
    c.applyTick({ time: T0 + 2_000, bid: 1.3, ask: 1.4 });
    c.applyTick({ time: T0 + 3_000, bid: 1.05, ask: 1.15 });
    c.applyTick({ time: T0 + 4_000, ask: 1.16 }); // ask only: no bar tick
    c.applyTick({ time: T0 + MIN + 1, bid: 1.2, ask: 1.3 });
    const sealed = c.seal();
    expect(sealed.bars.M1).toEqual([
      { t: T0, o: 1.1, h: 1.3, l: 1.05, c: 1.05, v: 3 },
      { t: T0 + MIN, o: 1.2, h: 1.2, l: 1.2, c: 1.2, v: 1 },
    ]);
    expect(sealed.bars.M5).toEqual([{ t: T0, o: 1.1, h: 1.3, l: 1.05, c: 1.2, v: 4 }]);
    expect(sealed.quote).toEqual({ bid: 1.2, ask: 1.3, time: T0 + MIN + 1 });
  });

  it("'auto' switches to trades once it sees one", () => {
    const c = new Contribution('mt5-ticks', 'auto', { M1: 10 });
    c.applyTick({ time: T0 + 1_000, bid: 10, ask: 11 });
    c.applyTick({ time: T0 + MIN + 1_000, last: 12, size: 5, bid: 11, ask: 13 });
    c.applyTick({ time: T0 + MIN + 2_000, bid: 50, ask: 51 }); // no longer a bar tick
    c.applyTick({ time: T0 + MIN + 3_000, last: 13, size: 2 });
    const bars = c.seal().bars.M1 as readonly Bar[];
    expect(bars).toHaveLength(2);
    expect(bars[1]).toEqual({ t: T0 + MIN, o: 12, h: 13, l: 12, c: 13, v: 7, n: 2 });
  });

  it("'trade' builds bars from trades only, with size volume and trade counts", () => {
    const c = new Contribution('sierra-scid', 'trade', { M1: 10 });
    c.applyTick({ time: T0 + 1_000, bid: 10, ask: 11 });
    expect(c.seal().bars).toEqual({});
    c.applyTick({ time: T0 + 2_000, last: 10.5, size: 3 });
    c.applyTick({ time: T0 + 3_000, last: 10.75, size: 1, bid: 10.5, ask: 10.75 });
    c.applyTick({ time: T0 + 4_000, bid: 9, ask: 9.5 });
    expect(c.seal().bars.M1).toEqual([{ t: T0, o: 10.5, h: 10.75, l: 10.5, c: 10.75, v: 4, n: 2 }]);
  });

  it('a trade without size adds a trade but no volume', () => {
    const c = new Contribution('x', 'trade', { M1: 10 });
    c.applyTick({ time: T0, last: 5 });
    expect(c.seal().bars.M1).toEqual([{ t: T0, o: 5, h: 5, l: 5, c: 5, v: 0, n: 1 }]);
  });
});

describe('Contribution: quote', () => {
  it('merges quote fields tick by tick', () => {
    const c = new Contribution('x', 'auto', {});
    c.applyTick({ time: T0 + 1, bid: 1, ask: 2 });
    c.applyTick({ time: T0 + 2, bid: 1.5 });
    expect(c.seal().quote).toEqual({ bid: 1.5, ask: 2, time: T0 + 2 });
    c.applyTick({ time: T0 + 3, last: 1.75, size: 4 });
    expect(c.seal().quote).toEqual({ bid: 1.5, ask: 2, last: 1.75, lastSize: 4, time: T0 + 3 });
    const quote = c.seal().quote as Quote;
    expect('lastSize' in quote && 'last' in quote).toBe(true);
    expect(Object.values(quote).includes(undefined as never)).toBe(false);
  });

  it('an older tick does not move the quote back, but still counts for bars (as their open, by time)', () => {
    const c = new Contribution('x', 'trade', { M1: 10 });
    c.applyTick({ time: T0 + 30_000, last: 10, size: 1, bid: 9, ask: 11 });
    c.applyTick({ time: T0 + 10_000, last: 20, size: 1, bid: 19, ask: 21 });
    const sealed = c.seal();
    expect(sealed.quote).toEqual({ bid: 9, ask: 11, last: 10, lastSize: 1, time: T0 + 30_000 });
    expect(sealed.bars.M1).toEqual([{ t: T0, o: 20, h: 20, l: 10, c: 10, v: 2, n: 2 }]);
  });

  it('copies from the tick record (decoders reuse it)', () => {
    const c = new Contribution('x', 'trade', { M1: 10 });
    const tick: TickRecord = { time: T0, bid: 1, ask: 2, last: 1.5, size: 3 };
    c.applyTick(tick);
    const sealed = c.seal();
    tick.bid = 100;
    tick.time = T0 + 5;
    expect(sealed.quote).toEqual({ bid: 1, ask: 2, last: 1.5, lastSize: 3, time: T0 });
  });

  it('a published quote is never changed by later ticks', () => {
    const c = new Contribution('x', 'auto', { M1: 5 });
    c.applyTick({ time: T0, bid: 1, ask: 2 });
    const first = Object.freeze(c.seal().quote as Quote);
    expect(() => c.applyTick({ time: T0 + 1, bid: 3 })).not.toThrow();
    const second = c.seal().quote;
    expect(first).toEqual({ bid: 1, ask: 2, time: T0 });
    expect(second).toEqual({ bid: 3, ask: 2, time: T0 + 1 });
    expect(second).not.toBe(first);
  });
});

describe('Contribution: seal', () => {
  it('returns the same sealed object while nothing was applied', () => {
    const c = new Contribution('x', 'trade', { M1: 5 });
    c.applyTick({ time: T0, last: 1, size: 1 });
    const a = c.seal();
    expect(c.seal()).toBe(a);
    c.applyTick({ time: T0 + 1, bid: 1 });
    const b = c.seal();
    expect(b).not.toBe(a);
    // A tick that did not change the bars keeps the window array.
    expect(b.bars.M1).toBe(a.bars.M1);
  });

  it('applyBar aggregates a finer bar into every window; a stated timeframe wins over built bars and feeds the coarser windows', () => {
    const c = new Contribution('sierra-scid', 'trade', { M1: 5, M5: 5 });
    c.applyBar({ t: T0 + 10_000, o: 1, h: 3, l: 0.5, c: 2, v: 4, n: 2 }, null);
    expect(c.seal().bars).toEqual({
      M1: [{ t: T0, o: 1, h: 3, l: 0.5, c: 2, v: 4, n: 2 }],
      M5: [{ t: T0, o: 1, h: 3, l: 0.5, c: 2, v: 4, n: 2 }],
    });
    c.applyBar({ t: T0 + MIN, o: 2, h: 2.5, l: 2, c: 2.25, v: 1 }, 'M1');
    const sealed = c.seal();
    expect(sealed.bars).toEqual({
      M1: [{ t: T0 + MIN, o: 2, h: 2.5, l: 2, c: 2.25, v: 1 }],
      M5: [{ t: T0, o: 2, h: 2.5, l: 2, c: 2.25, v: 1 }],
    });
    expect(sealed.quote).toEqual({ last: 2.25, time: T0 + MIN });
  });

  it('applyDocument states quote, bars, book and fields; stated bars win over built ones', () => {
    const c = new Contribution('json', 'auto', { M1: 5, M5: 5 });
    const statedM5 = [bar(0, 7)];
    const book: Book = { bids: [[1, 2]], asks: [[1.5, 3]], time: T0 };
    const fields: JsonObject = { spread: 30 };
    c.applyDocument({ quote: { bid: 1, ask: 1.5, time: T0 + 5 }, bars: { M5: statedM5 }, book, fields }, T0 + 5);
    const sealed = c.seal();
    expect(sealed.quote).toEqual({ bid: 1, ask: 1.5, time: T0 + 5 });
    expect(sealed.bars.M5).toBe(statedM5);
    // The quote counts as a tick for the timeframes the document does not state.
    expect(sealed.bars.M1).toEqual([{ t: T0, o: 1, h: 1, l: 1, c: 1, v: 1 }]);
    expect(sealed.book).toBe(book);
    expect(sealed.fields).toBe(fields);

    // The same quote again is not another tick.
    c.applyDocument({ quote: { bid: 1, ask: 1.5, time: T0 + 5 }, bars: { M5: statedM5 }, book, fields }, T0 + 5);
    expect(c.seal().bars.M1).toEqual([{ t: T0, o: 1, h: 1, l: 1, c: 1, v: 1 }]);
    // A new price is.
    c.applyDocument({ quote: { bid: 2, time: T0 + 7 } }, T0 + 7);
    const after = c.seal();
    expect(after.bars.M1).toEqual([{ t: T0, o: 1, h: 2, l: 1, c: 2, v: 2 }]);
    // The document is whole: what it no longer states is gone (stated M5 falls back to built bars).
    expect(after.book).toBeUndefined();
    expect(after.fields).toBeUndefined();
    expect(after.quote).toEqual({ bid: 2, time: T0 + 7 });
    expect(after.bars.M5).toEqual([{ t: T0, o: 2, h: 2, l: 2, c: 2, v: 1 }]);
  });
});

describe('composeDocument', () => {
  it('an empty symbol', () => {
    const doc = composeDocument('X', [], undefined);
    expect(doc).toEqual({ symbol: 'X', sources: [], quote: {}, bars: {}, fields: {} });
    expect('book' in doc).toBe(false);
  });

  it('one contribution is used by reference, with keys in protocol order', () => {
    const quote = { bid: 1, time: 5 };
    const bars = { M1: [bar(0)] };
    const book: Book = { bids: [], asks: [], time: 1 };
    const fields = { a: 1 };
    const doc = composeDocument('X', [part('json', { quote, bars, book, fields })], undefined);
    expect(doc.quote).toBe(quote);
    expect(doc.bars).toBe(bars);
    expect(doc.book).toBe(book);
    expect(doc.fields).toBe(fields);
    expect(Object.keys(doc)).toEqual(['symbol', 'sources', 'quote', 'bars', 'book', 'fields']);
  });

  it('quote: the newest quote wins field by field', () => {
    const older = part('a', { quote: { bid: 1, ask: 2, last: 1.5, lastSize: 9, time: 100 } });
    const newer = part('b', { quote: { bid: 3, ask: 4, time: 200 } });
    const expected = { bid: 3, ask: 4, last: 1.5, lastSize: 9, time: 200 };
    expect(composeDocument('X', [newer, older], undefined).quote).toEqual(expected);
    expect(composeDocument('X', [older, newer], undefined).quote).toEqual(expected);
  });

  it('quote: merging does not change the contributions', () => {
    const a = Object.freeze({ bid: 1, time: 1 });
    const b = Object.freeze({ ask: 2, time: 2 });
    const doc = composeDocument('X', [part('a', { quote: a }), part('b', { quote: b })], undefined);
    expect(doc.quote).toEqual({ bid: 1, ask: 2, time: 2 });
    expect(a).toEqual({ bid: 1, time: 1 });
  });

  it('bars: each timeframe from the window with the newest last bar', () => {
    const oldM1 = [bar(0), bar(1)];
    const newM1 = [bar(1), bar(2)];
    const onlyM5 = [bar(0)];
    const a = part('a', { bars: { M1: newM1 } });
    const b = part('b', { bars: { M1: oldM1, M5: onlyM5 } });
    for (const parts of [
      [a, b],
      [b, a],
    ]) {
      const doc = composeDocument('X', parts, undefined);
      expect(doc.bars.M1).toBe(newM1);
      expect(doc.bars.M5).toBe(onlyM5);
    }
  });

  it('book: the newest by time; fields: merged', () => {
    const older: Book = { bids: [[1, 1]], asks: [], time: 10 };
    const newer: Book = { bids: [[2, 1]], asks: [], time: 20 };
    const doc = composeDocument('X', [part('a', { book: newer, fields: { x: 1, y: 2 } }), part('b', { book: older, fields: { y: 3, z: 4 } })], undefined);
    expect(doc.book).toBe(newer);
    expect(doc.fields).toEqual({ x: 1, y: 3, z: 4 });
  });

  it('sources: sorted, unique, and the previous array kept when unchanged', () => {
    const parts = [part('b', {}), part('a', {}), part('b', {})];
    const first = composeDocument('X', parts, undefined);
    expect(first.sources).toEqual(['a', 'b']);
    const second = composeDocument('X', parts, first);
    expect(second.sources).toBe(first.sources);
    const third = composeDocument('X', [part('c', {})], second);
    expect(third.sources).toEqual(['c']);
  });

  it('two contributions from real Contributions compose and keep unchanged parts by reference', () => {
    const ticks = new Contribution('mt5-ticks', 'auto', { M1: 5 });
    const json = new Contribution('json', 'auto', { M1: 5 });
    ticks.applyTick({ time: T0 + 1_000, bid: 10, ask: 11 });
    json.applyDocument({ quote: { bid: 9, last: 9.5, time: T0 + 500 }, fields: { spread: 3 } }, T0 + 500);
    const v1 = composeDocument('X', [ticks.seal(), json.seal()], undefined);
    expect(v1.quote).toEqual({ bid: 10, ask: 11, last: 9.5, time: T0 + 1_000 });
    expect(v1.sources).toEqual(['json', 'mt5-ticks']);
    expect(v1.fields).toEqual({ spread: 3 });

    // The JSON file gets a newer quote: it now wins bid and time; its bars window has the newest bar.
    json.applyDocument({ quote: { bid: 12, last: 12.5, time: T0 + MIN + 1 }, fields: { spread: 3 } }, T0 + MIN + 1);
    const v2 = composeDocument('X', [ticks.seal(), json.seal()], v1);
    expect(v2.quote).toEqual({ bid: 12, ask: 11, last: 12.5, time: T0 + MIN + 1 });
    expect(v2.bars.M1).toBe(json.seal().bars.M1);
    expect((v2.bars.M1 as readonly Bar[]).map((b) => b.t)).toEqual([T0, T0 + MIN]);
    expect(v2.sources).toBe(v1.sources);
  });

  it('fields merged from several sources keep a `__proto__` key as a field', () => {
    const a = JSON.parse('{"__proto__": {"injected": 1}, "x": 1}') as JsonObject;
    const b = JSON.parse('{"y": 2}') as JsonObject;
    const doc = composeDocument('X', [part('a', { fields: a }), part('b', { fields: b })], undefined);
    expect(Object.getPrototypeOf(doc.fields)).toBe(Object.prototype);
    expect(Object.keys(doc.fields).sort()).toEqual(['__proto__', 'x', 'y']);
    expect(JSON.parse(JSON.stringify(doc.fields))).toEqual(JSON.parse('{"__proto__": {"injected": 1}, "x": 1, "y": 2}'));
    // The diff sees exactly the fields the snapshot shows, nothing inherited.
    const before = composeDocument('X', [part('b', { fields: b })], undefined);
    const ops = diff(before, doc);
    const fieldOps = ops.filter((op) => op.path.startsWith('/fields'));
    expect(fieldOps).toEqual([
      { op: 'add', path: '/fields/__proto__', value: { injected: 1 } },
      { op: 'add', path: '/fields/x', value: 1 },
    ]);
  });
});

describe('Contribution: bars of a timeframe, books and fields', () => {
  it('keeps a window for a timeframe a file states bars of, even when the configuration names only M1', () => {
    const c = new Contribution('mt5-bars', 'auto', { M1: 10 });
    c.applyBar({ t: T0, o: 1, h: 2, l: 0.5, c: 1.5, v: 12 }, 'H1');
    c.applyBar({ t: T0, o: 1, h: 2.5, l: 0.5, c: 2, v: 20 }, 'H1');
    const sealed = c.seal();
    expect(sealed.bars).toEqual({ H1: [{ t: T0, o: 1, h: 2.5, l: 0.5, c: 2, v: 20 }] });
    // MetaTrader's bars are bid bars: their close is no last price.
    expect(sealed.quote).toBeUndefined();
    const sierra = new Contribution('sierra-text', 'trade', { M1: 10 });
    sierra.applyBar({ t: T0, o: 1, h: 2, l: 0.5, c: 1.5, v: 12 }, 'M5');
    expect(sierra.seal().quote).toEqual({ last: 1.5, time: T0 });
  });

  it('takes the newest book and ignores an older one', () => {
    const c = new Contribution('sierra-depth', 'trade', { M1: 10 });
    const book: Book = { bids: [[1, 2, 3]], asks: [[2, 1, 1]], time: T0 + 5 };
    c.applyBook(book);
    c.applyBook({ bids: [], asks: [], time: T0 });
    expect(c.seal().book).toBe(book);
  });

  it('merges fields, creating a new object only when a value changed', () => {
    const c = new Contribution('csv', 'auto', { M1: 10 });
    c.applyFields({ a: 1, b: 'x' });
    const first = c.seal();
    c.applyFields({ a: 1 });
    expect(c.seal()).toBe(first);
    c.applyFields({ b: 'y', c: null });
    expect(c.seal().fields).toEqual({ a: 1, b: 'y', c: null });
    expect(first.fields).toEqual({ a: 1, b: 'x' });
  });
});
