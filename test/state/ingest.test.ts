import jsonpatch, { type Operation } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import type { TickRecord } from '../../src/formats/types.js';
import { FileIngest, type FileIngestOptions } from '../../src/state/ingest.js';
import { Store, type CommitEvent } from '../../src/state/store.js';
import type { PatchOperation } from '../../src/model/patch.js';

const MIN = 60_000;
const T0 = 1_763_640_000_000;

function setup(options: Partial<FileIngestOptions> = {}) {
  const store = new Store({ journalSize: 100, epoch: 'e' });
  const events: { symbol: string; seq: number; ops: readonly PatchOperation[] | null; json: string }[] = [];
  store.onCommit(({ state, ops }: CommitEvent) => events.push({ symbol: state.symbol, seq: state.seq, ops, json: state.documentJson() }));
  const problems: [number, string, number | undefined][] = [];
  const ingest = new FileIngest(store, {
    key: '/data/EURUSD.ticks',
    source: 'mt5-ticks',
    barBasis: 'auto',
    windows: { M1: 10 },
    onProblem: (offset, reason, line) => problems.push([offset, reason, line]),
    ...options,
  });
  return { store, ingest, events, problems };
}

function apply(doc: unknown, ops: readonly PatchOperation[]): unknown {
  return jsonpatch.applyPatch(structuredClone(doc), ops as Operation[], true, false).newDocument;
}

const docOf = (store: Store, symbol: string): unknown => JSON.parse(store.get(symbol)?.documentJson() ?? 'null');

describe('FileIngest', () => {
  it('a cycle commits each touched symbol once, and returns the records it applied', () => {
    const { store, ingest, events } = setup();
    ingest.begin(true);
    ingest.tick('EURUSD', { time: T0, bid: 1.1, ask: 1.2 });
    ingest.tick('EURUSD', { time: T0 + 1, bid: 1.11, ask: 1.21 });
    ingest.tick('GBPUSD', { time: T0 + 2, bid: 1.3, ask: 1.31 });
    expect(events).toEqual([]);
    expect(ingest.finish()).toBe(3);
    expect(events.map((e) => [e.symbol, e.seq, e.ops])).toEqual([
      ['EURUSD', 1, null],
      ['GBPUSD', 1, null],
    ]);
    expect(store.get('EURUSD')?.document.quote).toEqual({ bid: 1.11, ask: 1.21, time: T0 + 1 });
    expect(store.get('EURUSD')?.document.sources).toEqual(['mt5-ticks']);
    expect(store.get('EURUSD')?.document.bars.M1).toEqual([{ t: T0, o: 1.1, h: 1.11, l: 1.1, c: 1.11, v: 2 }]);
  });

  it('a tail cycle (not fresh) adds to the existing contributions: one patch per symbol per cycle', () => {
    const { store, ingest, events } = setup();
    ingest.begin(true);
    ingest.tick('EURUSD', { time: T0, bid: 1.1, ask: 1.2 });
    ingest.finish();
    const before = docOf(store, 'EURUSD');
    ingest.begin(false);
    ingest.tick('EURUSD', { time: T0 + 1_000, bid: 1.12 });
    ingest.tick('EURUSD', { time: T0 + MIN, bid: 1.13 });
    expect(ingest.finish()).toBe(2);
    expect(events).toHaveLength(2);
    const patch = events[1];
    expect(patch?.seq).toBe(2);
    expect(apply(before, patch?.ops ?? [])).toEqual(docOf(store, 'EURUSD'));
    expect(store.get('EURUSD')?.document.bars.M1).toHaveLength(2);
  });

  it('an empty tail cycle commits nothing', () => {
    const { store, ingest, events } = setup();
    ingest.begin(true);
    ingest.tick('EURUSD', { time: T0, bid: 1.1 });
    ingest.finish();
    ingest.begin(false);
    expect(ingest.finish()).toBe(0);
    expect(events).toHaveLength(1);
    expect(store.get('EURUSD')?.seq).toBe(1);
  });

  it('a fresh cycle that read nothing keeps the previous contributions and document (no commit)', () => {
    const { store, ingest, events } = setup();
    ingest.begin(true);
    ingest.tick('EURUSD', { time: T0, bid: 1.1, ask: 1.2 });
    ingest.finish();
    const state = store.get('EURUSD');
    const document = state?.document;
    const contribution = store.contribution('EURUSD', '/data/EURUSD.ticks');
    expect(contribution).toBeDefined();

    ingest.begin(true); // the file was seen empty mid-rewrite
    ingest.problem(0, 'file is empty');
    expect(ingest.finish()).toBe(0);
    expect(events).toHaveLength(1);
    expect(state?.seq).toBe(1);
    expect(state?.document).toBe(document);
    expect(store.contribution('EURUSD', '/data/EURUSD.ticks')).toBe(contribution);

    // And a later tail cycle still builds on the kept contribution.
    ingest.begin(false);
    ingest.tick('EURUSD', { time: T0 + 5, bid: 1.15 });
    ingest.finish();
    expect(store.get('EURUSD')?.document.quote).toEqual({ bid: 1.15, ask: 1.2, time: T0 + 5 });
    expect(store.get('EURUSD')?.document.bars.M1).toEqual([{ t: T0, o: 1.1, h: 1.15, l: 1.1, c: 1.15, v: 2 }]);
  });

  it('a fresh cycle with records replaces the contribution: one patch from the old document to the new', () => {
    const { store, ingest, events } = setup();
    ingest.begin(true);
    for (let i = 0; i < 5; i++) ingest.tick('EURUSD', { time: T0 + i * MIN, bid: 1.1 + i / 100, ask: 1.2 + i / 100 });
    ingest.finish();
    const before = docOf(store, 'EURUSD');
    const oldContribution = store.contribution('EURUSD', '/data/EURUSD.ticks');

    // The file was rewritten with different content: it starts anew, not on top of the old bars.
    ingest.begin(true);
    ingest.tick('EURUSD', { time: T0 + 3 * MIN + 1, bid: 2.5, ask: 2.6 });
    ingest.tick('EURUSD', { time: T0 + 7 * MIN, bid: 2.7, ask: 2.8 });
    expect(ingest.finish()).toBe(2);

    expect(store.contribution('EURUSD', '/data/EURUSD.ticks')).not.toBe(oldContribution);
    expect(events).toHaveLength(2);
    const patch = events[1];
    expect(patch?.seq).toBe(2);
    const after = docOf(store, 'EURUSD');
    expect(after).toMatchObject({
      quote: { bid: 2.7, ask: 2.8, time: T0 + 7 * MIN },
      bars: {
        M1: [
          { t: T0 + 3 * MIN, o: 2.5, h: 2.5, l: 2.5, c: 2.5, v: 1 },
          { t: T0 + 7 * MIN, o: 2.7, h: 2.7, l: 2.7, c: 2.7, v: 1 },
        ],
      },
    });
    expect(apply(before, patch?.ops ?? [])).toEqual(after);
    expect(
      store
        .get('EURUSD')
        ?.journal.since(1)
        ?.map((e) => e.seq),
    ).toEqual([2]);
  });

  it('a fresh cycle that re-reads identical content produces no patch', () => {
    const { store, ingest, events } = setup();
    const feed = () => {
      ingest.begin(true);
      for (let i = 0; i < 4; i++) ingest.tick('EURUSD', { time: T0 + i * 20_000, bid: 1 + i, ask: 2 + i });
      return ingest.finish();
    };
    feed();
    expect(feed()).toBe(4);
    expect(events).toHaveLength(1);
    expect(store.get('EURUSD')?.seq).toBe(1);
  });

  it('a fresh cycle removes the contribution from symbols the file no longer feeds', () => {
    const { store, ingest, events } = setup({ key: '/data/quotes.json', source: 'json' });
    const other = new FileIngest(store, {
      key: '/data/GBPUSD.ticks',
      source: 'mt5-ticks',
      barBasis: 'auto',
      windows: { M1: 10 },
      onProblem: () => undefined,
    });
    other.begin(true);
    other.tick('GBPUSD', { time: T0, bid: 1.3, ask: 1.31 });
    other.finish();

    ingest.begin(true);
    ingest.document('EURUSD', { quote: { bid: 1.1, time: T0 } }, T0);
    ingest.document('GBPUSD', { fields: { note: 'x' } }, T0);
    ingest.finish();
    expect(store.get('GBPUSD')?.document.sources).toEqual(['json', 'mt5-ticks']);
    expect(store.get('GBPUSD')?.document.fields).toEqual({ note: 'x' });
    const gbpBefore = docOf(store, 'GBPUSD');
    const eurBefore = docOf(store, 'EURUSD');
    const count = events.length;

    ingest.begin(true);
    ingest.document('EURUSD', { quote: { bid: 1.2, time: T0 + 1 } }, T0 + 1);
    ingest.finish();
    const fresh = events.slice(count);
    expect(fresh.map((e) => e.symbol).sort()).toEqual(['EURUSD', 'GBPUSD']);
    expect(store.contribution('GBPUSD', '/data/quotes.json')).toBeUndefined();
    expect(store.get('GBPUSD')?.document.sources).toEqual(['mt5-ticks']);
    expect(store.get('GBPUSD')?.document.fields).toEqual({});
    for (const event of fresh) {
      const before = event.symbol === 'GBPUSD' ? gbpBefore : eurBefore;
      expect(apply(before, event.ops ?? [])).toEqual(JSON.parse(event.json));
    }
  });

  it('maps symbols, forwards bars and problems', () => {
    const { store, ingest, problems } = setup({
      key: '/data/ES.scid',
      source: 'sierra-scid',
      barBasis: 'trade',
      windows: { M1: 10, M5: 10 },
      mapSymbol: (symbol) => `${symbol}_FUT_CME`,
    });
    ingest.begin(true);
    ingest.bar('ESZ25', { t: T0 + 1_000, o: 1, h: 2, l: 0.5, c: 1.5, v: 3, n: 2 }, null);
    ingest.problem(1234, 'bad record', 7);
    ingest.bar('ESZ25', { t: T0 + MIN, o: 1.5, h: 1.75, l: 1.25, c: 1.25, v: 1, n: 1 }, null);
    expect(ingest.finish()).toBe(2);
    expect(store.get('ESZ25')).toBeUndefined();
    const doc = store.get('ESZ25_FUT_CME')?.document;
    expect(doc?.bars.M1).toHaveLength(2);
    expect(doc?.bars.M5).toEqual([{ t: T0, o: 1, h: 2, l: 0.5, c: 1.25, v: 4, n: 3 }]);
    expect(doc?.quote).toEqual({ last: 1.25, time: T0 + MIN });
    expect(problems).toEqual([[1234, 'bad record', 7]]);
  });

  it('tells content the state refused apart from a bad record (logged as data_refused)', () => {
    const kinds: [string, string | undefined][] = [];
    const { ingest } = setup({ onProblem: (_offset, reason, _line, kind) => kinds.push([reason, kind]) });
    ingest.begin(true);
    ingest.problem(10, 'bad record');
    ingest.tick('A,B', { time: T0, bid: 1, ask: 2 });
    ingest.finish();
    expect(kinds).toEqual([
      ['bad record', undefined],
      [expect.stringMatching(/^symbol name refused/), 'refused'],
    ]);
  });

  it('copies reused tick records', () => {
    const { store, ingest } = setup();
    const tick: TickRecord = { time: T0, bid: 1, ask: 2 };
    ingest.begin(true);
    ingest.tick('EURUSD', tick);
    tick.time = T0 + 10;
    tick.bid = 5;
    ingest.tick('EURUSD', tick);
    ingest.finish();
    expect(store.get('EURUSD')?.document.bars.M1).toEqual([{ t: T0, o: 1, h: 5, l: 1, c: 5, v: 2 }]);
  });

  it('a stream of cycles replays exactly through the journal', () => {
    const { store, ingest, events } = setup({ windows: { M1: 4, M5: 2 } });
    let first: unknown;
    for (let cycle = 0; cycle < 30; cycle++) {
      ingest.begin(cycle === 0 || cycle === 15);
      for (let i = 0; i < 3; i++) {
        const time = T0 + cycle * 40_000 + i * 7_000;
        const tick: TickRecord = cycle % 4 === 3 ? { time, last: 100 + i, size: 2 } : { time, bid: 100 + ((cycle * 3 + i) % 11), ask: 101 };
        ingest.tick('EURUSD', tick);
      }
      ingest.finish();
      if (cycle === 0) first = docOf(store, 'EURUSD');
    }
    const state = store.get('EURUSD');
    expect(state?.seq).toBe(events.length);
    let doc = first;
    for (const entry of state?.journal.since(1) ?? []) doc = apply(doc, JSON.parse(entry.opsJson) as PatchOperation[]);
    expect(doc).toEqual(docOf(store, 'EURUSD'));
  });

  it('maps every symbol, the empty one included, and each raw symbol to its own mapping', () => {
    const { store, ingest } = setup({ mapSymbol: (symbol) => (symbol === '' ? 'DEFAULT' : symbol.toUpperCase()) });
    ingest.begin(true);
    ingest.tick('', { time: T0, bid: 1 });
    ingest.tick('eurusd', { time: T0, bid: 2 });
    ingest.tick('', { time: T0 + 1, bid: 3 });
    ingest.tick('gbpusd', { time: T0, bid: 4 });
    ingest.tick('gbpusd', { time: T0 + 1, bid: 5 });
    ingest.finish();
    expect(store.get('')).toBeUndefined();
    expect(store.get('DEFAULT')?.document.quote).toEqual({ bid: 3, time: T0 + 1 });
    expect(store.get('EURUSD')?.document.quote).toEqual({ bid: 2, time: T0 });
    expect(store.get('GBPUSD')?.document.quote).toEqual({ bid: 5, time: T0 + 1 });
  });
});
