import { isDeepStrictEqual } from 'node:util';
import { Histogram } from 'prom-client';
import { DocumentMirror } from '../../src/client/mirror.js';
import type { PatchMessage, SnapshotMessage } from '../../src/client/types.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { LatencyRecorder } from '../../src/core/latency.js';
import { Tally } from '../../src/core/tally.js';
import type { HubCounters } from '../../src/hub/counters.js';
import type { CommitTiming } from '../../src/formats/types.js';
import { Hub, type HubOptions } from '../../src/hub/hub.js';
import { Contribution } from '../../src/state/contribution.js';
import { Store, type StoreOptions } from '../../src/state/store.js';
import type { WireMessage } from './fake-outlet.js';

export const EPOCH = 'e1';

/** Limits no test reaches unless it means to. */
const ROOMY: HubOptions = { highWaterBytes: 1_000_000, lowWaterBytes: 100_000, slowConsumer: 'resnapshot', slowCloseAfterMs: 60_000 };

/** A store whose listener errors (the hub's) fail the commit, and so the test. */
export function createStore(options: Partial<StoreOptions> = {}): Store {
  return new Store({ journalSize: 16, epoch: EPOCH, ...options }, (error) => {
    throw error;
  });
}

export interface HubDeps {
  store: Store;
  logger?: Logger;
  counters?: HubCounters | null;
  /** An edge node's cursor scope (Hub cursorScope). */
  cursorScope?: string | null;
}

/** The one place the tests build a Hub: a change to its constructor is a change here. */
export function createHub({ store, logger = createLogger('silent'), counters = null, cursorScope = null }: HubDeps, options: Partial<HubOptions> = {}): Hub {
  return new Hub({ store, logger, counters, cursorScope }, { ...ROOMY, ...options });
}

export function hubCounters(): HubCounters {
  const latency = (name: string): LatencyRecorder => new LatencyRecorder(new Histogram({ name, help: name, registers: [] }));
  return {
    deliveries: { ws: new Tally(), sse: new Tally() },
    slowConsumers: { paused: new Tally(), resnapshot: new Tally(), closed: new Tally() },
    writeToSend: latency('write_to_send_seconds'),
    readToSend: latency('read_to_send_seconds'),
  };
}

/** A logger whose lines are kept (parsed) for the test to read. */
export function logCapture(): { logger: Logger; lines: { level: number; msg: string; component?: string }[] } {
  const lines: { level: number; msg: string; component?: string }[] = [];
  const logger = createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines };
}

const T0 = 1_763_640_000_000;

/**
 * Feeds the store as a tick file would: each `tick` gives the symbol a new quote and commits
 * it, so every call is one new version (the first creates the symbol: a snapshot, no patch).
 */
export class Market {
  readonly #contributions = new Map<string, Contribution>();
  #time = T0;
  #price = 1;

  constructor(readonly store: Store) {}

  /** `timing`: when the change was written and read, as a file's would be (null: an untimed change). */
  tick(symbol: string, times = 1, timing: CommitTiming | null = null): void {
    for (let i = 0; i < times; i++) {
      let contribution = this.#contributions.get(symbol);
      if (!contribution) {
        contribution = new Contribution('mt5-ticks', 'auto', {});
        this.#contributions.set(symbol, contribution);
        this.store.setContribution(symbol, `${symbol}.ticks`, contribution);
      }
      this.#time += 1000;
      this.#price += 0.0001;
      contribution.applyTick({ time: this.#time, bid: this.#price, ask: this.#price + 0.0002 });
      this.store.commit(symbol, timing);
    }
  }

  /** The symbol's current version and document, as a snapshot would carry them. */
  current(symbol: string): { seq: number; document: unknown } {
    const state = this.store.get(symbol);
    if (!state) throw new Error(`${symbol} is not published`);
    return { seq: state.seq, document: JSON.parse(state.documentJson()) as unknown };
  }
}

/**
 * A client's documents, kept by the SDK's own mirror: every patch must follow the version
 * held (a duplicate or a gap is a problem, named in `problems`).
 */
export class ClientCopy {
  readonly mirror = new DocumentMirror();
  readonly problems: string[] = [];
  snapshots = 0;
  patches = 0;

  apply(message: WireMessage): void {
    if (message.type === 'snapshot') {
      this.snapshots++;
      this.mirror.snapshot(message as unknown as SnapshotMessage);
      return;
    }
    if (message.type !== 'patch') throw new Error(`not a data message: ${message.type}`);
    this.patches++;
    const outcome = this.mirror.patch(message as unknown as PatchMessage);
    if (outcome.kind !== 'applied') this.problems.push(`${message.symbol} seq ${message.seq}: ${outcome.kind}`);
  }

  /** Symbols whose copy differs from the store's current version. */
  differences(market: Market, symbols: readonly string[]): string[] {
    return symbols.filter((symbol) => {
      const held = this.mirror.get(symbol);
      const current = market.current(symbol);
      return held?.seq !== current.seq || !isDeepStrictEqual(held.document, current.document);
    });
  }
}
