import type { WebSocketLike } from '../options.js';
import type { Version } from '../types.js';
import type { RaisedErrorCode } from '../../model/errors.js';
import { parseWireMessage, WireError } from '../wire.js';
import { authorization, Liveness, type Transport, type TransportContext, type TransportEvents } from './transport.js';

/** Symbols per subscribe frame: keeps each frame well under the bridge's `stream.maxMessageBytes`. */
const SYMBOLS_PER_FRAME = 100;
/** How long close() waits for the closing handshake before cutting the socket. */
const CLOSE_WAIT_MS = 1000;

/**
 * `GET /v1/ws` (PROTOCOL.md §3). Open means the hello arrived; the subscriptions are then
 * sent with every held symbol's (epoch, seq) as its resume point. The client pings at
 * `pingIntervalMs`, since a browser cannot see the bridge's ping frames, and a socket
 * silent for `livenessTimeoutMs` is dead.
 */
export class WebSocketTransport implements Transport {
  readonly kind = 'ws';
  readonly #context: TransportContext;
  readonly #events: TransportEvents;
  readonly #liveness: Liveness;
  #socket: WebSocketLike | undefined;
  #socketClosed: Promise<void> = Promise.resolve();
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #opened = false;
  #done = false;
  #closing: Promise<void> | undefined;
  #pings = 0;
  #lastError = '';

  constructor(context: TransportContext, events: TransportEvents) {
    this.#context = context;
    this.#events = events;
    const { livenessTimeoutMs, pingIntervalMs } = context.options;
    this.#liveness = new Liveness(
      livenessTimeoutMs,
      pingIntervalMs,
      () => this.#end(`nothing received for ${livenessTimeoutMs} ms`),
      () => this.#send({ op: 'ping', id: ++this.#pings }),
    );
  }

  start(): void {
    void this.#connect();
  }

  update(added: readonly string[], removed: readonly string[]): void {
    if (!this.#opened) return; // the hello sends whatever is wanted by then
    this.#subscribe(added);
    if (removed.length > 0) this.#send({ op: 'unsubscribe', symbols: removed });
  }

  resync(symbol: string, from: Version | undefined): void {
    if (!this.#opened) return;
    this.#send({
      op: 'subscribe',
      symbols: [symbol],
      ...(from ? { resume: { [symbol]: { epoch: from.epoch, seq: from.seq } } } : {}),
      ...this.#partsField(),
    });
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#done = true;
      this.#stopTimers();
      const socket = this.#socket;
      this.#closing = socket
        ? new Promise<void>((resolve) => {
            const cut = setTimeout(() => {
              terminate(socket);
              resolve();
            }, CLOSE_WAIT_MS);
            void this.#socketClosed.then(() => {
              clearTimeout(cut);
              resolve();
            });
            socket.close(1000, 'client closed');
          })
        : Promise.resolve();
    }
    return this.#closing;
  }

  async #connect(): Promise<void> {
    const { options, endpoint } = this.#context;
    let headers: Record<string, string>;
    try {
      headers = await authorization(options);
    } catch (error) {
      this.#end(`the token function failed: ${(error as Error).message}`);
      return;
    }
    if (this.#done) return;
    const choice = this.#context.webSocket();
    if (!choice) {
      this.#end('no WebSocket class');
      return;
    }
    let url = `${endpoint.ws}/v1/ws`;
    const token = headers.authorization?.slice('Bearer '.length);
    // A browser's WebSocket cannot send headers; the bridge also takes the token as ?token=.
    if (token && !choice.headers) url += `?token=${encodeURIComponent(token)}`;
    let socket: WebSocketLike;
    try {
      socket = token && choice.headers ? new choice.WebSocket(url, undefined, { headers }) : new choice.WebSocket(url);
    } catch (error) {
      this.#end(`cannot open ${url}: ${(error as Error).message}`);
      return;
    }
    this.#socket = socket;
    this.#socketClosed = new Promise((resolve) => socket.addEventListener('close', () => resolve()));
    socket.addEventListener('message', (event) => this.#receive(event.data));
    socket.addEventListener('error', (event) => {
      const message = (event as { message?: unknown }).message;
      if (typeof message === 'string') this.#lastError = message;
    });
    socket.addEventListener('close', (event) => {
      const detail = this.#lastError || event.reason;
      this.#end(`WebSocket closed (${event.code}${detail ? `: ${detail}` : ''})`);
    });
    const { connectTimeoutMs } = options;
    this.#connectTimer = setTimeout(() => this.#end(`no hello within ${connectTimeoutMs} ms`), connectTimeoutMs);
  }

  #receive(data: unknown): void {
    if (this.#done) return;
    this.#liveness.touch();
    if (typeof data !== 'string') {
      this.#events.notice({ code: 'BAD_MESSAGE' satisfies RaisedErrorCode, message: 'the bridge sent a binary frame' });
      return;
    }
    const message = parseWireMessage(data);
    if (message === null) return;
    if (message instanceof WireError) {
      this.#events.notice({ code: message.code, message: message.message });
      return;
    }
    switch (message.type) {
      case 'hello':
        if (this.#opened) return;
        clearTimeout(this.#connectTimer);
        this.#opened = true;
        this.#liveness.start();
        this.#subscribe(this.#context.wanted());
        this.#events.opened(message.epoch);
        return;
      case 'pong':
        return;
      case 'error':
        this.#events.notice(message);
        return;
      default:
        this.#events.message(message);
    }
  }

  /** Subscribes with every held symbol among `symbols` (all of them for `*`) resumed from its version. */
  #subscribe(symbols: readonly string[]): void {
    if (symbols.length === 0) return;
    const wildcard = symbols.includes('*');
    const frames = wildcard ? [symbols] : chunks(symbols, SYMBOLS_PER_FRAME);
    for (const frame of frames) {
      const resume: Record<string, Version> = {};
      for (const symbol of wildcard ? this.#context.held() : frame) {
        const from = this.#context.resumeFrom(symbol);
        if (from) resume[symbol] = { epoch: from.epoch, seq: from.seq };
      }
      this.#send({ op: 'subscribe', symbols: frame, ...(Object.keys(resume).length > 0 ? { resume } : {}), ...this.#partsField() });
    }
  }

  #partsField(): { parts?: readonly string[] } {
    const parts = this.#context.parts();
    return parts === undefined ? {} : { parts };
  }

  #send(frame: object): void {
    // 1 is OPEN in every WebSocket implementation.
    if (this.#socket?.readyState === 1) this.#socket.send(JSON.stringify(frame));
  }

  #end(reason: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#stopTimers();
    if (this.#socket) terminate(this.#socket);
    this.#events.ended(reason, this.#opened);
  }

  #stopTimers(): void {
    clearTimeout(this.#connectTimer);
    this.#liveness.stop();
  }
}

/** Cuts a socket at once: `ws` can (terminate), a browser's WebSocket can only start closing. */
function terminate(socket: WebSocketLike): void {
  const cut = (socket as { terminate?: () => void }).terminate;
  if (typeof cut === 'function') cut.call(socket);
  else socket.close(4000, 'connection replaced');
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
