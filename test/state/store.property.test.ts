import fc from 'fast-check';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import type { TickRecord } from '../../src/formats/types.js';
import { FileIngest } from '../../src/state/ingest.js';
import { Store } from '../../src/state/store.js';
import type { PatchOperation } from '../../src/model/patch.js';

/*
 * End to end through the state layer: random cycles of ticks, bars and whole documents from
 * several files into several symbols. A client that takes each symbol's first snapshot and
 * then applies every patch (after a JSON round trip, as on the wire) always holds exactly
 * the bridge's document; seq has no gaps; gseq only grows; and no published document is
 * ever changed afterwards (each is deep-frozen as soon as it is published).
 */

const T0 = 1_763_640_000_000;
const SYMBOLS = ['EURUSD', 'GBPUSD', ''] as const;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

type Record_ =
  | { kind: 'tick'; symbol: number; dt: number; bid: number | null; ask: number | null; last: number | null; size: number }
  | { kind: 'bar'; symbol: number; dt: number; c: number; v: number }
  | { kind: 'doc'; symbol: number; dt: number; bid: number; field: number | null; book: boolean };

const price = fc.integer({ min: 1, max: 400 }).map((quarter) => 100 + quarter / 4);
const rec: fc.Arbitrary<Record_> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      symbol: fc.nat(2),
      dt: fc.integer({ min: -30_000, max: 90_000 }),
      bid: fc.option(price),
      ask: fc.option(price),
      last: fc.option(price),
      size: fc.nat(5),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bar' as const), symbol: fc.nat(2), dt: fc.nat(60_000), c: price, v: fc.nat(9) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('doc' as const),
      symbol: fc.nat(2),
      dt: fc.nat(60_000),
      bid: price,
      field: fc.option(fc.nat(3)),
      book: fc.boolean(),
    }),
  },
);

const cycle = fc.record({ file: fc.nat(2), fresh: fc.boolean(), records: fc.array(rec, { maxLength: 6 }) });

describe('Store + FileIngest: property', () => {
  it('a client applying every patch holds the bridge document; versions never change once published', () => {
    fc.assert(
      fc.property(fc.array(cycle, { minLength: 1, maxLength: 25 }), (cycles) => {
        // The store shields itself from listeners: collect what the checks below throw.
        const failures: unknown[] = [];
        const store = new Store({ journalSize: 1000, epoch: 'p' }, (error) => failures.push(error));
        const client = new Map<string, { seq: number; doc: unknown }>();
        const published: { doc: unknown; json: string }[] = [];
        let lastGseq = 0;
        store.onCommit(({ state, entry }) => {
          const json = state.documentJson();
          published.push({ doc: deepFreeze(state.document), json });
          expect(state.gseq).toBeGreaterThan(lastGseq);
          lastGseq = state.gseq;
          if (entry === null) {
            expect(client.has(state.symbol)).toBe(false);
            expect(state.seq).toBe(1);
            client.set(state.symbol, { seq: 1, doc: JSON.parse(json) });
            return;
          }
          const held = client.get(state.symbol);
          expect(held).toBeDefined();
          if (!held) return;
          expect(entry.seq).toBe(held.seq + 1);
          expect(JSON.parse(entry.opsJson)).not.toHaveLength(0);
          const message = JSON.parse(entry.messageJson) as { ops: PatchOperation[]; seq: number; symbol: string };
          expect(message.symbol).toBe(state.symbol);
          expect(message.seq).toBe(entry.seq);
          expect(jsonpatch.validate(message.ops as Operation[], held.doc)).toBeUndefined();
          held.doc = jsonpatch.applyPatch(held.doc, message.ops as Operation[], true, false).newDocument;
          held.seq = entry.seq;
          expect(held.doc).toEqual(JSON.parse(json));
        });

        const files = [0, 1, 2].map(
          (i) =>
            new FileIngest(store, {
              key: `/data/file${i}`,
              source: ['mt5-ticks', 'sierra-scid', 'json'][i] as string,
              barBasis: i === 1 ? 'trade' : 'auto',
              windows: { M1: 3, M5: 2 },
              onProblem: () => undefined,
            }),
        );
        let clock = T0;
        const tick: TickRecord = { time: 0 }; // reused, as decoders do
        for (const c of cycles) {
          const ingest = files[c.file] as FileIngest;
          ingest.begin(c.fresh);
          for (const r of c.records) {
            const symbol = SYMBOLS[r.symbol] as string;
            clock += Math.max(0, r.dt);
            const time = clock + Math.min(0, r.dt);
            if (r.kind === 'tick') {
              tick.time = time;
              tick.bid = r.bid ?? undefined;
              tick.ask = r.ask ?? undefined;
              tick.last = r.last ?? undefined;
              tick.size = r.last === null ? undefined : r.size;
              ingest.tick(symbol, tick);
            } else if (r.kind === 'bar') {
              ingest.bar(symbol, { t: time, o: r.c, h: r.c + 1, l: r.c - 1, c: r.c, v: r.v }, null);
            } else {
              const partial = {
                quote: { bid: r.bid, time },
                ...(r.field === null ? {} : { fields: { f: r.field, [`k${r.field}`]: true } }),
                ...(r.book ? { book: { bids: [[r.bid, 1]] as [number, number][], asks: [[r.bid + 1, 2]] as [number, number][], time } } : {}),
              };
              ingest.document(symbol, partial, time);
            }
          }
          ingest.finish();
          if (failures.length > 0) throw failures[0];
        }

        for (const state of store.symbols()) {
          const held = client.get(state.symbol);
          expect(held?.seq).toBe(state.seq);
          expect(held?.doc).toEqual(JSON.parse(state.documentJson()));
        }
        for (const version of published) expect(JSON.stringify(version.doc)).toBe(version.json);
      }),
      { numRuns: 150 },
    );
  });
});
