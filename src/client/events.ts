import type { ClientState, InstrumentDocument, JsonPatchOperation, TransportKind, Version } from './types.js';

/** Every event a client emits, in the order of a typical life. */
export const CLIENT_EVENTS = ['state', 'open', 'snapshot', 'patch', 'gap', 'resync', 'reconnecting', 'error', 'close'] as const;
export type ClientEventName = (typeof CLIENT_EVENTS)[number];

/** Why a held document was replaced by a snapshot instead of patched. */
export type ResyncReason =
  /** The bridge restarted without its journal: a new epoch. */
  | 'epoch'
  /** A patch skipped a seq. */
  | 'gap'
  /** A patch did not apply to the held document. */
  | 'patch-failed'
  /** The bridge sent a fresh snapshot on its own (it could not replay the missed patches, or the client was a slow consumer). */
  | 'snapshot';

export interface ClientEventMap {
  /** Every change of `client.state`. */
  state: { previous: ClientState; current: ClientState };
  /** A transport connected; subscriptions are (re)sent and resumed from each held (epoch, seq). */
  open: {
    transport: TransportKind;
    /** From the WebSocket hello; other transports learn it from the first message. */
    epoch: string | undefined;
    /** Why this transport: where the WebSocket class came from, or why the ones before it were not used. */
    reason: string;
  };
  /** A symbol's document arrived whole. */
  snapshot: { symbol: string; epoch: string; seq: number; document: InstrumentDocument };
  /** A patch was applied; `document` is the new version (the previous object is left unchanged). */
  patch: { symbol: string; epoch: string; seq: number; ops: readonly JsonPatchOperation[]; document: InstrumentDocument };
  /** A patch did not follow the held version; the client resyncs that symbol (resume first, snapshot when that fails). */
  gap: { symbol: string; held: Version | null; received: Version };
  /** A held document was replaced by a snapshot of another version. */
  resync: { symbol: string; reason: ResyncReason; previous: Version; current: Version };
  /** The connection failed or was lost; the next attempt starts after `delayMs`. */
  reconnecting: { attempt: number; delayMs: number; transport: TransportKind; reason: string };
  /** A condition reported by the bridge (error frame, SSE notice, HTTP error) or found by the client. */
  error: { code: string; message: string; symbol?: string };
  /** `close()` was called; nothing is emitted after this. */
  close: Record<string, never>;
}

export type ClientListener<K extends ClientEventName> = (event: ClientEventMap[K]) => void;

/**
 * A small typed emitter that runs in Node and in browsers. A listener that throws does not
 * disturb the client or the other listeners: its error is rethrown asynchronously, as
 * EventTarget does.
 */
export class ClientEvents {
  readonly #listeners = new Map<ClientEventName, Set<(event: never) => void>>();

  on<K extends ClientEventName>(name: K, listener: ClientListener<K>): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener);
    return () => this.off(name, listener);
  }

  off<K extends ClientEventName>(name: K, listener: ClientListener<K>): void {
    this.#listeners.get(name)?.delete(listener);
  }

  emit<K extends ClientEventName>(name: K, event: ClientEventMap[K]): void {
    const set = this.#listeners.get(name) as Set<ClientListener<K>> | undefined;
    if (!set) return;
    for (const listener of [...set]) callSafely(() => listener(event));
  }

  clear(): void {
    this.#listeners.clear();
  }
}

/** Calls a user callback; its exception surfaces asynchronously and changes nothing here. */
export function callSafely(call: () => void): void {
  try {
    call();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
