import { describe, expect, it } from 'vitest';
import { SymbolPatterns } from '../../src/transports/auth.js';
import { sseEventEncoding, wsTextEncoding } from '../../src/transports/frames.js';
import { decodeSseFrame, decodeWsFrame, FakeOutlet } from './fake-outlet.js';
import { createHub, createStore, Market } from './hub-fixture.js';

function setup() {
  const store = createStore();
  const market = new Market(store);
  const hub = createHub({ store });
  return { store, market, hub };
}

/** `type symbol seq` of each WebSocket frame, for readable comparisons. */
function wsLog(outlet: FakeOutlet): string[] {
  return outlet.frames.map((frame) => {
    const message = decodeWsFrame(frame);
    return `${message.type} ${message.symbol} ${message.seq}`;
  });
}

describe('Hub wildcard subscriptions', () => {
  it('`*` gets a snapshot of every symbol, then every commit, of symbols created later too', () => {
    const { market, hub } = setup();
    market.tick('EURUSD', 2);
    market.tick('USDJPY');
    const outlet = new FakeOutlet('ws', wsTextEncoding);
    hub.subscribe(hub.attach(outlet), ['*']);
    market.tick('XAUUSD');
    market.tick('USDJPY');
    market.tick('XAUUSD');
    expect(wsLog(outlet)).toEqual(['snapshot EURUSD 2', 'snapshot USDJPY 1', 'snapshot XAUUSD 1', 'patch USDJPY 2', 'patch XAUUSD 2']);
  });

  it('`*` under a token allow list gets exactly the symbols the list allows, of those created later too', () => {
    const { market, hub } = setup();
    market.tick('EURUSD');
    market.tick('USDJPY');
    const allowed = new SymbolPatterns(['EUR*', 'XAU???']);
    const ws = new FakeOutlet('ws', wsTextEncoding);
    const sse = new FakeOutlet('sse', sseEventEncoding);
    hub.subscribe(hub.attach(ws, allowed), ['*']);
    hub.stream(hub.attach(sse, allowed), '*', null);
    for (const symbol of ['EURGBP', 'USDCHF', 'XAUUSD', 'XAUUSDX', 'EURUSD', 'USDJPY', 'EURGBP']) market.tick(symbol);

    expect(wsLog(ws)).toEqual(['snapshot EURUSD 1', 'snapshot EURGBP 1', 'snapshot XAUUSD 1', 'patch EURUSD 2', 'patch EURGBP 2']);
    const sseLog = sse.frames.map((frame) => decodeSseFrame(frame).message).map((message) => `${message.type} ${message.symbol} ${message.seq}`);
    expect(sseLog).toEqual(wsLog(ws));
  });

  it('a symbol named as well as matched by `*` comes once per commit; unsubscribing `*` keeps the named one', () => {
    const { market, hub } = setup();
    market.tick('EURUSD');
    market.tick('USDJPY');
    const outlet = new FakeOutlet('ws', wsTextEncoding);
    const subscriber = hub.attach(outlet, new SymbolPatterns(['EUR*', 'USD*']));
    hub.subscribe(subscriber, ['EURUSD', '*']);
    expect(wsLog(outlet)).toEqual(['snapshot EURUSD 1', 'snapshot USDJPY 1']);
    market.tick('EURUSD');
    expect(wsLog(outlet).slice(2)).toEqual(['patch EURUSD 2']);

    hub.unsubscribe(subscriber, ['*']);
    market.tick('USDJPY');
    market.tick('EURUSD');
    market.tick('USDCAD');
    expect(wsLog(outlet).slice(3)).toEqual(['patch EURUSD 3']);
  });

  it('refilter: named symbols the new list refuses are unsubscribed and returned; the others go on', () => {
    const { market, hub } = setup();
    for (const symbol of ['EURUSD', 'USDJPY', 'XAUUSD']) market.tick(symbol);
    const outlet = new FakeOutlet('ws', wsTextEncoding);
    const subscriber = hub.attach(outlet, new SymbolPatterns(['*']));
    hub.subscribe(subscriber, ['EURUSD', 'USDJPY', 'XAUUSD']);
    expect(hub.refilter(subscriber, new SymbolPatterns(['EUR*', 'XAU*']))).toEqual(['USDJPY']);
    expect([...subscriber.symbols].sort()).toEqual(['EURUSD', 'XAUUSD']);
    outlet.clear();
    for (const symbol of ['EURUSD', 'USDJPY', 'XAUUSD']) market.tick(symbol);
    expect(wsLog(outlet)).toEqual(['patch EURUSD 2', 'patch XAUUSD 2']);
  });

  it('refilter of `*`: a narrower list names what it no longer shows and stops it; a wider one sends snapshots of what it shows now', () => {
    const { market, hub } = setup();
    for (const symbol of ['EURUSD', 'USDJPY', 'USDCHF']) market.tick(symbol);
    const outlet = new FakeOutlet('ws', wsTextEncoding);
    const subscriber = hub.attach(outlet);
    hub.subscribe(subscriber, ['*']);
    expect(hub.refilter(subscriber, new SymbolPatterns(['EUR*']))).toEqual(['USDCHF', 'USDJPY']);
    outlet.clear();
    for (const symbol of ['EURUSD', 'USDJPY', 'USDCHF']) market.tick(symbol);
    expect(wsLog(outlet)).toEqual(['patch EURUSD 2']);

    outlet.clear();
    expect(hub.refilter(subscriber, new SymbolPatterns(['EUR*', 'USDJPY']))).toEqual([]);
    expect(wsLog(outlet)).toEqual(['snapshot USDJPY 2']);
    market.tick('USDJPY');
    market.tick('USDCHF');
    expect(wsLog(outlet).slice(1)).toEqual(['patch USDJPY 3']);

    // Back to no list at all: everything, USDCHF from a snapshot.
    outlet.clear();
    expect(hub.refilter(subscriber, null)).toEqual([]);
    expect(wsLog(outlet)).toEqual(['snapshot USDCHF 3']);
  });

  it('refilter of an SSE `*` stream narrows it and sends no snapshot (its cursor could not place one)', () => {
    const { market, hub } = setup();
    for (const symbol of ['EURUSD', 'USDJPY']) market.tick(symbol);
    const outlet = new FakeOutlet('sse', sseEventEncoding);
    const subscriber = hub.attach(outlet);
    hub.stream(subscriber, '*', null);
    outlet.clear();
    expect(hub.refilter(subscriber, new SymbolPatterns(['EUR*']))).toEqual(['USDJPY']);
    expect(outlet.events).toEqual([]);
    market.tick('USDJPY');
    market.tick('EURUSD');
    expect(outlet.frames.map((frame) => decodeSseFrame(frame).message.symbol)).toEqual(['EURUSD']);
  });
});
