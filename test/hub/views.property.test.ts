import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DocumentMirror } from '../../src/client/mirror.js';
import type { PatchMessage, SnapshotMessage } from '../../src/client/types.js';
import type { TickRecord } from '../../src/formats/types.js';
import type { Subscriber } from '../../src/hub/subscriber.js';
import { parseView, restrictDocument, type View } from '../../src/model/view.js';
import { parseSseCursor } from '../../src/model/wire.js';
import { FileIngest } from '../../src/state/ingest.js';
import { sseEventEncoding, wsTextEncoding } from '../../src/transports/frames.js';
import { decodeSseFrame, decodeWsFrame, FakeOutlet, type WireMessage } from './fake-outlet.js';
import { createHub, createStore } from './hub-fixture.js';

/*
 * Property (PROTOCOL.md §8): for random commits of ticks, bars and documents into several
 * symbols, and clients of random views over WebSocket and SSE that come, go and come back
 * resuming from what they hold, every client applying what it gets (patches by `base`) holds,
 * after every step, each symbol's document restricted to its view, and never meets a gap.
 */

const T0 = 1_763_640_000_000;
const SYMBOLS = ['EURUSD', 'GBPUSD', 'XAU'] as const;
const VIEWS: readonly (View | null)[] = [
  null,
  parseView(['/quote']) as View,
  parseView(['/quote/bid', '/book/bids']) as View,
  parseView(['/bars/M1']) as View,
  parseView(['/bars/M5', '/fields/f']) as View,
  parseView(['/book', '/fields']) as View,
  parseView(['/indicators/M1']) as View,
];

type Step =
  | { kind: 'tick'; symbol: number; dt: number; bid: number | null; ask: number | null; last: number | null }
  | { kind: 'bar'; symbol: number; dt: number; c: number }
  | { kind: 'doc'; symbol: number; bid: number; field: number | null; book: boolean }
  | { kind: 'client'; client: number };

const price = fc.integer({ min: 1, max: 40 }).map((quarter) => 100 + quarter / 4);
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      symbol: fc.nat(2),
      dt: fc.integer({ min: 0, max: 90_000 }),
      bid: fc.option(price),
      ask: fc.option(price),
      last: fc.option(price),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bar' as const), symbol: fc.nat(2), dt: fc.nat(60_000), c: price }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('doc' as const), symbol: fc.nat(2), bid: price, field: fc.option(fc.nat(3)), book: fc.boolean() }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('client' as const), client: fc.nat(VIEWS.length * 2 - 1) }) },
);

/** A client of one view and transport: it keeps its documents (and SSE cursor) across connections. */
class ViewClient {
  readonly mirror = new DocumentMirror();
  readonly problems: string[] = [];
  outlet: FakeOutlet | null = null;
  subscriber: Subscriber | null = null;
  lastEventId: string | undefined;
  /** Connections that resumed with a view patch skipping seqs before any snapshot (the journal's replay). */
  resumedOverSkips = 0;
  /** Symbols held when it connected and not heard of since. */
  readonly #fresh = new Set<string>();

  constructor(
    readonly kind: 'ws' | 'sse',
    readonly view: View | null,
    /** A WebSocket client may also subscribe XAU by name, through another view than its `*` one. */
    readonly named: { view: View | null } | null = null,
  ) {}

  viewOf(symbol: string): View | null {
    return symbol === 'XAU' && this.named ? this.named.view : this.view;
  }

  /** A new connection: what comes first shows whether it was resumed from the journal. */
  connected(outlet: FakeOutlet): void {
    this.outlet = outlet;
    this.#fresh.clear();
    for (const symbol of this.mirror.symbols()) this.#fresh.add(symbol);
  }

  read(): void {
    if (!this.outlet) return;
    for (const frame of this.outlet.frames) {
      let message: WireMessage;
      if (this.kind === 'sse') {
        const event = decodeSseFrame(frame);
        this.lastEventId = event.id;
        message = event.message;
      } else {
        message = decodeWsFrame(frame);
      }
      const fresh = this.#fresh.delete(message.symbol);
      if (message.type === 'snapshot') {
        this.mirror.snapshot(message as unknown as SnapshotMessage);
        continue;
      }
      const base = (message as unknown as PatchMessage).base;
      if (fresh && base !== undefined && base !== message.seq - 1) this.resumedOverSkips++;
      const outcome = this.mirror.patch(message as unknown as PatchMessage);
      if (outcome.kind !== 'applied') this.problems.push(`${message.symbol} ${message.seq}: ${outcome.kind}`);
    }
    this.outlet.clear();
  }
}

describe('views through the hub (property)', () => {
  it('every client of every view holds the restricted document after every commit, resuming across reconnections', () => {
    const resumed = { ws: 0, sse: 0 };
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 80, size: 'max' }), fc.integer({ min: 2, max: 40 }), (steps, journalSize) => {
        const store = createStore({ journalSize });
        const hub = createHub({ store });
        const clients = VIEWS.flatMap((view, i) => [
          new ViewClient('ws', view, i % 2 === 0 ? { view: VIEWS[(i + 1) % VIEWS.length] ?? null } : null),
          new ViewClient('sse', view),
        ]);
        const toggle = (client: ViewClient): void => {
          client.read();
          if (client.subscriber) {
            hub.detach(client.subscriber);
            client.subscriber = null;
            client.outlet = null;
            return;
          }
          const outlet = new FakeOutlet(client.kind, client.kind === 'ws' ? wsTextEncoding : sseEventEncoding);
          client.connected(outlet);
          client.subscriber = hub.attach(outlet);
          if (client.kind === 'sse') {
            hub.stream(client.subscriber, '*', client.lastEventId === undefined ? null : parseSseCursor(client.lastEventId), client.view);
          } else {
            const resume = new Map([...client.mirror.symbols()].map((symbol) => [symbol, client.mirror.get(symbol)!] as const));
            // XAU by name first (a `*` frame resuming it would resume it through the `*` view), and
            // only once (the `*` frame brings every symbol up to date again: XAU gets a snapshot).
            if (client.named) {
              hub.subscribe(client.subscriber, ['XAU'], resume, client.named.view);
              resume.delete('XAU');
            }
            hub.subscribe(client.subscriber, ['*'], resume, client.view);
          }
        };
        for (const client of clients) toggle(client);
        const ingest = new FileIngest(store, { key: '/data/f', source: 'json', barBasis: 'auto', windows: { M1: 3, M5: 2 }, onProblem: () => undefined });
        let clock = T0;
        const tick: TickRecord = { time: 0 };

        for (const s of steps) {
          if (s.kind === 'client') {
            toggle(clients[s.client] as ViewClient);
          } else {
            const symbol = SYMBOLS[s.symbol] as string;
            ingest.begin(false);
            if (s.kind === 'tick') {
              clock += s.dt;
              tick.time = clock;
              tick.bid = s.bid ?? undefined;
              tick.ask = s.ask ?? undefined;
              tick.last = s.last ?? undefined;
              tick.size = s.last === null ? undefined : 1;
              ingest.tick(symbol, tick);
            } else if (s.kind === 'bar') {
              clock += s.dt;
              ingest.bar(symbol, { t: clock, o: s.c, h: s.c + 1, l: s.c - 1, c: s.c, v: 1 }, null);
            } else {
              ingest.document(
                symbol,
                {
                  quote: { bid: s.bid, time: clock },
                  ...(s.field === null ? {} : { fields: { f: s.field, [`k${s.field}`]: true } }),
                  ...(s.book ? { book: { bids: [[s.bid, 1]], asks: [[s.bid + 1, 2]], time: clock } } : {}),
                },
                clock,
              );
            }
            ingest.finish();
          }
          for (const client of clients) {
            if (!client.subscriber) continue;
            client.read();
            expect(client.problems).toEqual([]);
            for (const state of store.symbols()) {
              const document = JSON.parse(state.documentJson()) as object;
              const view = client.viewOf(state.symbol);
              const expected = view === null ? document : JSON.parse(JSON.stringify(restrictDocument(document, view)));
              expect(client.mirror.get(state.symbol)?.document, `${client.kind} ${view?.key ?? 'whole'} ${state.symbol}`).toEqual(expected);
              if (view === null) expect(client.mirror.get(state.symbol)?.seq).toBe(state.seq);
            }
          }
        }
        for (const client of clients) resumed[client.kind] += client.resumedOverSkips;
        void hub.close();
      }),
      { numRuns: 30 },
    );
    // The journal's replay of a view, skipping commits that did not touch it, was exercised.
    expect(resumed.ws).toBeGreaterThan(0);
    expect(resumed.sse).toBeGreaterThan(0);
  });
});
