import { describe, expect, it } from 'vitest';
import type { Hub } from '../../src/hub/hub.js';
import { formatSseId, parseSseCursor } from '../../src/model/wire.js';
import { sseEventEncoding } from '../../src/transports/frames.js';
import { decodeSseFrame, FakeOutlet, type SseEvent } from './fake-outlet.js';
import { ClientCopy, createHub, createStore, EPOCH, Market } from './hub-fixture.js';

/** Opens a stream from `lastEventId` (Last-Event-ID) on a fake outlet; nothing is read from it yet. */
function openStream(hub: Hub, symbols: readonly string[] | '*', lastEventId: string | undefined): { outlet: FakeOutlet; close: () => void } {
  const outlet = new FakeOutlet('sse', sseEventEncoding);
  const subscriber = hub.attach(outlet);
  hub.stream(subscriber, symbols, lastEventId === undefined ? null : parseSseCursor(lastEventId));
  return { outlet, close: () => hub.detach(subscriber) };
}

function eventsOf(outlet: FakeOutlet): SseEvent[] {
  return outlet.frames.map((frame) => decodeSseFrame(frame));
}

/** An EventSource's view: the documents, and the id of the last event read (what it resumes with). */
class Reader {
  readonly copy = new ClientCopy();
  lastEventId: string | undefined;

  read(events: readonly SseEvent[]): void {
    for (const { id, event, message } of events) {
      expect(event).toBe(message.type);
      this.copy.apply(message);
      this.lastEventId = id;
    }
  }
}

type Phase = (market: Market) => void;

function ticks(...symbols: string[]): Phase {
  return (market) => symbols.forEach((symbol) => market.tick(symbol));
}

/**
 * What happens to the store in each phase of a client's life. A is busy while the client is
 * away, past what its journal (4 patches) holds; D, E and F are created on the way.
 */
const LIFE = {
  firstStream: ticks('B', 'A', 'C', 'D', 'A'),
  away: ticks('A', 'A', 'A', 'A', 'A', 'B', 'E', 'D'),
  secondStream: ticks('C', 'E', 'B', 'A'),
  awayAgain: ticks('A', 'D', 'D', 'F', 'C'),
};

function startScenario() {
  const store = createStore({ journalSize: 4 });
  const market = new Market(store);
  const hub = createHub({ store });
  for (const symbol of ['A', 'B', 'C']) market.tick(symbol);
  return { store, market, hub };
}

/**
 * A client that reads the first `cuts[0]` events of its first stream and `cuts[1]` of its
 * second (the rest never reaches it), then resumes a third time and reads everything: what
 * it holds at the end, and what each stream sent.
 */
function lifeOfAClient(symbols: readonly string[] | '*', cuts: readonly [number, number]) {
  const { store, market, hub } = startScenario();
  const reader = new Reader();
  const streams: SseEvent[][] = [];
  const session = (live: Phase | null, cut: number | undefined): void => {
    const stream = openStream(hub, symbols, reader.lastEventId);
    live?.(market);
    stream.close();
    const events = eventsOf(stream.outlet);
    streams.push(events);
    reader.read(events.slice(0, cut));
  };
  session(LIFE.firstStream, cuts[0]);
  LIFE.away(market);
  session(LIFE.secondStream, cuts[1]);
  LIFE.awayAgain(market);
  session(null, undefined);
  const subscribed = symbols === '*' ? [...store.symbols()].map((state) => state.symbol) : symbols.filter((symbol) => store.get(symbol));
  return { market, reader, streams, subscribed };
}

describe('Hub SSE cursors (Last-Event-ID)', () => {
  it('a burst of commits between reads arrives in commit order, each event one gseq after the last', () => {
    const { store, market, hub } = startScenario();
    const { outlet } = openStream(hub, '*', undefined);
    const start = store.gseq;
    for (let i = 0; i < 200; i++) market.tick(['A', 'B', 'C', 'D', 'E'][(i * 7) % 5] as string);
    const events = eventsOf(outlet);
    expect(events.slice(0, 3).map((event) => event.id)).toEqual([formatSseId(EPOCH, start, 0), formatSseId(EPOCH, start, 0), formatSseId(EPOCH, start)]);
    const live = events.slice(3);
    expect(live.map((event) => event.id)).toEqual(Array.from({ length: 200 }, (_, i) => `${EPOCH}:${start + 1 + i}`));
    const reader = new Reader();
    reader.read(events);
    expect(reader.copy.problems).toEqual([]);
    expect(reader.copy.snapshots).toBe(5); // A, B, C at first, D and E as they appeared
    expect(reader.copy.differences(market, ['A', 'B', 'C', 'D', 'E'])).toEqual([]);
  });

  it('a client that read everything resumes with exactly the patches it missed, then snapshots of new symbols, ids carrying the base', () => {
    const { store, market, hub } = startScenario();
    const first = openStream(hub, '*', undefined);
    LIFE.firstStream(market);
    first.close();
    const reader = new Reader();
    reader.read(eventsOf(first.outlet));
    const cursor = parseSseCursor(reader.lastEventId ?? '');
    expect(cursor).toEqual({ epoch: EPOCH, gseq: store.gseq, base: store.gseq });
    const base = store.gseq;
    ['B', 'C', 'G', 'B'].forEach((symbol) => market.tick(symbol));

    const second = openStream(hub, '*', reader.lastEventId);
    const events = eventsOf(second.outlet);
    expect(events.map(({ id, message }) => `${id} ${message.type} ${message.symbol} ${message.seq}`)).toEqual([
      `${EPOCH}:${base + 1}:${base} patch B 3`,
      `${EPOCH}:${base + 2}:${base} patch C 3`,
      `${EPOCH}:${base + 4}:${base} patch B 4`,
      `${EPOCH}:${base + 4} snapshot G 1`,
    ]);
    reader.read(events);
    expect(reader.copy.problems).toEqual([]);
    expect(reader.copy.differences(market, ['A', 'B', 'C', 'D', 'G'])).toEqual([]);

    // Nothing missed: nothing sent.
    const third = openStream(hub, '*', reader.lastEventId);
    expect(third.outlet.events).toEqual([]);
  });

  it('a client whose symbol passed its journal while away gets that one as a snapshot, the others replayed', () => {
    const { market, hub } = startScenario();
    const first = openStream(hub, ['A', 'B'], undefined);
    first.close();
    const reader = new Reader();
    reader.read(eventsOf(first.outlet));
    market.tick('A', 6);
    market.tick('B');
    const second = openStream(hub, ['A', 'B'], reader.lastEventId);
    const events = eventsOf(second.outlet);
    expect(events.map(({ message }) => `${message.type} ${message.symbol} ${message.seq}`)).toEqual(['patch B 2', 'snapshot A 7']);
    reader.read(events);
    expect(reader.copy.problems).toEqual([]);
    expect(reader.copy.differences(market, ['A', 'B'])).toEqual([]);
  });

  for (const symbols of ['*', ['A', 'C', 'D', 'F']] as const) {
    it(`cut off after any event of two streams (${symbols === '*' ? '*' : symbols.join(',')}), a client resumes with no loss and no duplicate`, () => {
      const firstLength = lifeOfAClient(symbols, [0, 0]).streams[0]?.length ?? 0;
      expect(firstLength).toBeGreaterThan(4);
      let lives = 0;
      for (let first = 0; first <= firstLength; first++) {
        const secondLength = lifeOfAClient(symbols, [first, 0]).streams[1]?.length ?? 0;
        for (let second = 0; second <= secondLength; second++) {
          const { market, reader, streams, subscribed } = lifeOfAClient(symbols, [first, second]);
          const where = `cut after ${first} then ${second} events`;
          expect(reader.copy.problems, where).toEqual([]);
          expect(reader.copy.differences(market, subscribed), where).toEqual([]);
          for (const events of streams) {
            const positions = events.map((event) => parseSseCursor(event.id));
            expect(positions.every((position) => position?.epoch === EPOCH)).toBe(true);
            const gseqs = positions.map((position) => position?.gseq ?? -1);
            expect(gseqs, where).toEqual([...gseqs].sort((a, b) => a - b));
          }
          lives++;
        }
      }
      expect(lives).toBeGreaterThan(firstLength);
    });
  }

  it('a cursor of another epoch, or an id that is not a cursor, starts over with snapshots', () => {
    const { market, hub } = startScenario();
    market.tick('A');
    expect(parseSseCursor('not-a-cursor')).toBeNull();
    for (const lastEventId of [formatSseId('other', 3), 'not-a-cursor']) {
      const { outlet } = openStream(hub, '*', lastEventId);
      expect(eventsOf(outlet).map(({ message }) => `${message.type} ${message.symbol}`)).toEqual(['snapshot A', 'snapshot B', 'snapshot C']);
    }
  });
});
