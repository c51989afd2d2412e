import { expect } from 'vitest';
import WebSocket from 'ws';
import type { Bridge } from '../../src/app/bridge.js';
import { CLIENT_EVENTS, connect, type ClientEventMap, type ClientEventName, type ClientOptions, type TapeClient } from '../../src/client/index.js';
import { startTestBridge } from './bridge.js';
import { tempDir } from './temp.js';
import { TerminalFiles } from './terminal-files.js';
import { waitFor } from './wait.js';

/** Short timings, so that reconnections, fallbacks and dead connections happen within a test. */
export const FAST_CLIENT: ClientOptions = {
  pingIntervalMs: 50,
  livenessTimeoutMs: 400,
  connectTimeoutMs: 2000,
  backoff: { baseMs: 20, maxMs: 200 },
  poll: { waitMs: 1000, intervalMs: 100 },
};

/** The bridge side of FAST_CLIENT: SSE heartbeats well inside the client's liveness bound. */
export const FAST_BRIDGE = { stream: { heartbeatMs: 100 } };

const clients: TapeClient[] = [];

/** A client with `ws` and the fast timings, closed by `closeClients()`. */
export function testClient(url: string, options: ClientOptions = {}): TapeClient {
  const client = connect(url, { WebSocket, ...FAST_CLIENT, ...options });
  clients.push(client);
  return client;
}

export async function closeClients(): Promise<void> {
  await Promise.all(clients.splice(0).map((client) => client.close()));
}

export interface RecordedEvent<K extends ClientEventName = ClientEventName> {
  name: K;
  event: ClientEventMap[K];
}

/**
 * Every event a client emits, and a check of what the user saw: per symbol a snapshot, then
 * patches with seq exactly one above the last (none missing, none twice), in one epoch.
 */
export class ClientRecorder {
  readonly events: RecordedEvent[] = [];
  readonly violations: string[] = [];
  readonly #seen = new Map<string, { epoch: string; seq: number }>();

  constructor(readonly client: TapeClient) {
    for (const name of CLIENT_EVENTS) client.on(name, (event) => this.#record(name, event));
  }

  of<K extends ClientEventName>(name: K): ClientEventMap[K][] {
    return this.events.filter((entry) => entry.name === name).map((entry) => entry.event as ClientEventMap[K]);
  }

  #record<K extends ClientEventName>(name: K, event: ClientEventMap[K]): void {
    this.events.push({ name, event });
    if (name === 'snapshot') {
      const { symbol, epoch, seq } = event as ClientEventMap['snapshot'];
      this.#seen.set(symbol, { epoch, seq });
    } else if (name === 'patch') {
      const { symbol, epoch, seq } = event as ClientEventMap['patch'];
      const last = this.#seen.get(symbol);
      if (last?.epoch !== epoch || seq !== last.seq + 1) {
        this.violations.push(`${symbol}: patch ${epoch}:${seq} after ${last ? `${last.epoch}:${last.seq}` : 'nothing'}`);
      }
      this.#seen.set(symbol, { epoch, seq });
    }
  }
}

/** Waits until the client holds exactly the bridge's document of every symbol. */
export async function expectConverged(client: TapeClient, bridge: Bridge, symbols: readonly string[], what: string): Promise<void> {
  await waitFor(`${what}: the client to reach the bridge's versions`, () =>
    symbols.every((symbol) => {
      const version = client.version(symbol);
      const state = bridge.store.get(symbol);
      return state !== undefined && version?.epoch === bridge.store.epoch && version.seq === state.seq;
    }),
  );
  for (const symbol of symbols) {
    const state = bridge.store.get(symbol);
    expect(client.get(symbol), `${what}: ${symbol}`).toEqual(JSON.parse(state?.documentJson() ?? 'null'));
  }
}

/** The terminal files in a temporary folder, and a bridge with a fast heartbeat watching it. */
export async function filesAndBridge(): Promise<{ dir: string; files: TerminalFiles; bridge: Bridge }> {
  const dir = await tempDir();
  const files = new TerminalFiles(dir);
  await files.create();
  const bridge = await startTestBridge([dir], FAST_BRIDGE);
  return { dir, files, bridge };
}
