import { describe, expect, it } from 'vitest';
import type { HubOptions } from '../../src/hub/hub.js';
import { formatSseId } from '../../src/model/wire.js';
import { sseEventEncoding, wsTextEncoding } from '../../src/transports/frames.js';
import { waitFor } from '../helpers/wait.js';
import { decodeSseFrame, decodeWsFrame, FakeOutlet, type OutletEvent } from './fake-outlet.js';
import { ClientCopy, createHub, createStore, EPOCH, hubCounters, logCapture, Market } from './hub-fixture.js';

const LIMITS: Partial<HubOptions> = { highWaterBytes: 1000, lowWaterBytes: 100 };

function setup(options: Partial<HubOptions>) {
  const store = createStore();
  const market = new Market(store);
  const counters = hubCounters();
  const { logger, lines } = logCapture();
  const hub = createHub({ store, counters, logger }, { ...LIMITS, ...options });
  return { store, market, counters, lines, hub };
}

/** `type symbol seq` of a WebSocket outlet's events; notices and closes by their code. */
function wsLog(events: readonly OutletEvent[]): string[] {
  return events.map((event) => {
    if (event.type !== 'frame') return `${event.type} ${event.code}`;
    const message = decodeWsFrame(event.frame);
    return `${message.type} ${message.symbol} ${message.seq}`;
  });
}

describe('Hub slow consumers, policy close', () => {
  it('a client over the high-water mark is closed with SLOW_CONSUMER and counted, while a fast one keeps receiving', () => {
    const { market, counters, lines, hub } = setup({ slowConsumer: 'close' });
    market.tick('EURUSD');
    const fast = new FakeOutlet('ws', wsTextEncoding);
    const slow = new FakeOutlet('ws', wsTextEncoding);
    hub.subscribe(hub.attach(fast), ['EURUSD']);
    hub.subscribe(hub.attach(slow), ['EURUSD']);

    slow.backlogBytes = 1000; // at the mark: not behind yet
    market.tick('EURUSD');
    expect(wsLog(slow.events)).toEqual(['snapshot EURUSD 1', 'patch EURUSD 2']);

    slow.backlogBytes = 1001;
    market.tick('EURUSD');
    expect(wsLog(slow.events).slice(2)).toEqual(['close SLOW_CONSUMER']);
    expect(slow.closed?.message).toBe('more than 1000 bytes were waiting to be sent');
    expect(counters.slowConsumers.closed.value).toBe(1);
    expect(counters.slowConsumers.paused.value).toBe(0);
    expect(hub.connections).toBe(1);
    expect(hub.slowConsumers).toBe(0);
    expect(lines).toEqual([expect.objectContaining({ level: 40, component: 'hub', msg: 'slow consumer closed' })]);

    market.tick('EURUSD', 3);
    expect(slow.writesAfterClose).toBe(0);
    expect(slow.events).toHaveLength(3);
    expect(wsLog(fast.events)).toEqual(['snapshot EURUSD 1', 'patch EURUSD 2', 'patch EURUSD 3', 'patch EURUSD 4', 'patch EURUSD 5', 'patch EURUSD 6']);
    // 2 deliveries at seq 2, then the fast client alone.
    expect(counters.deliveries.ws.value).toBe(2 + 4);
  });

  it('tolerates the backlog its own snapshot burst left, until the client has drained below the low-water mark', () => {
    const { market, counters, hub } = setup({ slowConsumer: 'close' });
    const symbols = Array.from({ length: 12 }, (_, index) => `SYM${index}`);
    for (const symbol of symbols) market.tick(symbol);
    const outlet = new FakeOutlet('ws', wsTextEncoding);
    outlet.holdWrites = true;
    hub.subscribe(hub.attach(outlet), ['*']);
    const burst = outlet.backlogBytes;
    expect(burst).toBeGreaterThan(1000);

    market.tick('SYM0');
    expect(outlet.closed).toBeUndefined();
    expect(wsLog(outlet.events).at(-1)).toBe('patch SYM0 2');

    // Once drained, the burst allowance is gone: the plain high-water mark applies.
    outlet.drain();
    market.tick('SYM1');
    expect(wsLog(outlet.events).at(-1)).toBe('patch SYM1 2');
    outlet.holdWrites = false;
    outlet.backlogBytes = 1001;
    market.tick('SYM2');
    expect(outlet.closed?.code).toBe('SLOW_CONSUMER');
    expect(counters.slowConsumers.closed.value).toBe(1);
  });

  it('applyOptions: new limits apply from the next message', () => {
    const { market, hub } = setup({ slowConsumer: 'close', highWaterBytes: 10_000, lowWaterBytes: 1000 });
    market.tick('EURUSD');
    const outlet = new FakeOutlet('ws', wsTextEncoding);
    hub.subscribe(hub.attach(outlet), ['EURUSD']);
    outlet.backlogBytes = 5000;
    market.tick('EURUSD');
    expect(outlet.closed).toBeUndefined();
    hub.applyOptions({ highWaterBytes: 4000, lowWaterBytes: 1000, slowConsumer: 'close', slowCloseAfterMs: 60_000 });
    market.tick('EURUSD');
    expect(outlet.closed?.message).toBe('more than 4000 bytes were waiting to be sent');
    expect(wsLog(outlet.events)).toEqual(['snapshot EURUSD 1', 'patch EURUSD 2', 'close SLOW_CONSUMER']);
  });
});

describe('Hub slow consumers, policy resnapshot', () => {
  it('pauses a slow client, then tells it SLOW_CONSUMER and sends fresh snapshots once it drains; it converges', async () => {
    const { market, counters, hub } = setup({ slowConsumer: 'resnapshot' });
    market.tick('EURUSD');
    market.tick('USDJPY');
    const fast = new FakeOutlet('ws', wsTextEncoding);
    const slow = new FakeOutlet('ws', wsTextEncoding);
    hub.subscribe(hub.attach(fast), ['EURUSD', 'USDJPY']);
    const subscriber = hub.attach(slow);
    hub.subscribe(subscriber, ['EURUSD']);

    slow.backlogBytes = 5000;
    market.tick('EURUSD', 3);
    expect(hub.slowConsumers).toBe(1);
    expect(counters.slowConsumers.paused.value).toBe(1);
    expect(wsLog(slow.events)).toEqual(['snapshot EURUSD 1']);
    // Subscribing while paused sends nothing now: the snapshots come when it drains.
    hub.subscribe(subscriber, ['USDJPY']);
    market.tick('USDJPY');
    expect(slow.events).toHaveLength(1);
    expect(hub.connections).toBe(2);

    slow.drain();
    await waitFor('the SLOW_CONSUMER notice', () => slow.events.some((event) => event.type === 'notice'));
    expect(wsLog(slow.events)).toEqual(['snapshot EURUSD 1', 'notice SLOW_CONSUMER', 'snapshot EURUSD 4', 'snapshot USDJPY 2']);
    expect(counters.slowConsumers.resnapshot.value).toBe(1);
    expect(hub.slowConsumers).toBe(0);

    market.tick('USDJPY');
    market.tick('EURUSD');
    expect(wsLog(slow.events).slice(4)).toEqual(['patch USDJPY 3', 'patch EURUSD 5']);
    for (const outlet of [fast, slow]) {
      const copy = new ClientCopy();
      for (const frame of outlet.frames) copy.apply(decodeWsFrame(frame));
      expect(copy.problems).toEqual([]);
      expect(copy.differences(market, ['EURUSD', 'USDJPY'])).toEqual([]);
    }
    expect(wsLog(fast.events).filter((line) => line.startsWith('patch'))).toHaveLength(6);
    expect(slow.closed).toBeUndefined();
    await hub.close();
  });

  it('an SSE stream that drains gets the notice, then a snapshot burst whose ids end at the current commit', async () => {
    const { store, market, hub } = setup({ slowConsumer: 'resnapshot' });
    for (const symbol of ['A', 'B', 'C']) market.tick(symbol);
    const outlet = new FakeOutlet('sse', sseEventEncoding);
    hub.stream(hub.attach(outlet), '*', null);
    outlet.clear();
    outlet.backlogBytes = 5000;
    market.tick('A');
    market.tick('B');
    expect(outlet.events).toEqual([]);

    outlet.drain();
    await waitFor('the SLOW_CONSUMER notice', () => outlet.events.some((event) => event.type === 'notice'));
    const [notice, ...burst] = outlet.events;
    expect(notice).toEqual(expect.objectContaining({ type: 'notice', code: 'SLOW_CONSUMER' }));
    const now = store.gseq;
    const described = burst.map((event) => {
      if (event.type !== 'frame') return [event.type];
      const { id, event: name, message } = decodeSseFrame(event.frame);
      return [id, name, message.symbol];
    });
    expect(described).toEqual([
      [formatSseId(EPOCH, now, 0), 'snapshot', 'A'],
      [formatSseId(EPOCH, now, 0), 'snapshot', 'B'],
      [formatSseId(EPOCH, now), 'snapshot', 'C'],
    ]);
    market.tick('C');
    expect(decodeSseFrame(outlet.frames.at(-1) as Buffer).id).toBe(`${EPOCH}:${now + 1}`);
    await hub.close();
  });

  it('a paused client that does not drain within slowCloseAfterMs is closed with SLOW_CONSUMER', async () => {
    const { market, counters, lines, hub } = setup({ slowConsumer: 'resnapshot', slowCloseAfterMs: 0 });
    market.tick('EURUSD');
    const fast = new FakeOutlet('ws', wsTextEncoding);
    const slow = new FakeOutlet('ws', wsTextEncoding);
    hub.subscribe(hub.attach(fast), ['EURUSD']);
    hub.subscribe(hub.attach(slow), ['EURUSD']);
    slow.backlogBytes = 5000;
    market.tick('EURUSD');

    const closed = await waitFor('the close', () => slow.closed);
    expect(closed).toEqual({ type: 'close', code: 'SLOW_CONSUMER', message: 'did not drain within 0 ms' });
    expect(counters.slowConsumers).toEqual(expect.objectContaining({ paused: { value: 1 }, closed: { value: 1 }, resnapshot: { value: 0 } }));
    expect(hub.connections).toBe(1);
    expect(hub.slowConsumers).toBe(0);
    expect(lines.map((line) => line.msg)).toEqual(['slow consumer: patches paused until it drains', 'slow consumer did not drain in time; closed']);
    market.tick('EURUSD');
    expect(slow.writesAfterClose).toBe(0);
    expect(wsLog(fast.events)).toEqual(['snapshot EURUSD 1', 'patch EURUSD 2', 'patch EURUSD 3']);
    await hub.close();
  });

  it('detaching a paused client forgets it', async () => {
    const { market, hub } = setup({ slowConsumer: 'resnapshot' });
    market.tick('EURUSD');
    const slow = new FakeOutlet('ws', wsTextEncoding);
    const subscriber = hub.attach(slow);
    hub.subscribe(subscriber, ['EURUSD']);
    slow.backlogBytes = 5000;
    market.tick('EURUSD');
    expect(hub.slowConsumers).toBe(1);
    hub.detach(subscriber);
    expect(hub.slowConsumers).toBe(0);
    expect(hub.connections).toBe(0);
    await hub.close();
  });
});
