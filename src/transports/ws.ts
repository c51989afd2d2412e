import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Hub } from '../hub/hub.js';
import type { Outlet, Subscriber } from '../hub/subscriber.js';
import { ClientError, closeCodeOf, errorFrame, type ErrorCode } from '../ops/errors.js';
import type { Logger } from '../ops/logger.js';
import type { Store } from '../state/store.js';
import { SERVER_NAME } from '../version.js';
import { parseClientFrame } from './client-frames.js';

export const WS_PATH = '/v1/ws';

export interface WebSocketOptions {
  heartbeatMs: number;
  /** Larger frames get a BAD_REQUEST error; the connection stays. */
  maxMessageBytes: number;
  /** Larger frames close the connection (1009): ws stops reading them. */
  maxFrameBytes: number;
}

/** Frames are pre-serialised JSON text: sent as text without another conversion. */
const TEXT_FRAME = { binary: false } as const;

/** A ws connection as the hub sees it. */
class WebSocketOutlet implements Outlet {
  readonly kind = 'ws';

  constructor(readonly socket: WebSocket) {}

  get backlogBytes(): number {
    return this.socket.bufferedAmount;
  }

  write(frame: Buffer): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(frame, TEXT_FRAME);
  }

  notify(code: ErrorCode, message: string): void {
    this.write(Buffer.from(errorFrame(code, message)));
  }

  close(code: ErrorCode, message: string): void {
    this.notify(code, message);
    this.socket.close(closeCodeOf(code), message.slice(0, 120));
  }
}

/** `GET /v1/ws` (PROTOCOL.md §3) on the HTTP server's upgrade requests. */
export class WebSocketTransport {
  readonly #server: Server;
  readonly #hub: Hub;
  readonly #store: Store;
  readonly #options: WebSocketOptions;
  readonly #logger: Logger;
  readonly #wss: WebSocketServer;
  readonly #subscribers = new Map<WebSocket, Subscriber>();
  /** Clients pinged and not yet answered; still there at the next beat means dead. */
  readonly #unanswered = new Set<WebSocket>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => this.#upgrade(request, socket, head);

  constructor(server: Server, hub: Hub, store: Store, options: WebSocketOptions, logger: Logger) {
    this.#server = server;
    this.#hub = hub;
    this.#store = store;
    this.#options = options;
    this.#logger = logger.child({ component: 'ws' });
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes, perMessageDeflate: false });
    server.on('upgrade', this.#onUpgrade);
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs);
  }

  get clients(): number {
    return this.#subscribers.size;
  }

  /** Closes every connection with 1001 (going away) and stops accepting new ones. */
  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#server.off('upgrade', this.#onUpgrade);
    const closed = [...this.#subscribers.keys()].map(
      (socket) =>
        new Promise<void>((resolve) => {
          socket.once('close', () => resolve());
          socket.close(1001, 'bridge shutting down');
          // A peer that does not answer the close handshake is cut off.
          setTimeout(() => socket.terminate(), 1000).unref();
        }),
    );
    await Promise.all(closed);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (request.url ?? '').split('?')[0];
    if (path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#connected(ws));
  }

  #connected(socket: WebSocket): void {
    const subscriber = this.#hub.attach(new WebSocketOutlet(socket));
    this.#subscribers.set(socket, subscriber);
    socket.send(
      JSON.stringify({ type: 'hello', epoch: this.#store.epoch, server: SERVER_NAME, heartbeatMs: this.#options.heartbeatMs }),
    );
    socket.on('message', (data, isBinary) => this.#message(subscriber, data, isBinary));
    socket.on('pong', () => this.#unanswered.delete(socket));
    socket.on('error', (error) => this.#logger.debug({ err: error }, 'connection error'));
    socket.on('close', () => {
      this.#subscribers.delete(socket);
      this.#unanswered.delete(socket);
      this.#hub.detach(subscriber);
    });
  }

  #message(subscriber: Subscriber, data: RawData, isBinary: boolean): void {
    const outlet = subscriber.outlet;
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) return outlet.notify('BAD_REQUEST', 'frames must be JSON text, not binary');
    if (bytes.length > this.#options.maxMessageBytes) {
      return outlet.notify('BAD_REQUEST', `frame of ${bytes.length} bytes exceeds the ${this.#options.maxMessageBytes}-byte limit`);
    }
    const frame = parseClientFrame(bytes.toString('utf8'));
    if (frame instanceof ClientError) return outlet.notify(frame.code, frame.message);
    try {
      switch (frame.op) {
        case 'subscribe':
          return this.#hub.subscribe(subscriber, frame.symbols, frame.resume);
        case 'unsubscribe':
          return this.#hub.unsubscribe(subscriber, frame.symbols);
        case 'ping':
          return outlet.write(Buffer.from(JSON.stringify({ type: 'pong', id: frame.id })));
      }
    } catch (error) {
      this.#logger.error({ err: error }, 'failed to handle a client frame');
      outlet.notify('INTERNAL', 'the bridge failed to handle this frame');
    }
  }

  #beat(): void {
    for (const socket of this.#subscribers.keys()) {
      if (this.#unanswered.has(socket)) {
        socket.terminate();
        continue;
      }
      this.#unanswered.add(socket);
      socket.ping();
    }
  }
}
