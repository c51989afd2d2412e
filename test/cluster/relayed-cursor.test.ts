import fc from 'fast-check';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { CursorLog } from '../../src/cluster/cursor-log.js';
import { clusterCounters } from '../../src/cluster/counters.js';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { createLogger } from '../../src/core/logger.js';
import type { Hub } from '../../src/hub/hub.js';
import type { InstrumentDocument } from '../../src/model/document.js';
import type { PatchOperation } from '../../src/model/patch.js';
import { parseView, restrictDocument, type View } from '../../src/model/view.js';
import { parseRelayedCursor, parseSseCursor, type RelayedResume } from '../../src/model/wire.js';
import type { Store } from '../../src/state/store.js';
import { sseEventEncoding } from '../../src/transports/frames.js';
import { redisForTests } from '../helpers/redis-server.js';
import { decodeSseFrame, FakeOutlet, type SseEvent } from '../hub/fake-outlet.js';
import { ClientCopy, createHub, createStore, EPOCH, logCapture, Market } from '../hub/hub-fixture.js';

/**
 * SSE cursors across edge nodes (model/wire.ts RelayedCursor): edges follow the same versions
 * in different orders, each logging its own commit order to a real Redis, and a client that
 * moves between them, cut off anywhere (in the middle of a catch-up too), holds every version
 * exactly once, with no snapshot of a symbol it held.
 */

const local = redisForTests();
let prefixes = 0;

const SYMBOLS: readonly string[] = ['A', 'B', 'C', 'D'];
const LIMITS = { maxBytes: 1 << 20, maxEntries: 10_000 };

/** A version as the ingest published it. */
interface Version {
  symbol: string;
  seq: number;
  ops: readonly PatchOperation[] | null;
  document: InstrumentDocument;
}

/** An edge node: a mirror store, its hub, its cursor log, and how far it applied each symbol. */
class Edge {
  readonly store: Store = createStore({ mirror: true, journalSize: 1000 });
  readonly hub: Hub;
  readonly log: CursorLog;
  readonly applied = new Map<string, number>();

  constructor(
    keys: ClusterKeys,
    readonly scope: string,
    logger = createLogger('silent'),
    readonly counted = clusterCounters(),
  ) {
    this.hub = createHub({ store: this.store, cursorScope: scope });
    this.log = new CursorLog(local.redis, keys, this.store, logger, { scope, limits: LIMITS, maxSymbols: 100 }, counted);
  }

  /** Applies the next version of `symbol` it has not applied (none when it is up to date). */
  applyNext(published: readonly Version[], symbol: string): void {
    const done = this.applied.get(symbol) ?? 0;
    const version = published.filter((candidate) => candidate.symbol === symbol)[done];
    if (!version) return;
    this.store.applyRemote(symbol, version.seq, version.ops ? { ops: version.ops, document: version.document } : { document: version.document });
    this.applied.set(symbol, done + 1);
  }

  catchUp(published: readonly Version[]): void {
    for (const symbol of SYMBOLS)
      while ((this.applied.get(symbol) ?? 0) < published.filter((version) => version.symbol === symbol).length) this.applyNext(published, symbol);
  }

  /** Once the turn's log was written: the flush runs at setImmediate, and a later reply on the same connection follows its replies. */
  async logged(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    await local.redis.ping();
  }

  close(): void {
    this.log.close();
    void this.hub.close();
  }
}

/** The ingest: a store fed by a Market, every version it makes recorded as published. */
function ingest(): { market: Market; published: Version[] } {
  const store = createStore();
  const published: Version[] = [];
  store.onCommit(({ state, ops }) => published.push({ symbol: state.symbol, seq: state.seq, ops, document: structuredClone(state.document) }));
  return { market: new Market(store), published };
}

/** A client's stream on one edge, opened from its cursor as SseEndpoint opens it. */
async function openOn(
  edge: Edge,
  lastEventId: string | undefined,
  view: View | null,
): Promise<{ outlet: FakeOutlet; resume: RelayedResume | null; close: () => void }> {
  const outlet = new FakeOutlet('sse', sseEventEncoding);
  const subscriber = edge.hub.attach(outlet);
  const cursor = lastEventId === undefined ? null : parseSseCursor(lastEventId);
  const native = lastEventId === undefined || (cursor !== null && edge.hub.ownsCursor(cursor));
  const resume = native ? null : await edge.log.resolve(lastEventId);
  edge.hub.stream(subscriber, '*', native ? cursor : resume, view);
  return { outlet, resume, close: () => edge.hub.detach(subscriber) };
}

/** Whole documents; a view every commit changes; one no commit changes (its version stays the symbol's first). */
const VIEWS: (View | null)[] = [null, parseView(['/quote/bid']) as View, parseView(['/fields']) as View];

type Step = { kind: 'tick'; symbol: number } | { kind: 'apply'; edge: number; symbol: number } | { kind: 'move'; to: number; read: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('tick' as const), symbol: fc.nat(SYMBOLS.length - 1) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('apply' as const), edge: fc.nat(2), symbol: fc.nat(SYMBOLS.length - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('move' as const), to: fc.nat(2), read: fc.nat(8) }) },
);

describe('SSE cursors across edges', () => {
  it('a client moving between edges, cut off anywhere, holds every version once and what the ingest holds, with no snapshot of what it held', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 60 }), fc.constantFrom(...VIEWS), async (steps, view) => {
        const keys = new ClusterKeys(`r${++prefixes}`);
        const { market, published } = ingest();
        const edges = [0, 1, 2].map((index) => new Edge(keys, `edge-${index}.00000${index}`));
        try {
          for (const symbol of SYMBOLS.slice(0, 2)) market.tick(symbol);
          edges[0]?.catchUp(published);
          const copy = new ClientCopy();
          let lastEventId: string | undefined;
          let at = edges[0] as Edge;
          let stream = await openOn(at, undefined, view);
          let read = 0;
          const readEvents = (count: number): void => {
            const events: SseEvent[] = stream.outlet.frames.slice(read, read + count).map((frame) => decodeSseFrame(frame));
            read += events.length;
            for (const { id, message } of events) {
              copy.apply(message);
              lastEventId = id;
            }
          };
          for (const next of steps) {
            if (next.kind === 'tick') market.tick(SYMBOLS[next.symbol] as string);
            else if (next.kind === 'apply') edges[next.edge]?.applyNext(published, SYMBOLS[next.symbol] as string);
            else {
              readEvents(next.read);
              stream.close();
              const to = edges[next.to] as Edge;
              // The edge it moves to holds at least what it held: a node behind the client is SseEndpoint's wait, not this test's.
              to.catchUp(published);
              await Promise.all(edges.map((edge) => edge.logged()));
              const heldBefore = new Set(SYMBOLS.filter((symbol) => copy.mirror.get(symbol)));
              stream = await openOn(to, lastEventId, view);
              read = 0;
              at = to;
              // A cursor taken in the middle of a burst of snapshots (with a base) is not relayed: the burst starts again.
              const relayed = lastEventId === undefined ? null : parseRelayedCursor(lastEventId);
              if (relayed !== null && !to.hub.ownsCursor(parseSseCursor(lastEventId as string) ?? { epoch: '', gseq: 0, base: 0 })) {
                expect(stream.resume, `cursor ${lastEventId} resolved on ${to.scope}`).not.toBeNull();
                const snapshots = stream.outlet.frames.map((frame) => decodeSseFrame(frame).message).filter((message) => message.type === 'snapshot');
                for (const snapshot of snapshots) expect(stream.resume?.held.has(snapshot.symbol), `snapshot of ${snapshot.symbol}`).toBe(false);
                for (const symbol of stream.resume?.held.keys() ?? []) expect(heldBefore.has(symbol)).toBe(true);
              }
            }
            expect(copy.problems).toEqual([]);
          }
          at.catchUp(published);
          readEvents(Number.POSITIVE_INFINITY);
          expect(copy.problems).toEqual([]);
          for (const state of at.store.symbols()) {
            const whole = JSON.parse(state.documentJson()) as object;
            expect(copy.mirror.get(state.symbol)?.document, state.symbol).toEqual(view === null ? whole : restrictDocument(whole, view));
            if (view === null) expect(copy.mirror.get(state.symbol)?.seq, state.symbol).toBe(state.seq);
          }
          expect(edges.map((edge) => edge.counted.badData.value)).toEqual([0, 0, 0]);
        } finally {
          for (const edge of edges) edge.close();
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});

describe('an edge process’s commit log in Redis', () => {
  it('positions in a hole (commits made while Redis was unreachable) resolve to nothing, but for the last, which the next checkpoint holds; those around it resolve exactly', async () => {
    const keys = new ClusterKeys(`r${++prefixes}`);
    const { market, published } = ingest();
    const connection = new Redis(local.url);
    await connection.ping();
    const store = createStore({ mirror: true, journalSize: 1000 });
    const log = new CursorLog(connection, keys, store, createLogger('silent'), { scope: 'edge-h.00000a', limits: LIMITS, maxSymbols: 100 }, clusterCounters());
    const reader = new CursorLog(
      local.redis,
      keys,
      createStore({ mirror: true }),
      createLogger('silent'),
      { scope: 'edge-r.00000b', limits: LIMITS, maxSymbols: 100 },
      clusterCounters(),
    );
    const follow = (): void => {
      const version = published.at(-1) as Version;
      store.applyRemote(version.symbol, version.seq, version.ops ? { ops: version.ops, document: version.document } : { document: version.document });
    };
    const turn = async (): Promise<void> => {
      await new Promise((resolve) => setImmediate(resolve));
      await connection.ping().catch(() => undefined);
    };
    const heldAt = async (gseq: number): Promise<Record<string, number> | null> => {
      const resume = await reader.resolve(`${EPOCH}.edge-h.00000a:${gseq}`);
      return resume && Object.fromEntries(resume.held);
    };
    try {
      for (const symbol of ['A', 'B', 'A']) {
        market.tick(symbol);
        follow();
      }
      await turn();
      expect(await heldAt(2)).toEqual({ A: 1, B: 1 });
      expect(await heldAt(3)).toEqual({ A: 2, B: 1 });
      expect(await heldAt(4)).toBeNull(); // not made yet

      connection.disconnect();
      for (const symbol of ['B', 'B']) {
        market.tick(symbol);
        follow();
      }
      await turn();
      await connection.connect();
      for (const symbol of ['A', 'C']) {
        market.tick(symbol);
        follow();
      }
      await turn();
      expect(await heldAt(3)).toEqual({ A: 2, B: 1 });
      expect(await heldAt(4)).toBeNull();
      // The checkpoint the steps after the hole start from: what the process held at the last commit it could not log.
      expect(await heldAt(5)).toEqual({ A: 2, B: 3 });
      expect(await heldAt(6)).toEqual({ A: 3, B: 3 });
      expect(await heldAt(7)).toEqual({ A: 3, B: 3, C: 1 });
    } finally {
      log.close();
      reader.close();
      await connection.quit();
    }
  });

  it('an entry that is not of this layout is bad data, reported with its key; the cursor resolves to nothing', async () => {
    const keys = new ClusterKeys(`r${++prefixes}`);
    const scope = `${EPOCH}.edge-x.00000c`;
    await local.redis.xadd(keys.cursorCheckpoints(scope), '0-1', 'v', '{}');
    await local.redis.xadd(keys.cursorOrder(scope), '2-0', 'r', '[1,"A",1,"not a seq"]');
    const capture = logCapture();
    const counted = clusterCounters();
    const reader = new CursorLog(
      local.redis,
      keys,
      createStore({ mirror: true }),
      capture.logger,
      { scope: 'edge-r.00000d', limits: LIMITS, maxSymbols: 100 },
      counted,
    );
    try {
      expect(await reader.resolve(`${scope}:2`)).toBeNull();
      expect(counted.badData.value).toBe(1);
      expect(counted.cursorsUnresolved.value).toBe(1);
      expect(capture.lines.map((line) => line.msg)).toEqual(['bad data in redis; skipped']);
      expect(JSON.stringify(capture.lines)).toContain(`${keys.cursorOrder(scope)} 2-0`);
      // Not an edge cursor at all: nothing is read.
      expect(await reader.resolve(`${EPOCH}:2`)).toBeNull();
      expect(counted.badData.value).toBe(1);
    } finally {
      reader.close();
    }
  });
});
