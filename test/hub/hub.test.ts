import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { sseEventEncoding, wsTextEncoding } from '../../src/transports/frames.js';
import { countingEncoding, decodeMessageFrame, decodeSseFrame, decodeWsFrame, FakeOutlet, messageEncoding } from './fake-outlet.js';
import { createHub, createStore, EPOCH, hubCounters, Market } from './hub-fixture.js';

function setup() {
  const store = createStore();
  const market = new Market(store);
  const counters = hubCounters();
  const hub = createHub({ store, counters });
  return { store, market, counters, hub };
}

describe('Hub fan-out', () => {
  it('a commit reaches every subscriber of the symbol and no other', () => {
    const { market, hub } = setup();
    market.tick('EURUSD');
    market.tick('USDJPY');
    const eur = [new FakeOutlet('ws', wsTextEncoding), new FakeOutlet('ws', wsTextEncoding)];
    const jpy = new FakeOutlet('ws', wsTextEncoding);
    const none = new FakeOutlet('ws', wsTextEncoding);
    for (const outlet of eur) hub.subscribe(hub.attach(outlet), ['EURUSD']);
    hub.subscribe(hub.attach(jpy), ['USDJPY']);
    hub.attach(none);
    for (const outlet of [...eur, jpy]) outlet.clear();

    market.tick('EURUSD');
    for (const outlet of eur) {
      expect(outlet.frames.map((frame) => decodeWsFrame(frame))).toEqual([expect.objectContaining({ type: 'patch', symbol: 'EURUSD', seq: 2 })]);
    }
    expect(jpy.events).toEqual([]);
    expect(none.events).toEqual([]);

    market.tick('USDJPY');
    expect(jpy.frames.map((frame) => decodeWsFrame(frame).symbol)).toEqual(['USDJPY']);
    expect(eur[0]?.frames).toHaveLength(1);
  });

  it('builds one frame per encoding per commit and writes the same Buffer to every outlet of that encoding, whatever its kind', () => {
    const { market, hub, counters } = setup();
    market.tick('EURUSD');
    const ws = countingEncoding(wsTextEncoding);
    const sse = countingEncoding(sseEventEncoding);
    const plain = countingEncoding(messageEncoding);
    // The kind is only what the outlet is counted as; the encoding alone decides the bytes.
    const wsOutlets = [new FakeOutlet('ws', ws), new FakeOutlet('ws', ws), new FakeOutlet('sse', ws)];
    const sseOutlets = [new FakeOutlet('sse', sse), new FakeOutlet('sse', sse)];
    const plainOutlets = [new FakeOutlet('ws', plain), new FakeOutlet('sse', plain)];
    for (const outlet of [...wsOutlets, ...plainOutlets]) hub.subscribe(hub.attach(outlet), ['EURUSD']);
    for (const outlet of sseOutlets) hub.stream(hub.attach(outlet), ['EURUSD'], null);
    const before = { ws: ws.calls, sse: sse.calls, plain: plain.calls };
    for (const outlet of [...wsOutlets, ...sseOutlets, ...plainOutlets]) outlet.clear();

    market.tick('EURUSD');
    expect({ ws: ws.calls - before.ws, sse: sse.calls - before.sse, plain: plain.calls - before.plain }).toEqual({ ws: 1, sse: 1, plain: 1 });
    const [wsFrame] = wsOutlets[0]?.frames ?? [];
    const [sseFrame] = sseOutlets[0]?.frames ?? [];
    const [plainFrame] = plainOutlets[0]?.frames ?? [];
    for (const outlet of wsOutlets) expect(outlet.frames).toHaveLength(1);
    for (const outlet of wsOutlets) expect(outlet.frames[0]).toBe(wsFrame);
    for (const outlet of sseOutlets) expect(outlet.frames[0]).toBe(sseFrame);
    for (const outlet of plainOutlets) expect(outlet.frames[0]).toBe(plainFrame);
    expect(wsFrame).not.toBe(sseFrame);

    // The same message in each encoding.
    const state = market.store.get('EURUSD');
    const patch = state?.journal.since(1)?.[0];
    expect(decodeWsFrame(wsFrame as Buffer)).toEqual(JSON.parse(patch?.messageJson ?? 'null'));
    expect(decodeSseFrame(sseFrame as Buffer)).toEqual({ id: `${EPOCH}:${state?.gseq}`, event: 'patch', message: decodeWsFrame(wsFrame as Buffer) });
    expect(decodeMessageFrame(plainFrame as Buffer)).toEqual({ json: patch?.messageJson, event: 'patch', epoch: EPOCH, gseq: state?.gseq, base: state?.gseq });

    // Counted by kind, not by encoding: three outlets say ws, four say sse.
    expect(counters.deliveries.ws.value).toBe(3);
    expect(counters.deliveries.sse.value).toBe(4);
    expect(hub.clients()).toEqual({ ws: 3, sse: 4 });
  });

  it('a subscriber gets a snapshot of an existing symbol first; one of a symbol yet to come gets it when the symbol appears', () => {
    const { market, hub } = setup();
    market.tick('EURUSD', 3);
    const outlet = new FakeOutlet('ws', wsTextEncoding);
    const subscriber = hub.attach(outlet);
    hub.subscribe(subscriber, ['EURUSD', 'GBPUSD']);
    expect(outlet.frames.map((frame) => decodeWsFrame(frame))).toEqual([
      { type: 'snapshot', symbol: 'EURUSD', epoch: EPOCH, seq: 3, data: market.current('EURUSD').document },
    ]);

    market.tick('GBPUSD');
    market.tick('GBPUSD');
    market.tick('EURUSD');
    expect(outlet.frames.slice(1).map((frame) => decodeWsFrame(frame))).toEqual([
      expect.objectContaining({ type: 'snapshot', symbol: 'GBPUSD', seq: 1 }),
      expect.objectContaining({ type: 'patch', symbol: 'GBPUSD', seq: 2 }),
      expect.objectContaining({ type: 'patch', symbol: 'EURUSD', seq: 4 }),
    ]);
  });

  it('serialises a snapshot once per version and encoding, however many clients ask for it', () => {
    const { market, hub } = setup();
    market.tick('EURUSD');
    const ws = countingEncoding(wsTextEncoding);
    const first = [new FakeOutlet('ws', ws), new FakeOutlet('ws', ws)];
    for (const outlet of first) hub.subscribe(hub.attach(outlet), ['EURUSD']);
    expect(ws.calls).toBe(1);
    expect(first[1]?.frames[0]).toBe(first[0]?.frames[0]);

    market.tick('EURUSD');
    const later = new FakeOutlet('ws', ws);
    hub.subscribe(hub.attach(later), ['EURUSD']);
    expect(later.frames[0]).not.toBe(first[0]?.frames[0]);
    expect(decodeWsFrame(later.frames[0] as Buffer)).toEqual(expect.objectContaining({ type: 'snapshot', seq: 2 }));
  });

  it('a commit nobody subscribed to builds no frame, and counts no delivery', () => {
    const { market, hub, counters } = setup();
    const ws = countingEncoding(wsTextEncoding);
    const outlet = new FakeOutlet('ws', ws);
    hub.subscribe(hub.attach(outlet), ['EURUSD']);
    market.tick('USDJPY', 3);
    expect(ws.calls).toBe(0);
    expect(outlet.events).toEqual([]);
    expect(counters.deliveries.ws.value).toBe(0);
  });
});

describe('Hub unsubscribe, detach and close', () => {
  it('unsubscribe stops that symbol only; subscribing again starts with a snapshot', () => {
    const { market, hub } = setup();
    market.tick('EURUSD');
    market.tick('USDJPY');
    const outlet = new FakeOutlet('ws', wsTextEncoding);
    const subscriber = hub.attach(outlet);
    hub.subscribe(subscriber, ['EURUSD', 'USDJPY']);
    hub.unsubscribe(subscriber, ['EURUSD']);
    outlet.clear();

    market.tick('EURUSD');
    market.tick('USDJPY');
    expect(outlet.frames.map((frame) => decodeWsFrame(frame).symbol)).toEqual(['USDJPY']);

    hub.subscribe(subscriber, ['EURUSD']);
    expect(decodeWsFrame(outlet.frames.at(-1) as Buffer)).toEqual(expect.objectContaining({ type: 'snapshot', symbol: 'EURUSD', seq: 2 }));
  });

  it('detach stops every delivery and leaves nothing registered (no frame is even built)', () => {
    const { market, hub, counters } = setup();
    market.tick('EURUSD');
    const ws = countingEncoding(wsTextEncoding);
    const sse = countingEncoding(sseEventEncoding);
    const named = new FakeOutlet('ws', ws);
    const wildcard = new FakeOutlet('ws', ws);
    const stream = new FakeOutlet('sse', sse);
    const subscribers = [hub.attach(named), hub.attach(wildcard), hub.attach(stream)] as const;
    hub.subscribe(subscribers[0], ['EURUSD', 'LATER']);
    hub.subscribe(subscribers[1], ['*']);
    hub.stream(subscribers[2], '*', null);
    expect(hub.connections).toBe(3);
    named.backlogBytes = 7;
    stream.backlogBytes = 5;
    expect(hub.backlogBytes()).toBe(12);

    for (const subscriber of subscribers) hub.detach(subscriber);
    hub.detach(subscribers[0]); // a second detach is harmless
    expect(hub.connections).toBe(0);
    expect(hub.clients()).toEqual({ ws: 0, sse: 0 });
    expect(hub.backlogBytes()).toBe(0);
    const calls = ws.calls + sse.calls;
    const delivered = counters.deliveries.ws.value + counters.deliveries.sse.value;
    for (const outlet of [named, wildcard, stream]) outlet.clear();

    market.tick('EURUSD');
    market.tick('LATER');
    expect(ws.calls + sse.calls).toBe(calls);
    expect(counters.deliveries.ws.value + counters.deliveries.sse.value).toBe(delivered);
    for (const outlet of [named, wildcard, stream]) expect(outlet.events).toEqual([]);
  });

  it('close() is memoised, stops listening to the store, drops every subscriber and wakes long polls', async () => {
    const { market, hub } = setup();
    market.tick('EURUSD');
    const ws = countingEncoding(wsTextEncoding);
    const outlet = new FakeOutlet('ws', ws);
    hub.subscribe(hub.attach(outlet), ['*']);
    const calls = ws.calls;
    let woken = false;
    const poll = hub.waitForCommit('EURUSD', 600_000).then(() => (woken = true));

    const closing = hub.close();
    expect(hub.close()).toBe(closing);
    await closing;
    await poll;
    expect(woken).toBe(true);
    expect(hub.connections).toBe(0);

    market.tick('EURUSD');
    market.tick('NEW');
    expect(ws.calls).toBe(calls);
    expect(outlet.frames).toHaveLength(1); // the snapshot before close, nothing after
  });

  it('measures write-to-send and read-to-send of timed commits, subscribed or not, and nothing once closed', async () => {
    const { market, hub, counters } = setup();
    market.tick('EURUSD', 1, { writtenAt: Date.now() - 5000, readAt: performance.now() - 2000 });
    market.tick('EURUSD');
    expect(counters.writeToSend.summary()).toEqual(expect.objectContaining({ count: 1, max: expect.toSatisfy((ms: number) => ms >= 5000) }));
    expect(counters.readToSend.summary()).toEqual(expect.objectContaining({ count: 1, max: expect.toSatisfy((ms: number) => ms >= 2000) }));

    await hub.close();
    market.tick('EURUSD', 1, { writtenAt: Date.now(), readAt: performance.now() });
    expect(counters.writeToSend.summary()?.count).toBe(1);
    expect(counters.readToSend.summary()?.count).toBe(1);
  });

  it('a long poll that starts after close() resolves at once (no timer outlives the hub)', async () => {
    const { market, hub } = setup();
    market.tick('EURUSD');
    await hub.close();
    let woken = false;
    void hub.waitForCommit('EURUSD', 600_000).then(() => (woken = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(woken).toBe(true);
  });

  it('waitForCommit resolves at the next commit of its symbol, not of another', async () => {
    const { market, hub } = setup();
    market.tick('EURUSD');
    let woken = false;
    const poll = hub.waitForCommit('EURUSD', 600_000).then(() => (woken = true));
    market.tick('USDJPY');
    await new Promise((resolve) => setImmediate(resolve));
    expect(woken).toBe(false);
    market.tick('EURUSD');
    await poll;
    expect(woken).toBe(true);
    await hub.close();
  });
});
