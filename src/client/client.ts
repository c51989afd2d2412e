import { Backoff } from './backoff.js';
import { callSafely, ClientEvents, type ClientEventName, type ClientListener, type ResyncReason } from './events.js';
import { invalidArgument, TapeError, type RaisedErrorCode } from '../model/errors.js';
import { symbolNameProblem } from '../model/symbol-name.js';
import { parseView } from '../model/view.js';
import { DocumentMirror, type HeldDocument } from './mirror.js';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js';
import { PollTransport } from './transports/poll.js';
import { SseTransport } from './transports/sse.js';
import { authorization, endpointOf, type Endpoint, type Transport, type TransportContext, type TransportEvents } from './transports/transport.js';
import { WebSocketTransport } from './transports/ws.js';
import { loadWs, type WebSocketChoice } from './websocket.js';
import type { ClientState, DataMessage, InstrumentDocument, JsonPatchOperation, PatchMessage, SnapshotMessage, TransportKind, Version } from './types.js';

/** What changed, handed to a subscription's callback with the new document. */
export interface Update {
  readonly symbol: string;
  readonly epoch: string;
  readonly seq: number;
  /** `snapshot`: the document arrived (or was replaced) whole; `patch`: `ops` were applied. */
  readonly type: 'snapshot' | 'patch';
  readonly ops?: readonly JsonPatchOperation[];
}

export type UpdateListener = (document: InstrumentDocument, update: Update) => void;

/** How a subscription follows its symbols. */
export interface SubscribeOptions {
  /**
   * A view (PROTOCOL.md §8): JSON pointers such as `/quote`, `/bars/M1`; the documents held
   * are then the document restricted to them (`symbol`, `sources` and those parts). One list
   * per client: every subscription while any is active names the same parts, or none.
   */
  readonly parts?: readonly string[];
}

interface Subscription {
  readonly listener: UpdateListener | undefined;
}

/**
 * A connection to a tapebridge that keeps every subscribed symbol's document: snapshot,
 * then patches checked for `seq` continuity; on a gap, a failed patch or a new epoch it
 * resyncs that symbol (resume first, snapshot when that cannot work). It reconnects with
 * capped, fully jittered backoff and resumes every subscription from its (epoch, seq);
 * when WebSocket cannot connect it falls back to SSE, then to HTTP long polling, and keeps
 * trying to go back. Stale callbacks of replaced connections are dropped by generation.
 */
export class TapeClient {
  /** @public The bridge's base URL. */
  readonly url: string;
  readonly #options: ResolvedOptions;
  readonly #endpoint: Endpoint;
  readonly #events = new ClientEvents();
  readonly #mirror = new DocumentMirror();
  /** Wanted symbols (and `*`), each with the subscriptions that want it. */
  readonly #wanted = new Map<string, Set<Subscription>>();
  /** Symbols asked to be brought back in line, and why. */
  readonly #resyncing = new Map<string, 'gap' | 'patch-failed'>();
  readonly #backoff: Backoff;
  readonly #probeBackoff: Backoff;
  readonly #context: TransportContext;
  #state: ClientState = 'connecting';
  #transport: Transport | undefined;
  /** Generation of the current transport; callbacks of any other are stale. */
  #generation = 0;
  #generations = 0;
  /** A connection attempt over the preferred transport while a fallback is in use. */
  #probe: { readonly transport: Transport; readonly generation: number } | undefined;
  #probeTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Index in `options.transports` of the transport tried next. */
  #level = 0;
  /** Failed attempts in a row on the current level. */
  #failures = 0;
  #epoch: string | undefined;
  #sseCursor: string | null = null;
  /** The parts every subscription follows (undefined: whole documents); set by the first subscription. */
  #parts: readonly string[] | undefined;
  /** The transports in order of preference: `options.transports`, without `ws` once it proved unavailable. */
  #transports: readonly TransportKind[];
  #webSocket: WebSocketChoice | undefined;
  /** Why the transport on the current level is the one tried (the `open` event says it). */
  #why: string;
  #closing: Promise<void> | undefined;

  constructor(url: string, options: ClientOptions = {}) {
    this.#options = resolveOptions(options);
    this.#endpoint = endpointOf(url);
    this.url = this.#endpoint.http;
    this.#backoff = new Backoff(this.#options.backoff);
    this.#probeBackoff = new Backoff(this.#options.backoff);
    this.#transports = this.#options.transports;
    const { WebSocket, webSocketHeaders, webSocketSource } = this.#options;
    if (WebSocket) this.#webSocket = { WebSocket, headers: webSocketHeaders, source: webSocketSource ?? 'options.WebSocket' };
    this.#why = this.#transports[0] === 'ws' ? '' : 'first in options.transports';
    // A get/set pair in an object literal has its own `this`: the accessors reach the client by name.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const client = this;
    this.#context = {
      options: this.#options,
      endpoint: this.#endpoint,
      webSocket: () => this.#webSocket,
      wanted: () => [...this.#wanted.keys()],
      held: () => [...this.#mirror.symbols()],
      parts: () => this.#parts,
      resumeFrom: (symbol) => (this.#resyncing.get(symbol) === 'patch-failed' ? undefined : versionOf(this.#mirror.get(symbol))),
      get sseCursor() {
        return client.#sseCursor;
      },
      set sseCursor(cursor) {
        client.#sseCursor = cursor;
      },
    };
    this.#connect();
  }

  get state(): ClientState {
    return this.#state;
  }

  /** The transport in use, or undefined while (re)connecting. */
  get transport(): TransportKind | undefined {
    return this.#state === 'open' ? this.#transport?.kind : undefined;
  }

  /** The bridge's epoch as last seen. */
  get epoch(): string | undefined {
    return this.#epoch;
  }

  on<K extends ClientEventName>(name: K, listener: ClientListener<K>): () => void {
    return this.#events.on(name, listener);
  }

  /** @public Removes a listener `on()` added (its returned function does the same). */
  off<K extends ClientEventName>(name: K, listener: ClientListener<K>): void {
    this.#events.off(name, listener);
  }

  /**
   * Subscribes to symbols (`*` for every symbol, present and future). `onUpdate` gets each
   * new version of their documents, starting with any already held. Returns a function that
   * ends this subscription (symbols no other subscription wants are unsubscribed). With
   * `options.parts`, the documents hold that view.
   */
  subscribe(symbols: string | readonly string[], onUpdate?: UpdateListener, options: SubscribeOptions = {}): () => void {
    const list = symbolList(symbols);
    if (this.#state === 'closed') throw new TapeError('CLIENT_CLOSED', 'subscribe() after close()');
    this.#takeParts(options.parts);
    const subscription: Subscription = { listener: onUpdate };
    const wildcard = this.#wanted.has('*');
    const added: string[] = [];
    for (const symbol of list) {
      let set = this.#wanted.get(symbol);
      if (!set) {
        set = new Set();
        this.#wanted.set(symbol, set);
        added.push(symbol);
      }
      set.add(subscription);
    }
    if (added.length > 0) {
      // An SSE cursor covers only the symbols of its stream: a new one needs its snapshot.
      if (!wildcard) this.#sseCursor = null;
      this.#transport?.update(added, []);
    }
    if (onUpdate) {
      const held = list.includes('*') ? [...this.#mirror.symbols()] : list.filter((symbol) => this.#mirror.get(symbol));
      if (held.length > 0) {
        queueMicrotask(() => {
          for (const symbol of held) {
            const document = this.#mirror.get(symbol);
            const wanted = [symbol, '*'].some((key) => this.#wanted.get(key)?.has(subscription));
            if (!wanted || !document) continue;
            callSafely(() => onUpdate(document.document, { symbol, epoch: document.epoch, seq: document.seq, type: 'snapshot' }));
          }
        });
      }
    }
    return () => this.#end(subscription, list);
  }

  /** Checks a subscription's parts against the client's; the first subscription sets them. */
  #takeParts(parts: readonly string[] | undefined): void {
    const key = parts === undefined ? undefined : viewKey(parts);
    const current = this.#parts === undefined ? undefined : viewKey(this.#parts);
    if (this.#wanted.size > 0 && key !== current) {
      throw invalidArgument(
        TypeError,
        `parts is one list per client: the symbols subscribed follow ${current ?? 'whole documents'}; subscribe with the same, or from another client`,
      );
    }
    this.#parts = parts === undefined ? undefined : [...parts];
  }

  /** Unsubscribes from symbols, whichever subscriptions wanted them; their documents are dropped. */
  unsubscribe(symbols: string | readonly string[]): void {
    this.#forget(symbolList(symbols).filter((symbol) => this.#wanted.delete(symbol)));
  }

  /** The document held for a symbol (frozen; each version is a new object), or undefined. */
  get(symbol: string): InstrumentDocument | undefined {
    return this.#mirror.get(symbol)?.document;
  }

  /** The (epoch, seq) of the document held for a symbol. */
  version(symbol: string): Version | undefined {
    return versionOf(this.#mirror.get(symbol));
  }

  /** Closes the connection and stops reconnecting; emits `close` once it is released. Idempotent. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#setState('closed');
      clearTimeout(this.#retryTimer);
      this.#cancelProbe();
      const transport = this.#transport;
      this.#transport = undefined;
      this.#generation = 0;
      this.#closing = (transport?.close() ?? Promise.resolve()).then(() => {
        this.#events.emit('close', {});
        this.#events.clear();
      });
    }
    return this.#closing;
  }

  /** close(), for `await using client = new TapeClient(url)`. Where the runtime lacks Symbol.asyncDispose, call close(). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #connect(): void {
    this.#retryTimer = undefined;
    if (this.#state === 'closed') return;
    const kind = this.#transports[this.#level] as TransportKind;
    if (kind === 'ws' && !this.#webSocket) {
      this.#loadWebSocket();
      return;
    }
    const generation = ++this.#generations;
    this.#generation = generation;
    this.#transport = this.#create(kind, generation);
    this.#transport.start();
  }

  /** Loads `ws` (no WebSocket was given and there is no global one), then connects; without it, goes on without WebSocket. */
  #loadWebSocket(): void {
    const generation = ++this.#generations;
    this.#generation = generation;
    void loadWs().then((loaded) => {
      if (generation !== this.#generation || this.#state === 'closed') return;
      if (typeof loaded !== 'string') {
        this.#webSocket = loaded;
        this.#connect();
        return;
      }
      this.#transports = this.#transports.filter((kind) => kind !== 'ws');
      this.#level = 0;
      this.#why = loaded;
      if (this.#transports.length > 0) {
        this.#connect();
        return;
      }
      this.#events.emit('error', { code: 'NO_WEBSOCKET', message: `options.transports holds only "ws", and ${loaded}: pass options.WebSocket` });
      void this.close();
    });
  }

  #create(kind: TransportKind, generation: number): Transport {
    const events: TransportEvents = {
      opened: (epoch) => this.#opened(generation, epoch),
      message: (message) => (generation === this.#generation ? this.#receive(message) : true),
      notice: (notice) => {
        if (generation === this.#generation) this.#events.emit('error', { code: notice.code, message: notice.message });
      },
      ended: (reason, opened) => this.#ended(generation, reason, opened),
    };
    if (kind === 'ws') return new WebSocketTransport(this.#context, events);
    if (kind === 'sse') return new SseTransport(this.#context, events);
    return new PollTransport(this.#context, events);
  }

  #opened(generation: number, epoch: string | undefined): void {
    if (this.#state === 'closed') return;
    if (this.#probe?.generation === generation) {
      // The preferred transport works again: it takes over, resuming from what the fallback delivered.
      const fallback = this.#transport;
      this.#transport = this.#probe.transport;
      this.#generation = generation;
      this.#probe = undefined;
      this.#level = 0;
      this.#why = 'back on the preferred transport';
      this.#probeBackoff.reset();
      void fallback?.close();
    } else if (generation !== this.#generation) {
      return;
    }
    this.#failures = 0;
    this.#backoff.reset();
    if (epoch !== undefined) this.#epoch = epoch;
    this.#setState('open');
    const transport = (this.#transport as Transport).kind;
    const reason = transport === 'ws' && this.#webSocket ? `WebSocket from ${this.#webSocket.source}` : this.#why;
    this.#options.logger?.debug(`tapebridge client: open over ${transport} (${reason})`);
    this.#events.emit('open', { transport, epoch, reason });
    this.#scheduleProbe();
  }

  #ended(generation: number, reason: string, opened: boolean): void {
    if (this.#probe?.generation === generation) {
      this.#probe = undefined;
      this.#scheduleProbe();
      return;
    }
    if (generation !== this.#generation || this.#state === 'closed') return;
    this.#transport = undefined;
    this.#cancelProbe();
    this.#setState('reconnecting');
    if (opened || ++this.#failures < this.#options.fallbackAfter || this.#transports.length === 1) {
      this.#retry(reason);
      return;
    }
    this.#failures = 0;
    // Another transport helps when this one is refused or blocked on the way, not when the
    // bridge is down (restarting): then switching would only cost snapshots (SSE cannot
    // resume what another transport delivered), and the next one would fail as well.
    void this.#bridgeAnswers().then((answers) => {
      if (generation !== this.#generation || this.#state === 'closed') return;
      if (answers) {
        const failed = this.#transports[this.#level] as TransportKind;
        this.#level = (this.#level + 1) % this.#transports.length;
        this.#why = `${failed} failed ${this.#options.fallbackAfter} times in a row (${reason}) while the bridge answers HTTP`;
      }
      this.#retry(reason);
    });
  }

  #retry(reason: string): void {
    const delayMs = this.#backoff.next();
    this.#events.emit('reconnecting', {
      attempt: this.#backoff.attempt,
      delayMs,
      transport: this.#transports[this.#level] as TransportKind,
      reason,
    });
    this.#retryTimer = setTimeout(() => this.#connect(), delayMs);
  }

  /** Whether the bridge answers plain HTTP (any answer but a 5xx, which a proxy gives for a bridge that is down). */
  async #bridgeAnswers(): Promise<boolean> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#options.connectTimeoutMs);
    try {
      const response = await this.#options.fetch(`${this.#endpoint.http}/v1`, { headers: await authorization(this.#options), signal: controller.signal });
      await response.arrayBuffer();
      return response.status < 500;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  #scheduleProbe(): void {
    if (this.#level === 0 || this.#probe || this.#probeTimer || this.#state !== 'open') return;
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = undefined;
      if (this.#level === 0 || this.#state !== 'open') return;
      const generation = ++this.#generations;
      this.#probe = { generation, transport: this.#create(this.#transports[0] as TransportKind, generation) };
      this.#probe.transport.start();
    }, this.#probeBackoff.next());
  }

  #cancelProbe(): void {
    clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
    void this.#probe?.transport.close();
    this.#probe = undefined;
  }

  /** Takes in a snapshot or patch; false when it could not (a resync was asked for). */
  #receive(message: DataMessage): boolean {
    if (!this.#wanted.has('*') && !this.#wanted.has(message.symbol)) return true;
    this.#epoch = message.epoch;
    return message.type === 'snapshot' ? this.#takeSnapshot(message) : this.#takePatch(message);
  }

  #takeSnapshot(message: SnapshotMessage): true {
    const { symbol } = message;
    const reason = this.#resyncing.get(symbol);
    this.#resyncing.delete(symbol);
    const current = this.#mirror.get(symbol);
    // The same version again (a stream restarted from nothing): the held document is that already.
    if (current?.epoch === message.epoch && current.seq === message.seq) return true;
    const { held, previous } = this.#mirror.snapshot(message);
    this.#events.emit('snapshot', { symbol, epoch: held.epoch, seq: held.seq, document: held.document });
    if (previous) {
      const why: ResyncReason = previous.epoch !== held.epoch ? 'epoch' : (reason ?? 'snapshot');
      this.#events.emit('resync', { symbol, reason: why, previous: versionOf(previous) as Version, current: versionOf(held) as Version });
    }
    this.#notify(symbol, held, undefined);
    return true;
  }

  #takePatch(message: PatchMessage): boolean {
    const { symbol } = message;
    const outcome = this.#mirror.patch(message);
    switch (outcome.kind) {
      case 'applied':
        this.#resyncing.delete(symbol);
        this.#events.emit('patch', { symbol, epoch: message.epoch, seq: message.seq, ops: message.ops, document: outcome.held.document });
        this.#notify(symbol, outcome.held, message.ops);
        return true;
      case 'duplicate':
        return true;
      case 'gap': {
        // Patches already under way when the resync was asked for are expected; the replay covers them.
        if (this.#resyncing.has(symbol)) return false;
        this.#resyncing.set(symbol, 'gap');
        const held = versionOf(outcome.held);
        this.#events.emit('gap', { symbol, held: held ?? null, received: { epoch: message.epoch, seq: message.seq } });
        this.#transport?.resync(symbol, held);
        return false;
      }
      case 'failed':
        this.#resyncing.set(symbol, 'patch-failed');
        this.#events.emit('error', {
          code: 'PATCH_FAILED' satisfies RaisedErrorCode,
          message: `patch ${message.seq} of ${symbol} does not apply to seq ${outcome.held.seq} (${outcome.error.message}); taking a snapshot`,
          symbol,
        });
        this.#transport?.resync(symbol, undefined);
        return false;
    }
  }

  #notify(symbol: string, held: HeldDocument, ops: readonly JsonPatchOperation[] | undefined): void {
    const named = this.#wanted.get(symbol);
    const all = this.#wanted.get('*');
    const update: Update = ops
      ? { symbol, epoch: held.epoch, seq: held.seq, type: 'patch', ops }
      : { symbol, epoch: held.epoch, seq: held.seq, type: 'snapshot' };
    const call = ({ listener }: Subscription): void => {
      if (listener) callSafely(() => listener(held.document, update));
    };
    if (named) for (const subscription of named) call(subscription);
    // A subscription to both `*` and the symbol hears of it once.
    if (all) for (const subscription of all) if (!named?.has(subscription)) call(subscription);
  }

  #end(subscription: Subscription, symbols: readonly string[]): void {
    const removed: string[] = [];
    for (const symbol of symbols) {
      const set = this.#wanted.get(symbol);
      if (set?.delete(subscription) && set.size === 0) {
        this.#wanted.delete(symbol);
        removed.push(symbol);
      }
    }
    this.#forget(removed);
  }

  /** Drops the documents no longer wanted and tells the transport. */
  #forget(removed: readonly string[]): void {
    if (removed.length === 0) return;
    const unsubscribe = new Set(removed);
    const wildcardGone = removed.includes('*');
    for (const symbol of [...this.#mirror.symbols()]) {
      if (this.#wanted.has('*') || this.#wanted.has(symbol)) continue;
      if (!wildcardGone && !unsubscribe.has(symbol)) continue;
      this.#mirror.delete(symbol);
      this.#resyncing.delete(symbol);
      // A resync may have subscribed it by name on the bridge.
      unsubscribe.add(symbol);
    }
    if (this.#wanted.size === 0) this.#parts = undefined;
    if (this.#state !== 'closed') this.#transport?.update([], [...unsubscribe]);
  }

  #setState(current: ClientState): void {
    const previous = this.#state;
    if (previous === current) return;
    this.#state = current;
    this.#events.emit('state', { previous, current });
  }
}

/** Connects to the bridge at `url` (its base, e.g. `http://127.0.0.1:8080`). */
export function connect(url: string, options: ClientOptions = {}): TapeClient {
  return new TapeClient(url, options);
}

function versionOf(held: HeldDocument | undefined): Version | undefined {
  return held ? { epoch: held.epoch, seq: held.seq } : undefined;
}

/** The normalised key of `parts`; throws INVALID_ARGUMENT naming a bad part. */
function viewKey(parts: readonly string[]): string {
  const view = parseView(parts);
  if (typeof view === 'string') throw invalidArgument(TypeError, view);
  return view.key;
}

function symbolList(symbols: string | readonly string[]): string[] {
  const list = typeof symbols === 'string' ? [symbols] : symbols;
  // Plain JavaScript may pass anything: the check is on the value, not its declared type.
  const given: unknown = list;
  if (!Array.isArray(given) || list.length === 0) throw invalidArgument(TypeError, 'symbols must be a symbol or a non-empty array of symbols');
  for (const symbol of list) {
    const problem = symbolNameProblem(symbol);
    if (problem) throw invalidArgument(TypeError, `symbol ${JSON.stringify(symbol)}: ${problem}`);
  }
  return [...new Set(list)];
}
