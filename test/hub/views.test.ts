import { describe, expect, it } from 'vitest';
import { DocumentMirror } from '../../src/client/mirror.js';
import type { PatchMessage, SnapshotMessage } from '../../src/client/types.js';
import type { Hub } from '../../src/hub/hub.js';
import { parseView, type View } from '../../src/model/view.js';
import { parseSseCursor } from '../../src/model/wire.js';
import { Contribution } from '../../src/state/contribution.js';
import type { Store } from '../../src/state/store.js';
import { sseEventEncoding, wsTextEncoding } from '../../src/transports/frames.js';
import { countingEncoding, decodeSseFrame, decodeWsFrame, FakeOutlet, type WireMessage } from './fake-outlet.js';
import { createHub, createStore, EPOCH } from './hub-fixture.js';

const T0 = 1_763_640_000_000;
const view = (...parts: string[]): View => parseView(parts) as View;

/** One symbol fed by a tick file (its quote) and a fields file (`fields`), one commit per call. */
class Feed {
  readonly #ticks = new Contribution('mt5-ticks', 'auto', {});
  readonly #fields = new Contribution('json', 'auto', {});
  #time = T0;
  #n = 0;

  constructor(
    readonly store: Store,
    readonly symbol = 'S',
  ) {
    store.setContribution(symbol, 'S.ticks', this.#ticks);
    store.setContribution(symbol, 'S.json', this.#fields);
  }

  tick(): void {
    this.#time += 1000;
    this.#ticks.applyTick({ time: this.#time, bid: 100 + ++this.#n, ask: 101 + this.#n });
    this.store.commit(this.symbol, null);
  }

  field(value: number): void {
    this.#fields.applyFields({ spread: value });
    this.store.commit(this.symbol, null);
  }
}

function messages(outlet: FakeOutlet): (WireMessage & { base?: number })[] {
  const out = outlet.frames.map((frame) => (outlet.kind === 'sse' ? decodeSseFrame(frame).message : decodeWsFrame(frame)));
  outlet.clear();
  return out;
}

function setup(journalSize = 16): { store: Store; hub: Hub; feed: Feed } {
  const store = createStore({ journalSize });
  const hub = createHub({ store });
  const feed = new Feed(store);
  feed.tick();
  return { store, hub, feed };
}

function wsClient(hub: Hub, parts: View | null, resume?: { epoch: string; seq: number }): FakeOutlet {
  const outlet = new FakeOutlet('ws', wsTextEncoding);
  hub.subscribe(hub.attach(outlet), ['S'], resume ? new Map([['S', resume]]) : undefined, parts);
  return outlet;
}

describe('views (PROTOCOL.md §8) through the hub', () => {
  it('a view gets the snapshot of its parts, then only the commits that touch it, each with the base it applies to', () => {
    const { hub, feed } = setup();
    const fields = wsClient(hub, view('/fields/spread'));
    const whole = wsClient(hub, null);
    expect(messages(fields)).toEqual([
      { type: 'snapshot', symbol: 'S', epoch: EPOCH, seq: 1, data: { symbol: 'S', sources: ['json', 'mt5-ticks'], fields: {} } },
    ]);
    messages(whole);

    feed.field(3); // seq 2
    feed.tick(); // 3
    feed.tick(); // 4
    feed.field(4); // 5
    expect(messages(fields)).toEqual([
      { type: 'patch', symbol: 'S', epoch: EPOCH, seq: 2, base: 1, ops: [{ op: 'add', path: '/fields/spread', value: 3 }] },
      { type: 'patch', symbol: 'S', epoch: EPOCH, seq: 5, base: 2, ops: [{ op: 'replace', path: '/fields/spread', value: 4 }] },
    ]);
    // The whole document: every seq, base seq - 1.
    expect(messages(whole).map(({ seq, base }) => [seq, base])).toEqual([
      [2, 1],
      [3, 2],
      [4, 3],
      [5, 4],
    ]);
  });

  it("a client joining a view gets the view's version as its seq, so the next shared patch follows it", () => {
    const { hub, feed } = setup();
    const first = wsClient(hub, view('/fields'));
    feed.field(1); // 2
    feed.tick(); // 3
    const second = wsClient(hub, view('/fields'));
    const [snapshot] = messages(second);
    expect(snapshot).toMatchObject({ type: 'snapshot', seq: 2, data: { fields: { spread: 1 } } });
    feed.field(2); // 4
    const [a, b] = [messages(first).at(-1), messages(second)[0]];
    expect(b).toEqual(a);
    expect(b).toMatchObject({ seq: 4, base: 2 });
  });

  it('a gap is told from a skip: the SDK applies a patch on its base and refuses one on another', () => {
    const mirror = new DocumentMirror();
    mirror.snapshot({ type: 'snapshot', symbol: 'S', epoch: 'E', seq: 2, data: { symbol: 'S', sources: [], quote: {}, bars: {}, fields: {} } });
    const patch = (seq: number, base: number): PatchMessage => ({ type: 'patch', symbol: 'S', epoch: 'E', seq, base, ops: [] });
    expect(mirror.patch(patch(5, 2)).kind).toBe('applied');
    expect(mirror.patch(patch(9, 7)).kind).toBe('gap');
    expect(mirror.patch(patch(4, 3)).kind).toBe('duplicate');
    expect(mirror.patch({ type: 'patch', symbol: 'S', epoch: 'E', seq: 6, ops: [] }).kind).toBe('applied');
  });

  it('WebSocket resume per view: the missed patches of the view, chained from the resume seq, or a snapshot past the journal', () => {
    const { hub, feed } = setup(4);
    const client = new DocumentMirror();
    const take = (outlet: FakeOutlet): string[] =>
      messages(outlet).map((message) => {
        if (message.type === 'snapshot') client.snapshot(message as unknown as SnapshotMessage);
        else expect(client.patch(message as unknown as PatchMessage).kind).toBe('applied');
        return `${message.type} ${message.seq}${message.base === undefined ? '' : `/${message.base}`}`;
      });
    const parts = view('/fields/spread');
    let outlet = wsClient(hub, parts);
    feed.field(1); // 2
    expect(take(outlet)).toEqual(['snapshot 1', 'patch 2/1']);
    outlet = wsClient(hub, parts, { epoch: EPOCH, seq: 2 });
    expect(take(outlet)).toEqual([]);

    feed.tick(); // 3, unseen by the view
    feed.field(2); // 4
    feed.tick(); // 5
    feed.field(3); // 6
    outlet = wsClient(hub, parts, { epoch: EPOCH, seq: 2 });
    expect(take(outlet)).toEqual(['patch 4/2', 'patch 6/4']);
    expect(client.get('S')?.document.fields).toEqual({ spread: 3 });

    for (let i = 0; i < 5; i++) feed.tick(); // 7..11: the journal (4) no longer reaches 6
    feed.field(4); // 12
    outlet = wsClient(hub, parts, { epoch: EPOCH, seq: 6 });
    expect(take(outlet)).toEqual(['snapshot 12']);
    outlet = wsClient(hub, parts, { epoch: 'other', seq: 12 });
    expect(take(outlet)).toEqual(['snapshot 12']);
  });

  it('SSE resume per view: Last-Event-ID replays the view, skipping commits that did not touch it', () => {
    const { hub, feed } = setup();
    const parts = view('/fields');
    const open = (lastEventId: string | undefined): FakeOutlet => {
      const outlet = new FakeOutlet('sse', sseEventEncoding);
      hub.stream(hub.attach(outlet), ['S'], lastEventId === undefined ? null : parseSseCursor(lastEventId), parts);
      return outlet;
    };
    const ids = (outlet: FakeOutlet): { id: string; seq: number; base?: number; type: string }[] => {
      const events = outlet.frames.map((frame) => decodeSseFrame(frame));
      outlet.clear();
      return events.map(({ id, message }) => ({ id, type: message.type, seq: message.seq, ...('base' in message ? { base: message.base as number } : {}) }));
    };
    const first = open(undefined);
    feed.field(1); // seq 2
    feed.tick(); // 3
    const seen = ids(first);
    expect(seen.map(({ type, seq }) => `${type} ${seq}`)).toEqual(['snapshot 1', 'patch 2']);
    feed.tick(); // 4
    feed.field(2); // 5
    feed.field(3); // 6
    const again = open(seen.at(-1)?.id);
    expect(ids(again).map(({ seq, base }) => [seq, base])).toEqual([
      [5, 2],
      [6, 5],
    ]);
  });

  it('each view of a commit is built once per encoding, shared by all its clients; a commit outside a view builds nothing for it', () => {
    const { hub, feed } = setup();
    const encoding = countingEncoding(wsTextEncoding);
    const outlets = Array.from({ length: 6 }, (_, i) => {
      const outlet = new FakeOutlet('ws', encoding);
      hub.subscribe(hub.attach(outlet), ['S'], undefined, i < 2 ? null : i < 4 ? view('/quote') : view('/fields'));
      return outlet;
    });
    for (const outlet of outlets) outlet.clear();
    const before = encoding.calls;
    feed.tick();
    expect(encoding.calls - before).toBe(2);
    const frames = outlets.map((outlet) => outlet.frames[0]);
    expect(frames[0]).toBe(frames[1]);
    expect(frames[2]).toBe(frames[3]);
    expect(frames[4]).toBeUndefined();
    expect(frames[0]).not.toBe(frames[2]);
    expect(decodeWsFrame(frames[2] as Buffer).ops?.every((op) => (op as { path: string }).path.startsWith('/quote'))).toBe(true);
  });

  it('subscribing again with other parts takes the new view; unsubscribing forgets it', () => {
    const { hub, feed } = setup();
    const outlet = new FakeOutlet('ws', wsTextEncoding);
    const subscriber = hub.attach(outlet);
    hub.subscribe(subscriber, ['S'], undefined, view('/fields'));
    hub.subscribe(subscriber, ['S'], undefined, view('/quote/bid'));
    expect(messages(outlet).map((message) => Object.keys(message.data as object))).toEqual([
      ['symbol', 'sources', 'fields'],
      ['symbol', 'sources', 'quote'],
    ]);
    feed.field(1);
    expect(messages(outlet)).toEqual([]);
    hub.unsubscribe(subscriber, ['S']);
    hub.subscribe(subscriber, ['S']);
    expect(Object.keys(messages(outlet)[0]?.data as object)).toContain('bars');
  });
});

describe('view versions', () => {
  it('versions stay right past the 256 views of a symbol it keeps when no one follows them', () => {
    const { hub, store, feed } = setup();
    const state = store.get('S')!;
    feed.field(1); // 2
    feed.tick(); // 3
    const views = Array.from({ length: 300 }, (_, i) => view(`/fields/f${i}`));
    for (const parts of views) expect(hub.snapshotOf(state, parts).seq).toBe(1);
    expect(hub.snapshotOf(state, view('/fields/spread')).seq).toBe(2);
    feed.tick(); // 4
    expect(hub.snapshotOf(state, view('/fields/spread')).seq).toBe(2);
    expect(hub.snapshotOf(state, view('/quote')).seq).toBe(4);
  });
});
