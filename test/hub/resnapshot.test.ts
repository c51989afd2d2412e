import { describe, expect, it } from 'vitest';
import type { Hub, ResumePoint } from '../../src/hub/hub.js';
import type { StoreOptions } from '../../src/state/store.js';
import { wsTextEncoding } from '../../src/transports/frames.js';
import { decodeWsFrame, FakeOutlet } from './fake-outlet.js';
import { ClientCopy, createHub, createStore, EPOCH, Market } from './hub-fixture.js';

function setup(storeOptions: Partial<StoreOptions> = {}) {
  const store = createStore(storeOptions);
  const market = new Market(store);
  const hub = createHub({ store });
  return { store, market, hub };
}

/** `type symbol seq` of each frame. */
function log(outlet: FakeOutlet): string[] {
  return outlet.frames.map((frame) => {
    const message = decodeWsFrame(frame);
    return `${message.type} ${message.symbol} ${message.seq}`;
  });
}

/** A client's first connection: what it got for `symbols`, then it goes away. */
function connectOnce(hub: Hub, symbols: string[]): { copy: ClientCopy } {
  const outlet = new FakeOutlet('ws', wsTextEncoding);
  const subscriber = hub.attach(outlet);
  hub.subscribe(subscriber, symbols);
  hub.detach(subscriber);
  const copy = new ClientCopy();
  for (const frame of outlet.frames) copy.apply(decodeWsFrame(frame));
  return { copy };
}

/** Reconnects with resume points; returns the new outlet. */
function reconnect(hub: Hub, symbols: string[], resume: Record<string, ResumePoint>): FakeOutlet {
  const outlet = new FakeOutlet('ws', wsTextEncoding);
  hub.subscribe(hub.attach(outlet), symbols, new Map(Object.entries(resume)));
  return outlet;
}

describe('Hub resume and resnapshot (WebSocket subscribe)', () => {
  it('resume from a seq the journal holds replays exactly the missing patches, the journal’s own bytes, then live ones', () => {
    const { store, market, hub } = setup();
    market.tick('EURUSD', 2);
    const { copy } = connectOnce(hub, ['EURUSD']);
    market.tick('EURUSD', 3);

    const outlet = reconnect(hub, ['EURUSD'], { EURUSD: { epoch: EPOCH, seq: 2 } });
    const journal = store.get('EURUSD')?.journal.since(2) ?? [];
    expect(journal.map((entry) => entry.seq)).toEqual([3, 4, 5]);
    expect(outlet.frames.map((frame) => decodeWsFrame(frame))).toEqual(journal.map((entry) => JSON.parse(entry.messageJson) as unknown));
    market.tick('EURUSD');
    expect(log(outlet)).toEqual(['patch EURUSD 3', 'patch EURUSD 4', 'patch EURUSD 5', 'patch EURUSD 6']);

    for (const frame of outlet.frames) copy.apply(decodeWsFrame(frame));
    expect(copy.problems).toEqual([]);
    expect(copy.snapshots).toBe(1);
    expect(copy.differences(market, ['EURUSD'])).toEqual([]);
  });

  it('resume from the current seq sends nothing until the next commit', () => {
    const { market, hub } = setup();
    market.tick('EURUSD', 3);
    const outlet = reconnect(hub, ['EURUSD'], { EURUSD: { epoch: EPOCH, seq: 3 } });
    expect(outlet.events).toEqual([]);
    market.tick('EURUSD');
    expect(log(outlet)).toEqual(['patch EURUSD 4']);
  });

  it('the journal’s floor is the oldest resumable seq: from it a replay, from before it a snapshot, then patches in order', () => {
    const { store, market, hub } = setup({ journalSize: 4 });
    market.tick('EURUSD', 6);
    expect(store.get('EURUSD')?.journal.floorSeq).toBe(2);

    const fromFloor = reconnect(hub, ['EURUSD'], { EURUSD: { epoch: EPOCH, seq: 2 } });
    expect(log(fromFloor)).toEqual(['patch EURUSD 3', 'patch EURUSD 4', 'patch EURUSD 5', 'patch EURUSD 6']);

    const { copy } = connectOnce(hub, ['EURUSD']);
    const beforeFloor = reconnect(hub, ['EURUSD'], { EURUSD: { epoch: EPOCH, seq: 1 } });
    market.tick('EURUSD', 2);
    expect(log(beforeFloor)).toEqual(['snapshot EURUSD 6', 'patch EURUSD 7', 'patch EURUSD 8']);
    expect(decodeWsFrame(beforeFloor.frames[0] as Buffer).data).toEqual(copy.mirror.get('EURUSD')?.document);
  });

  it('a resume point of another epoch, or ahead of the symbol, gets a snapshot', () => {
    const { market, hub } = setup();
    market.tick('EURUSD', 3);
    expect(log(reconnect(hub, ['EURUSD'], { EURUSD: { epoch: 'other', seq: 2 } }))).toEqual(['snapshot EURUSD 3']);
    expect(log(reconnect(hub, ['EURUSD'], { EURUSD: { epoch: EPOCH, seq: 9 } }))).toEqual(['snapshot EURUSD 3']);
  });

  it('a gap left by the journal’s byte cap gets a snapshot', () => {
    const { store, market, hub } = setup({ journalBytes: { perSymbol: 1, total: 1_000_000 } });
    market.tick('EURUSD', 4);
    expect(store.get('EURUSD')?.journal.size).toBe(0);
    expect(log(reconnect(hub, ['EURUSD'], { EURUSD: { epoch: EPOCH, seq: 2 } }))).toEqual(['snapshot EURUSD 4']);
  });

  it('each symbol resumes on its own: one replayed, one without a point snapshotted, one gone from the journal snapshotted', () => {
    const { market, hub } = setup({ journalSize: 2 });
    for (const symbol of ['A', 'B', 'C']) market.tick(symbol);
    const { copy } = connectOnce(hub, ['A', 'B', 'C']);
    market.tick('A', 2);
    market.tick('B');
    market.tick('C', 3);

    const outlet = reconnect(hub, ['A', 'B', 'C'], { A: { epoch: EPOCH, seq: 1 }, C: { epoch: EPOCH, seq: 1 } });
    expect(log(outlet)).toEqual(['patch A 2', 'patch A 3', 'snapshot B 2', 'snapshot C 4']);
    market.tick('C');
    market.tick('A');
    for (const frame of outlet.frames) copy.apply(decodeWsFrame(frame));
    expect(copy.problems).toEqual([]);
    expect(copy.differences(market, ['A', 'B', 'C'])).toEqual([]);
  });
});
