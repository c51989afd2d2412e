import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorBody } from '../model/wire.js';
import type { Logger } from '../core/logger.js';
import type { Tally } from '../core/tally.js';

/** Fewest connections the descriptor budget leaves, however low the limit. */
const MIN_CONNECTIONS = 16;
/** A refused connection that the peer keeps open is destroyed after this long. */
const REFUSAL_LINGER_MS = 2000;

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  reservedDescriptors: number;
}

/** The process's open-file limit as it is now (Node raises the soft limit to the hard one at start on POSIX). */
function descriptorLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((text) => text.startsWith('Max open files'));
    const soft = line === undefined ? undefined : /^Max open files\s+(\d+|unlimited)/.exec(line)?.[1];
    return soft === undefined || soft === 'unlimited' ? null : Number(soft);
  } catch {
    return null; // not Linux: unknown
  }
}

/** The cap on connections of every kind: http.maxConnections, kept below the descriptor limit minus the reserve. */
function connectionBudget(limits: ConnectionLimits, fdLimit: number | null): number {
  if (fdLimit === null) return limits.maxConnections;
  const room = fdLimit - limits.reservedDescriptors;
  return Math.min(limits.maxConnections, Math.max(MIN_CONNECTIONS, room < MIN_CONNECTIONS ? Math.floor(fdLimit / 2) : room));
}

/** A raw HTTP response for a socket no HTTP machinery answers (refusals before or instead of a request). */
export function rawResponse(status: string, body: string): string {
  return `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Answers an upgrade or a refused connection and closes it; a peer that does not close is cut off. */
export function refuseRaw(socket: Duplex, response: string): void {
  socket.on('error', ignore);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(response);
  setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
}

function ignore(): void {
  // A refused or closing socket's errors (a reset, a write after the peer left) are expected.
}

/** What the guard works with: the server whose connections it guards, and where refusals are counted. */
export interface ConnectionDeps {
  server: Server;
  logger: Logger;
  refused: Tally;
}

/**
 * Every TCP connection the HTTP server accepts, guarded before anything is written to it:
 * an `error` listener first (a peer's RST is that connection's problem, never the
 * process's), a cap on all connections and per address (the over-limit get a 503 OVERLOADED
 * answer and are closed, not reset), short header and idle timeouts for connections that
 * are not streams, and the same error listener on upgraded sockets, on sockets the parser
 * rejects (`clientError`) and on hijacked responses.
 */
export class ConnectionGuard {
  readonly #server: Server;
  readonly #logger: Logger;
  readonly #refused: Tally;
  readonly #perAddress = new Map<string, number>();
  /** Requests in flight per socket: a socket with one (a long poll, an SSE stream) is not idle. */
  readonly #busy = new WeakMap<Socket, number>();
  /** Sockets handed to WebSocket: theirs is the WebSocket heartbeat. */
  readonly #upgraded = new WeakSet<Duplex>();
  readonly #budget: number;
  #limits: ConnectionLimits;
  #open = 0;

  constructor({ server, logger, refused }: ConnectionDeps, limits: ConnectionLimits) {
    this.#server = server;
    this.#limits = limits;
    this.#logger = logger.child({ component: 'connections' });
    this.#refused = refused;
    const fdLimit = descriptorLimit();
    this.#budget = connectionBudget(limits, fdLimit);
    this.#logger.info(
      {
        event: 'connection_budget',
        descriptorLimit: fdLimit ?? 'unknown',
        reservedDescriptors: limits.reservedDescriptors,
        maxConnections: limits.maxConnections,
        connectionCap: this.#budget,
        maxConnectionsPerAddress: limits.maxConnectionsPerAddress,
      },
      fdLimit === null ? 'descriptor limit unknown; connections capped at http.maxConnections' : 'connections capped below the descriptor limit',
    );
    // Node's own cap drops (destroys) the socket unanswered: it is the backstop for a burst
    // faster than refusals close, above the cap that answers by half the reserve at most.
    server.maxConnections = this.#budget + Math.floor(Math.min(limits.reservedDescriptors, fdLimit ?? limits.reservedDescriptors) / 2);
    server.headersTimeout = limits.headersTimeoutMs;
    server.requestTimeout = 0; // a long poll or a stream is a request that lasts; the idle timer decides
    server.keepAliveTimeout = limits.idleTimeoutMs;
    // The HTTP server's own connection listener runs only for accepted sockets, after ours.
    const httpListeners = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      if (this.#accept(socket)) for (const listener of httpListeners) listener.call(server, socket);
    });
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => this.#clientError(error, socket));
    // Before any other upgrade listener: the WebSocket transport writes to this socket.
    server.prependListener('upgrade', (_request: IncomingMessage, socket: Duplex) => {
      socket.on('error', ignore);
      this.#upgraded.add(socket);
      if (socket instanceof Socket) socket.setTimeout(0);
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => this.#track(request, response));
    // With a listener here, Node leaves the decision to us instead of destroying the socket.
    server.on('timeout', (socket: Socket) => {
      if ((this.#busy.get(socket) ?? 0) === 0 && !this.#upgraded.has(socket)) socket.destroy();
    });
  }

  /** Connections open now. */
  get open(): number {
    return this.#open;
  }

  /** The cap in force (http.maxConnections within the descriptor budget, read at start). */
  get cap(): number {
    return this.#budget;
  }

  /** Takes new per-address and timeout figures; the total cap stays as computed at start. */
  applyLimits(limits: ConnectionLimits): void {
    this.#limits = limits;
    this.#server.headersTimeout = limits.headersTimeoutMs;
    this.#server.keepAliveTimeout = limits.idleTimeoutMs;
  }

  /** The socket is busy until the response is done (or the stream ends). */
  #track(request: IncomingMessage, response: ServerResponse): void {
    const socket = request.socket;
    response.on('error', ignore);
    this.#busy.set(socket, (this.#busy.get(socket) ?? 0) + 1);
    response.once('close', () => this.#busy.set(socket, Math.max(0, (this.#busy.get(socket) ?? 1) - 1)));
  }

  #accept(socket: Socket): boolean {
    socket.on('error', (error: NodeJS.ErrnoException) => this.#logger.debug({ err: error.code ?? error.message }, 'connection error'));
    const address = socket.remoteAddress ?? 'unknown';
    const fromAddress = this.#perAddress.get(address) ?? 0;
    if (this.#open >= this.#budget || fromAddress >= this.#limits.maxConnectionsPerAddress) {
      this.#refused.add();
      const perAddress = this.#open < this.#budget;
      const message = perAddress
        ? `this address has its maximum of ${this.#limits.maxConnectionsPerAddress} connections open (http.maxConnectionsPerAddress); close some or try again later`
        : `the bridge serves its maximum of ${this.#budget} connections; try again later`;
      refuseRaw(socket, rawResponse('503 Service Unavailable', errorBody('OVERLOADED', message)));
      return false;
    }
    this.#open += 1;
    this.#perAddress.set(address, fromAddress + 1);
    socket.once('close', () => {
      this.#open -= 1;
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.#perAddress.delete(address);
      else this.#perAddress.set(address, left);
    });
    // Silent from the start: closed after the idle timeout unless a request arrives (headers
    // that trickle in are bounded by headersTimeout).
    socket.setTimeout(this.#limits.idleTimeoutMs);
    return true;
  }

  /** A request the parser refused (malformed, headers too large or too slow): 400 if it can still be told. */
  #clientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    socket.on('error', ignore);
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    refuseRaw(
      socket,
      timedOut
        ? rawResponse('408 Request Timeout', errorBody('BAD_REQUEST', `the request's headers did not arrive within ${this.#limits.headersTimeoutMs} ms`))
        : rawResponse('400 Bad Request', errorBody('BAD_REQUEST', 'the request could not be parsed as HTTP/1.1')),
    );
  }
}
