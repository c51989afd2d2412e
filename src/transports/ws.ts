import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { wsDeflateEncoding, wsTextEncoding, wsTextFrame } from './frames.js';
import type { Hub, ResumePoint } from '../hub/hub.js';
import type { Encoding, Outlet, Subscriber } from '../hub/subscriber.js';
import { maySee, presentedToken, symbolList, type AuthGate, type Principal } from './auth.js';
import { ClientError, closeCodeOf, type ErrorCode } from '../model/errors.js';
import { errorBody, errorMessage, helloMessage, pongMessage } from '../model/wire.js';
import type { Logger } from '../core/logger.js';
import type { Refusal } from './refusals.js';
import type { Tally } from '../core/tally.js';
import type { Store } from '../state/store.js';
import { SERVER_NAME } from '../model/version.js';
import type { View } from '../model/view.js';
import { parseClientFrame } from './client-frames.js';
import { rawResponse, refuseRaw } from './connections.js';
import { originAllowed, sameOrigin } from './guard.js';
import { hostRefusal } from './host-check.js';
import { MessageRate, type MessageRateOptions } from './message-rate.js';
import { JoinedFrames, PendingFrames, WriteBatcher, type Flushable } from './write-batch.js';

const WS_PATH = '/v1/ws';

export interface WebSocketOptions extends MessageRateOptions {
  heartbeatMs: number;
  /** Larger frames get a BAD_REQUEST error; the connection stays. */
  maxMessageBytes: number;
  /** Larger frames close the connection (1009): ws stops reading them. Read at start only. */
  maxFrameBytes: number;
  /** WebSocket and SSE connections at once; more are refused (OVERLOADED, close 1013). */
  maxConnections: number;
  /** Symbols one connection may subscribe to (`*` counts as one). */
  maxSubscriptions: number;
  /** At most one write per socket per this many ms while changes keep coming (write-batch.ts); 0: one per turn. */
  flushWindowMs: number;
  /** permessage-deflate for clients that offer it (read at start), for messages of at least thresholdBytes. */
  compression: { websocket: boolean; thresholdBytes: number };
}

/** What the endpoint works with: the HTTP server whose upgrades it takes, the hub, the store (its epoch), and who may connect. */
export interface WebSocketDeps {
  server: Server;
  hub: Hub;
  store: Store;
  logger: Logger;
  access: WebSocketAccess;
  /** This node's id, which hello carries (PROTOCOL.md §7). */
  node: string;
}

/** Who may connect: tokens, browser origins; and where refusals are counted. */
export interface WebSocketAccess {
  auth: AuthGate;
  origins: () => readonly string[];
  /** The Host check against DNS rebinding (host-check.ts). */
  hostAllowed: (host: string | undefined) => boolean;
  refusals: Record<Refusal, Tally>;
}

/**
 * A ws connection as the hub sees it. The hub's frames (already WebSocket frames, built once
 * per message) are queued and written to the raw socket once per turn of the event loop
 * (write-batch.ts). ws's own sender writes only control frames (ping, pong, close), each in
 * one write, so they fall between whole frames; a close flushes what is queued first, and
 * nothing is written once the connection is no longer open.
 */
class WebSocketOutlet implements Outlet, Flushable {
  readonly kind = 'ws';
  readonly #pending = new PendingFrames();

  constructor(
    readonly ws: WebSocket,
    /** The connection ws runs on (the upgraded request's socket). */
    readonly socket: Duplex,
    readonly batcher: WriteBatcher,
    /** Plain frames, or frames deflated once per message for every connection that negotiated it. */
    readonly encoding: Encoding,
  ) {}

  /** ws's unsent bytes (the socket's buffer and its own) and the frames still queued. */
  get backlogBytes(): number {
    return this.ws.bufferedAmount + this.#pending.bytes;
  }

  write(frame: Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN && this.#pending.push(frame)) this.batcher.schedule(this);
  }

  flush(joined: JoinedFrames = new JoinedFrames()): void {
    this.#pending.writeTo(this.ws.readyState === WebSocket.OPEN && this.socket.writable ? this.socket : null, joined);
  }

  notify(code: ErrorCode, message: string): void {
    this.write(wsTextFrame(errorMessage(code, message)));
  }

  close(code: ErrorCode, message: string): void {
    this.notify(code, message);
    this.end(closeCodeOf(code), message.slice(0, 120));
  }

  /** Sends what is queued, then the close frame. */
  end(code: number, reason: string): void {
    this.flush();
    this.ws.close(code, reason);
  }
}

interface Connection {
  outlet: WebSocketOutlet;
  subscriber: Subscriber;
  /** What it may do now: looked up again whenever the tokens change. */
  principal: Principal;
  rate: MessageRate;
}

/**
 * `GET /v1/ws` (PROTOCOL.md §3) on the HTTP server's upgrade requests. A page from a
 * browser origin not allowed gets 403 to its upgrade; a connection over the limit or
 * without a valid token is accepted, told why in an `error` frame and closed (1013 or
 * 4001), so that a browser, which never sees the status of a refused upgrade, learns it.
 */
export class WebSocketEndpoint {
  readonly #server: Server;
  readonly #hub: Hub;
  readonly #store: Store;
  readonly #node: string;
  readonly #access: WebSocketAccess;
  readonly #logger: Logger;
  readonly #wss: WebSocketServer;
  readonly #batcher: WriteBatcher;
  readonly #connections = new Map<WebSocket, Connection>();
  /** Clients pinged and not yet answered; still there at the next beat means dead. */
  readonly #unanswered = new Set<WebSocket>();
  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => this.#upgrade(request, socket, head);
  readonly #stopReauthorizing: () => void;
  /** The encoding of connections that negotiated permessage-deflate; null when it is off. */
  readonly #deflated: Encoding | null;
  #options: WebSocketOptions;
  #heartbeat: NodeJS.Timeout;

  constructor({ server, hub, store, logger, access, node }: WebSocketDeps, options: WebSocketOptions) {
    this.#node = node;
    this.#server = server;
    this.#hub = hub;
    this.#store = store;
    this.#options = options;
    this.#batcher = new WriteBatcher(options.flushWindowMs);
    this.#access = access;
    this.#logger = logger.child({ component: 'ws' });
    this.#deflated = options.compression.websocket ? wsDeflateEncoding(options.compression.thresholdBytes) : null;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes,
      // No context takeover either way: each message is deflated alone (frames.ts), so one compressed
      // frame serves every client, and no connection keeps a compression window between messages.
      perMessageDeflate: this.#deflated
        ? { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: options.compression.thresholdBytes }
        : false,
    });
    server.on('upgrade', this.#onUpgrade);
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs);
    this.#stopReauthorizing = access.auth.onChange(() => this.#reauthorize());
  }

  /** Takes new limits (from the next frame), heartbeat interval and flush window; maxFrameBytes stays. */
  applyOptions(options: WebSocketOptions): void {
    this.#batcher.windowMs = options.flushWindowMs;
    if (options.heartbeatMs !== this.#options.heartbeatMs) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs);
    }
    this.#options = options;
  }

  /** Stops taking upgrades: later ones are not answered by this endpoint. */
  stopAccepting(): void {
    this.#server.off('upgrade', this.#onUpgrade);
  }

  #closing: Promise<void> | null = null;

  /** Closes every connection with 1001 (going away) and stops accepting new ones. Memoised: every call gets the same promise. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#batcher.flush();
    this.#stopReauthorizing();
    this.stopAccepting();
    const closed = [...this.#connections].map(
      ([socket, { outlet }]) =>
        new Promise<void>((resolve) => {
          socket.once('close', () => resolve());
          outlet.end(1001, 'bridge shutting down');
          // A peer that does not answer the close handshake is cut off.
          setTimeout(() => socket.terminate(), 1000).unref();
        }),
    );
    await Promise.all(closed);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Before the first write: a peer that resets while it is answered is this socket's problem.
    socket.on('error', (error) => this.#logger.debug({ err: error }, 'upgrade connection error'));
    const path = (request.url ?? '').split('?')[0];
    if (path !== WS_PATH) {
      refuseRaw(socket, rawResponse('404 Not Found', errorBody('NOT_FOUND', `no WebSocket route ${path}`)));
      return;
    }
    if (!this.#access.hostAllowed(request.headers.host)) {
      this.#access.refusals.host.add();
      refuseRaw(socket, rawResponse('403 Forbidden', errorBody('FORBIDDEN', hostRefusal(request.headers.host))));
      return;
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, request.headers.host) && !originAllowed(origin, this.#access.origins())) {
      this.#access.refusals.origin.add();
      refuseRaw(socket, rawResponse('403 Forbidden', errorBody('FORBIDDEN', `origin ${origin} is not allowed (http.origins)`)));
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#connected(ws, request, socket));
  }

  #connected(socket: WebSocket, request: IncomingMessage, raw: Duplex): void {
    socket.on('error', (error) => this.#logger.debug({ err: error }, 'connection error'));
    if (this.#hub.connections >= this.#options.maxConnections) {
      this.#refuse(
        socket,
        'connections',
        new ClientError('OVERLOADED', `the bridge serves its maximum of ${this.#options.maxConnections} connections; try again later`),
      );
      return;
    }
    const query = new URL(request.url ?? '/', 'http://bridge').searchParams.get('token') ?? undefined;
    const authentication = this.#access.auth.authenticate(presentedToken(request.headers.authorization, query));
    if (!authentication.ok) {
      this.#refuse(socket, 'unauthorized', new ClientError('UNAUTHORIZED', authentication.message));
      return;
    }

    const principal = authentication.principal;
    const outlet = new WebSocketOutlet(
      socket,
      raw,
      this.#batcher,
      this.#deflated && deflateNegotiated(socket.extensions, request.headers['sec-websocket-extensions']) ? this.#deflated : wsTextEncoding,
    );
    const subscriber = this.#hub.attach(outlet, principal.symbols);
    const connection: Connection = { outlet, subscriber, principal, rate: new MessageRate(this.#options) };
    this.#connections.set(socket, connection);
    outlet.write(wsTextFrame(helloMessage(this.#store.epoch, SERVER_NAME, this.#options.heartbeatMs, this.#node)));
    socket.on('message', (data, isBinary) => this.#message(connection, data, isBinary));
    socket.on('pong', () => this.#unanswered.delete(socket));
    socket.on('close', () => {
      this.#connections.delete(socket);
      this.#unanswered.delete(socket);
      this.#hub.detach(subscriber);
    });
  }

  #refuse(socket: WebSocket, reason: Refusal, error: ClientError): void {
    this.#access.refusals[reason].add();
    socket.send(errorMessage(error.code, error.message));
    socket.close(closeCodeOf(error.code), error.message.slice(0, 120));
  }

  /**
   * The tokens changed: every connection is looked up again by the secret it presented. A
   * revoked one is detached at once (no further patch) and closed (4001); a narrowed one
   * loses the subscriptions it may no longer see, and is told which.
   */
  #reauthorize(): void {
    for (const connection of this.#connections.values()) {
      const { outlet, subscriber } = connection;
      if (outlet.ws.readyState !== WebSocket.OPEN) continue;
      const principal = this.#access.auth.reauthorize(connection.principal);
      if (principal === null) {
        this.#hub.detach(subscriber);
        this.#logger.info({ client: connection.principal.name }, 'token revoked; connection closed');
        outlet.close('UNAUTHORIZED', `the token ${JSON.stringify(connection.principal.name)} is no longer valid`);
        continue;
      }
      connection.principal = principal;
      const refused = this.#hub.refilter(subscriber, principal.symbols);
      if (refused.length > 0) {
        this.#access.refusals.forbidden.add();
        outlet.notify('FORBIDDEN', `token ${JSON.stringify(principal.name)} may no longer see ${symbolList(refused)}: no longer streamed`);
      }
    }
  }

  #message(connection: Connection, data: RawData, isBinary: boolean): void {
    const outlet = connection.outlet;
    // Frames that arrive after the close began (a revoked token) are not acted on.
    if (outlet.ws.readyState !== WebSocket.OPEN) return;
    const verdict = connection.rate.take(this.#options);
    if (verdict !== 'accept') {
      this.#access.refusals.messageRate.add();
      const limit = `more than ${this.#options.messagesPerSecond} frames per second (burst ${this.#options.messageBurst})`;
      if (verdict === 'close') {
        this.#access.refusals.rateClosed.add();
        this.#logger.warn({ event: 'client_rate_closed', client: connection.principal.name }, 'client kept exceeding the frame rate; closed');
        outlet.close('RATE_LIMITED', `${limit}, ${this.#options.rateLimitCloseAfter} frames refused in a row`);
      } else if (verdict === 'refuse-and-notify') {
        outlet.notify('RATE_LIMITED', `${limit}: frames are dropped until the rate falls`);
      }
      return;
    }
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) {
      outlet.notify('BAD_REQUEST', 'frames must be JSON text, not binary');
      return;
    }
    if (bytes.length > this.#options.maxMessageBytes) {
      outlet.notify('BAD_REQUEST', `frame of ${bytes.length} bytes exceeds the ${this.#options.maxMessageBytes}-byte limit`);
      return;
    }
    const frame = parseClientFrame(bytes.toString('utf8'));
    if (frame instanceof ClientError) {
      outlet.notify(frame.code, frame.message);
      return;
    }
    try {
      switch (frame.op) {
        case 'subscribe': {
          this.#subscribe(connection, frame.symbols, frame.resume, frame.view);
          return;
        }
        case 'unsubscribe': {
          this.#hub.unsubscribe(connection.subscriber, frame.symbols);
          return;
        }
        case 'ping': {
          outlet.write(wsTextFrame(pongMessage(frame.id)));
          return;
        }
      }
    } catch (error) {
      this.#logger.error({ event: 'client_frame_failed', err: error }, 'failed to handle a client frame');
      outlet.notify('INTERNAL', 'the bridge failed to handle this frame');
    }
  }

  /**
   * Subscribes to the symbols the token may see; the others get one FORBIDDEN error. A
   * frame that would pass the subscription limit subscribes nothing.
   */
  #subscribe(connection: Connection, symbols: string[], resume: ReadonlyMap<string, ResumePoint>, view: View | null): void {
    const { outlet, subscriber, principal } = connection;
    const allowed = symbols.filter((symbol) => symbol === '*' || maySee(principal, symbol));
    const added = new Set(allowed.filter((symbol) => (symbol === '*' ? !subscriber.wildcard : !subscriber.symbols.has(symbol))));
    const total = subscriber.symbols.size + (subscriber.wildcard ? 1 : 0) + added.size;
    if (total > this.#options.maxSubscriptions) {
      this.#access.refusals.subscriptions.add();
      outlet.notify('BAD_REQUEST', `this would make ${total} subscriptions; at most ${this.#options.maxSubscriptions} per connection (nothing subscribed)`);
      return;
    }
    if (allowed.length < symbols.length) {
      this.#access.refusals.forbidden.add();
      const refused = symbols.filter((symbol) => symbol !== '*' && !maySee(principal, symbol));
      outlet.notify(
        'FORBIDDEN',
        `token ${JSON.stringify(principal.name)} may not see ${refused.join(', ')}${allowed.length > 0 ? '; the others are subscribed' : ''}`,
      );
    }
    if (allowed.length > 0) this.#hub.subscribe(subscriber, allowed, resume, view);
  }

  #beat(): void {
    for (const socket of this.#connections.keys()) {
      if (this.#unanswered.has(socket)) {
        socket.terminate();
        continue;
      }
      this.#unanswered.add(socket);
      socket.ping();
    }
  }
}

/**
 * Whether the connection negotiated permessage-deflate with the window the shared frames are
 * deflated with (15 bits): a client whose offer (ws takes the first, with these options)
 * asked for a smaller one gets plain frames, which the extension allows message by message.
 */
function deflateNegotiated(extensions: string, offered: string | undefined): boolean {
  if (!extensions.includes('permessage-deflate')) return false;
  const offer = offered?.split(',').find((entry) => entry.split(';')[0]?.trim() === 'permessage-deflate');
  const bits = offer && /server_max_window_bits\s*=\s*"?(\d+)/.exec(offer)?.[1];
  return !bits || Number(bits) >= 15;
}
