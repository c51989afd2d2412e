import jsonpatch, { type Operation } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { Contribution } from '../../src/state/contribution.js';
import { Store, type CommitEvent } from '../../src/state/store.js';
import type { PatchOperation } from '../../src/model/patch.js';

const T0 = 1_763_640_000_000;

function record(store: Store): CommitEvent[] {
  const events: CommitEvent[] = [];
  store.onCommit((event) => events.push(event));
  return events;
}

function ticks(source = 'mt5-ticks'): Contribution {
  return new Contribution(source, 'auto', { M1: 5 });
}

function apply(doc: unknown, ops: readonly PatchOperation[]): unknown {
  return jsonpatch.applyPatch(structuredClone(doc), ops as Operation[], true, false).newDocument;
}

describe('Store', () => {
  it('uses the epoch it was given, and a random one otherwise', () => {
    expect(new Store({ journalSize: 4, epoch: 'e1' }).epoch).toBe('e1');
    const a = new Store({ journalSize: 4 }).epoch;
    const b = new Store({ journalSize: 4 }).epoch;
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
  });

  it('a symbol is unpublished until its first commit, which emits entry null at seq 1', () => {
    const store = new Store({ journalSize: 8, epoch: 'e' });
    const events = record(store);
    const c = ticks();
    store.setContribution('EURUSD', 'file-a', c);
    expect(store.get('EURUSD')).toBeUndefined();
    expect([...store.symbols()]).toEqual([]);
    expect(store.contribution('EURUSD', 'file-a')).toBe(c);

    c.applyTick({ time: T0, bid: 1.1, ask: 1.2 });
    store.commit('EURUSD');
    expect(events).toHaveLength(1);
    const [created] = events as [CommitEvent];
    expect(created.entry).toBeNull();
    expect(created.state.seq).toBe(1);
    expect(created.state.gseq).toBe(1);
    expect(store.gseq).toBe(1);
    expect(store.get('EURUSD')).toBe(created.state);
    expect([...store.symbols()].map((state) => state.symbol)).toEqual(['EURUSD']);
    expect(created.state.document.quote).toEqual({ bid: 1.1, ask: 1.2, time: T0 });
    expect(JSON.parse(created.state.documentJson())).toEqual(JSON.parse(JSON.stringify(created.state.document)));
    expect(created.state.journal.floorSeq).toBe(1);
    expect(created.state.journal.since(1)).toEqual([]);
  });

  it('commit of an unknown symbol does nothing', () => {
    const store = new Store({ journalSize: 8 });
    const events = record(store);
    store.commit('NOPE');
    expect(events).toEqual([]);
    expect(store.gseq).toBe(0);
  });

  it('seq bumps only on change; a commit with no change emits nothing', () => {
    const store = new Store({ journalSize: 8, epoch: 'e' });
    const events = record(store);
    const c = ticks();
    store.setContribution('EURUSD', 'f', c);
    c.applyTick({ time: T0, bid: 1.1, ask: 1.2 });
    store.commit('EURUSD');
    const state = store.get('EURUSD');
    const doc1 = state?.document;
    store.commit('EURUSD');
    store.commit('EURUSD');
    expect(events).toHaveLength(1);
    expect(state?.seq).toBe(1);
    expect(store.gseq).toBe(1);
    expect(state?.document).toBe(doc1);

    // A tick older than the quote, with no bid (so no bar tick), rebuilds the quote but changes nothing.
    c.applyTick({ time: T0 - 1, ask: 9 });
    store.commit('EURUSD');
    expect(events).toHaveLength(1);
    expect(state?.seq).toBe(1);
    expect(store.gseq).toBe(1);
    expect(state?.journal.size).toBe(0);

    // The same quote again is still a bid tick for the bar volume: a change.
    c.applyTick({ time: T0, bid: 1.1, ask: 1.2 });
    store.commit('EURUSD');
    expect(events).toHaveLength(2);
    expect(state?.seq).toBe(2);
    expect(events[1]?.ops).toEqual([{ op: 'replace', path: '/bars/M1/0/v', value: 2 }]);

    c.applyTick({ time: T0 + 1, ask: 1.25 }); // no bid: not a bar tick
    store.commit('EURUSD');
    expect(state?.seq).toBe(3);
    // Two of three quote fields changed: one replace of the (flat) quote is shorter.
    expect(events[2]?.ops).toEqual([{ op: 'replace', path: '/quote', value: { bid: 1.1, ask: 1.25, time: T0 + 1 } }]);
  });

  it('journal entries carry seq, gseq, opsJson and a parseable messageJson', () => {
    const store = new Store({ journalSize: 8, epoch: 'k3j2' });
    const events = record(store);
    const c = ticks();
    store.setContribution('XAU/USD "spot"', 'f', c);
    c.applyTick({ time: T0, bid: 2650.1, ask: 2650.4 });
    store.commit('XAU/USD "spot"');
    c.applyTick({ time: T0 + 5, bid: 2650.2 });
    store.commit('XAU/USD "spot"');
    const entry = events[1]?.entry;
    const ops = events[1]?.ops;
    expect(entry).toBeTruthy();
    if (!entry) return;
    expect(entry.seq).toBe(2);
    expect(entry.gseq).toBe(2);
    expect(JSON.parse(entry.opsJson)).toEqual(ops);
    expect(JSON.parse(entry.messageJson)).toEqual({ type: 'patch', symbol: 'XAU/USD "spot"', epoch: 'k3j2', seq: 2, base: 1, ops });
    expect(Object.keys(JSON.parse(entry.messageJson) as object)).toEqual(['type', 'symbol', 'epoch', 'seq', 'base', 'ops']);
    expect(events[1]?.state.journal.since(1)).toEqual([entry]);
  });

  it('refuses an epoch that could break an SSE id or a hand-built message', () => {
    for (const epoch of ['a"b', 'a\\b', 'a:b', '', 'x'.repeat(65)]) {
      expect(() => new Store({ journalSize: 8, epoch }), epoch).toThrow(RangeError);
    }
    expect(new Store({ journalSize: 8, epoch: 'Ab_-9' }).epoch).toBe('Ab_-9');
    expect(new Store({ journalSize: 8 }).epoch).toMatch(/^[A-Za-z0-9_-]{8}$/);
  });

  it('gseq increases across symbols; seq is per symbol', () => {
    const store = new Store({ journalSize: 8, epoch: 'e' });
    const seen: [string, number, number][] = [];
    store.onCommit((e) => seen.push([e.state.symbol, e.state.seq, e.entry?.gseq ?? e.state.gseq]));
    const a = ticks();
    const b = ticks();
    store.setContribution('A', 'fa', a);
    store.setContribution('B', 'fb', b);
    const steps: [string, Contribution, number][] = [
      ['A', a, 1],
      ['B', b, 1],
      ['A', a, 2],
      ['A', a, 3],
      ['B', b, 2],
    ];
    steps.forEach(([symbol, contribution], i) => {
      contribution.applyTick({ time: T0 + i, bid: 100 + i });
      store.commit(symbol);
    });
    expect(seen).toEqual([
      ['A', 1, 1],
      ['B', 1, 2],
      ['A', 2, 3],
      ['A', 3, 4],
      ['B', 2, 5],
    ]);
    expect(store.gseq).toBe(5);
    const stateA = store.get('A');
    expect(stateA?.gseq).toBe(4);
    expect(stateA?.journal.sinceGseq(2)?.map((e) => e.seq)).toEqual([2, 3]);
    expect(stateA?.journal.sinceGseq(3)?.map((e) => e.seq)).toEqual([3]);
    expect(
      store
        .get('B')
        ?.journal.sinceGseq(2)
        ?.map((e) => e.seq),
    ).toEqual([2]);
  });

  it('the journal replays every version from seq 1, and evicts beyond its size', () => {
    const store = new Store({ journalSize: 50, epoch: 'e' });
    let first: unknown;
    const versions = new Map<number, unknown>();
    store.onCommit(({ state }) => {
      const json = JSON.parse(state.documentJson()) as unknown;
      if (state.seq === 1) first = json;
      versions.set(state.seq, json);
    });
    const c = new Contribution('sierra-scid', 'trade', { M1: 3, M5: 2 });
    store.setContribution('ES', 'f', c);
    for (let i = 0; i < 40; i++) {
      const time = T0 + i * 17_000;
      if (i % 3 === 0) c.applyTick({ time, bid: 6000 + i, ask: 6000.25 + i });
      else c.applyTick({ time, last: 6000 + (i % 7), size: 1 + (i % 4) });
      store.commit('ES');
    }
    const state = store.get('ES');
    if (!state) throw new Error('ES not published');
    expect(state.seq).toBe(40);
    let doc = first;
    const entries = state.journal.since(1) ?? [];
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 39 }, (_, i) => i + 2));
    for (const entry of entries) {
      doc = apply(doc, JSON.parse(entry.opsJson) as PatchOperation[]);
      expect(doc).toEqual(versions.get(entry.seq));
    }
    expect(doc).toEqual(JSON.parse(state.documentJson()));

    // From any held version as well.
    const mid = state.journal.since(25) ?? [];
    let fromMid = versions.get(25);
    for (const entry of mid) fromMid = apply(fromMid, JSON.parse(entry.opsJson) as PatchOperation[]);
    expect(fromMid).toEqual(JSON.parse(state.documentJson()));
  });

  it('a small journal evicts: since(1) is null once the first patch is gone', () => {
    const store = new Store({ journalSize: 2, epoch: 'e' });
    const c = ticks();
    store.setContribution('S', 'f', c);
    for (let i = 0; i < 5; i++) {
      c.applyTick({ time: T0 + i, bid: i + 1 });
      store.commit('S');
    }
    const state = store.get('S');
    expect(state?.seq).toBe(5);
    expect(state?.journal.since(1)).toBeNull();
    expect(state?.journal.since(3)?.map((e) => e.seq)).toEqual([4, 5]);
  });

  it('documentJson is cached per version', () => {
    const store = new Store({ journalSize: 4 });
    const c = ticks();
    store.setContribution('S', 'f', c);
    c.applyTick({ time: T0, bid: 1 });
    store.commit('S');
    const state = store.get('S');
    const json1 = state?.documentJson();
    expect(state?.documentJson()).toBe(json1);
    c.applyTick({ time: T0 + 1, bid: 2 });
    store.commit('S');
    const json2 = state?.documentJson();
    expect(json2).not.toBe(json1);
    expect((JSON.parse(json2 as string) as { quote: { bid: number } }).quote.bid).toBe(2);
  });

  it('a listener that throws is reported and does not stop the others; unsubscribe works', () => {
    const errors: unknown[] = [];
    const store = new Store({ journalSize: 4 }, (error) => errors.push(error));
    const seen: number[] = [];
    store.onCommit(() => {
      throw new Error('boom');
    });
    const off = store.onCommit(({ state }) => seen.push(state.seq));
    const c = ticks();
    store.setContribution('S', 'f', c);
    c.applyTick({ time: T0, bid: 1 });
    store.commit('S');
    expect(errors).toHaveLength(1);
    expect(seen).toEqual([1]);
    off();
    c.applyTick({ time: T0 + 1, bid: 2 });
    store.commit('S');
    expect(seen).toEqual([1]);
    expect(errors).toHaveLength(2);
    expect(store.get('S')?.seq).toBe(2);
  });

  it('replaceContributions sets, and removes the key from the symbols it no longer feeds', () => {
    const store = new Store({ journalSize: 4 });
    const other = ticks('other');
    store.setContribution('A', 'file', ticks());
    store.setContribution('B', 'file', ticks());
    store.setContribution('B', 'other-file', other);
    store.setContribution('C', 'other-file', ticks('other'));
    const next = new Map([
      ['A', ticks()],
      ['D', ticks()],
    ]);
    const touched = store.replaceContributions('file', next);
    expect(new Set(touched)).toEqual(new Set(['A', 'B', 'D']));
    expect(store.contribution('A', 'file')).toBe(next.get('A'));
    expect(store.contribution('D', 'file')).toBe(next.get('D'));
    expect(store.contribution('B', 'file')).toBeUndefined();
    expect(store.contribution('B', 'other-file')).toBe(other);
    expect(store.contribution('C', 'other-file')).toBeDefined();
  });

  it('two contributions of one symbol are composed on commit', () => {
    const store = new Store({ journalSize: 4 });
    const events = record(store);
    const mt5 = ticks('mt5-ticks');
    const json = new Contribution('json', 'auto', {});
    store.setContribution('EURUSD', 'a', mt5);
    store.setContribution('EURUSD', 'b', json);
    mt5.applyTick({ time: T0 + 10, bid: 1.1, ask: 1.2 });
    json.applyDocument({ quote: { bid: 1.0, last: 1.15, time: T0 }, fields: { spread: 3 } }, T0);
    store.commit('EURUSD');
    const doc = events[0]?.state.document;
    expect(doc?.sources).toEqual(['json', 'mt5-ticks']);
    expect(doc?.quote).toEqual({ bid: 1.1, ask: 1.2, last: 1.15, time: T0 + 10 });
    expect(doc?.fields).toEqual({ spread: 3 });
    json.applyDocument({ quote: { bid: 1.3, time: T0 + 20 }, fields: { spread: 3 } }, T0 + 20);
    store.commit('EURUSD');
    expect(events[1]?.state.document.quote).toEqual({ bid: 1.3, ask: 1.2, time: T0 + 20 });
    expect(apply(JSON.parse(JSON.stringify(doc)), events[1]?.ops ?? [])).toEqual(JSON.parse(events[1]?.state.documentJson() ?? 'null'));
  });

  it('composes files in the order of their paths, not of their first read: ties give the same document after a restart (found by the soak)', () => {
    const documents = (['first', 'second'] as const).map((order) => {
      const store = new Store({ journalSize: 10 });
      const ticksOf = ticks('mt5-ticks');
      const barsOf = new Contribution('mt5-bars', 'auto', {});
      const add = {
        ticks: () => store.setContribution('EURUSD', '/mt5/EURUSD_202611200000_202611202359.csv', ticksOf),
        bars: () => store.setContribution('EURUSD', '/mt5/EURUSD_M1_202611200000_202611202359.csv', barsOf),
      };
      if (order === 'first') {
        add.ticks();
        add.bars();
      } else {
        add.bars();
        add.ticks();
      }
      // Both give an M1 window whose last bar opens at the same minute, and quotes of the same time.
      ticksOf.applyTick({ time: T0 + 5_000, bid: 1.1, ask: 1.2 });
      ticksOf.applyTick({ time: T0 + 65_000, bid: 1.15, ask: 1.25 });
      barsOf.applyBar({ t: T0 - 60_000, o: 1, h: 1, l: 1, c: 1, v: 7 }, 'M1');
      barsOf.applyBar({ t: T0, o: 1, h: 1.3, l: 0.9, c: 1.2, v: 9 }, 'M1');
      barsOf.applyBar({ t: T0 + 60_000, o: 1.2, h: 1.2, l: 1.2, c: 1.2, v: 1 }, 'M1');
      store.commit('EURUSD');
      return store.get('EURUSD')?.document;
    });
    expect(documents[1]).toEqual(documents[0]);
  });
});
