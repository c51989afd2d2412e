import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { sseEvent, sseEventEncoding } from './frames.js';
import { errorBody, errorMessage, parseSseCursor, type RelayedResume } from '../model/wire.js';
import type { Hub } from '../hub/hub.js';
import type { Outlet, Subscriber } from '../hub/subscriber.js';
import { ANONYMOUS, bothAllow, maySee, symbolList, type AuthGate, type Principal } from './auth.js';
import { ClientError, type ErrorCode } from '../model/errors.js';
import type { Logger } from '../core/logger.js';
import type { Refusal } from './refusals.js';
import type { Tally } from '../core/tally.js';
import type { Store } from '../state/store.js';
import { symbolProblem } from './client-frames.js';
import { readPartsParam } from './view-params.js';
import { JoinedFrames, PendingFrames, WriteBatcher, type Flushable } from './write-batch.js';

const SSE_PATH = '/v1/sse';

/** How long a stream resumed from another edge's cursor waits for this node to hold what the client holds. */
const RELAY_CATCH_UP_MS = 1000;

export interface SseOptions {
  /** Comment lines keep idle connections (and proxies) alive at this interval. */
  heartbeatMs: number;
  /** WebSocket and SSE connections at once; more are refused (OVERLOADED). */
  maxConnections: number;
  /** Symbols one stream may name. */
  maxSubscriptions: number;
  /** At most one write per stream per this many ms while changes keep coming (write-batch.ts); 0: one per turn. */
  flushWindowMs: number;
}

/** An SSE response as the hub sees it; its events are written once per turn (write-batch.ts). */
class SseOutlet implements Outlet, Flushable {
  readonly kind = 'sse';
  readonly encoding = sseEventEncoding;
  readonly #pending = new PendingFrames();

  constructor(
    readonly response: ServerResponse,
    readonly batcher: WriteBatcher,
  ) {}

  get backlogBytes(): number {
    return this.response.writableLength + this.#pending.bytes;
  }

  write(frame: Buffer): void {
    if (!this.response.writableEnded && this.#pending.push(frame)) this.batcher.schedule(this);
  }

  flush(joined: JoinedFrames = new JoinedFrames()): void {
    this.#pending.writeTo(this.response.writableEnded ? null : this.response, joined);
  }

  /** A `notice` event: EventSource's own `error` event name would be confused with connection errors. */
  notify(code: ErrorCode, message: string): void {
    this.write(Buffer.from(sseEvent('notice', errorMessage(code, message))));
  }

  close(code: ErrorCode, message: string): void {
    this.notify(code, message);
    this.end();
  }

  /** Sends what is queued and ends the stream. */
  end(): void {
    this.flush();
    this.response.end();
  }
}

/** An open stream and who it is for (looked up again whenever the tokens change). */
interface SseStream {
  outlet: SseOutlet;
  subscriber: Subscriber;
  principal: Principal;
}

/**
 * Starts an event stream on a hijacked response: no caching or proxy buffering, and
 * EventSource told to reconnect after a second. `preamble` (comment lines) follows.
 */
export function openEventStream(response: ServerResponse, preamble = ''): void {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  response.write(`retry: 1000\n${preamble}\n`);
}

/** `symbols=A,B` or `symbols=*`, validated. */
function parseSymbolList(value: unknown): string[] | '*' | ClientError {
  if (typeof value !== 'string' || value.trim() === '') {
    return new ClientError('BAD_REQUEST', 'query parameter symbols is required: a comma-separated list, or *');
  }
  if (value.trim() === '*') return '*';
  const symbols = [...new Set(value.split(',').map((symbol) => symbol.trim()))];
  for (const symbol of symbols) {
    const problem = symbolProblem(symbol);
    if (problem) return new ClientError('BAD_REQUEST', problem);
  }
  return symbols;
}

/** What the endpoint works with; refusals are counted when given. */
export interface SseDeps {
  hub: Hub;
  store: Store;
  logger: Logger;
  refusals?: Record<Refusal, Tally>;
  /** On an edge node: what the client of another edge's cursor holds (cluster/cursor-log.ts), null when unknown. */
  resolveCursor?: (id: string) => Promise<RelayedResume | null>;
}

/** `GET /v1/sse` (PROTOCOL.md §4). */
export class SseEndpoint {
  readonly #hub: Hub;
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #refusals: Record<Refusal, Tally> | null;
  readonly #resolveCursor: ((id: string) => Promise<RelayedResume | null>) | null;
  readonly #subscribers = new Map<ServerResponse, SseStream>();
  readonly #batcher: WriteBatcher;
  #options: SseOptions;
  #heartbeat: NodeJS.Timeout;
  #closed = false;

  constructor({ hub, store, logger, refusals, resolveCursor }: SseDeps, options: SseOptions) {
    this.#resolveCursor = resolveCursor ?? null;
    this.#hub = hub;
    this.#store = store;
    this.#options = options;
    this.#batcher = new WriteBatcher(options.flushWindowMs);
    this.#logger = logger.child({ component: 'sse' });
    this.#refusals = refusals ?? null;
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs);
  }

  /** Takes new limits (for new streams), heartbeat interval and flush window. */
  applyOptions(options: SseOptions): void {
    this.#batcher.windowMs = options.flushWindowMs;
    if (options.heartbeatMs !== this.#options.heartbeatMs) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs);
    }
    this.#options = options;
  }

  register(app: FastifyInstance): void {
    app.get(SSE_PATH, { config: { queryToken: true } }, (request, reply) => {
      const refuse = (error: ClientError, reason: Refusal): void => {
        this.#refusals?.[reason].add();
        void reply.code(error.status).type('application/json').send(errorBody(error.code, error.message));
      };
      const query = request.query as Record<string, unknown>;
      const parsed = parseSymbolList(query.symbols);
      if (parsed instanceof ClientError) {
        void reply.code(parsed.status).type('application/json').send(errorBody(parsed.code, parsed.message));
        return;
      }
      const view = readPartsParam(query.parts);
      if (view instanceof ClientError) {
        void reply.code(view.status).type('application/json').send(errorBody(view.code, view.message));
        return;
      }
      const principal = request.principal ?? ANONYMOUS;
      if (parsed !== '*' && parsed.length > this.#options.maxSubscriptions) {
        refuse(
          new ClientError('BAD_REQUEST', `symbols names ${parsed.length} symbols; at most ${this.#options.maxSubscriptions} per connection`),
          'subscriptions',
        );
        return;
      }
      const symbols = parsed === '*' ? parsed : parsed.filter((symbol) => maySee(principal, symbol));
      const forbidden = parsed === '*' ? [] : parsed.filter((symbol) => !maySee(principal, symbol));
      if (symbols.length === 0) {
        refuse(new ClientError('FORBIDDEN', `token ${JSON.stringify(principal.name)} may not see ${forbidden.join(', ')}`), 'forbidden');
        return;
      }
      if (this.#closed || this.#hub.connections >= this.#options.maxConnections) {
        refuse(new ClientError('OVERLOADED', `the bridge serves its maximum of ${this.#options.maxConnections} connections; try again later`), 'connections');
        return;
      }
      const header = request.headers['last-event-id'];
      const lastEventId = (Array.isArray(header) ? header[0] : header) ?? query.lastEventId;
      const cursor = typeof lastEventId === 'string' ? parseSseCursor(lastEventId) : null;
      const subscriber = this.#open(reply, principal, forbidden);
      if (typeof lastEventId !== 'string' || this.#resolveCursor === null || (cursor !== null && this.#hub.ownsCursor(cursor))) {
        this.#hub.stream(subscriber, symbols, cursor, view);
        return;
      }
      // The stream is open (heartbeats flow) while the cursor is resolved; its events start after.
      void this.#relayed(this.#resolveCursor, lastEventId, principal, symbols).then((from) => {
        if (this.#subscribers.has(reply.raw)) this.#hub.stream(subscriber, symbols, from, view);
      });
    });
  }

  /**
   * Another edge's cursor, resolved; null when it does not resolve. Before the stream starts
   * from it, this node is given a moment to hold at least what the client holds: edges follow
   * Redis at slightly different paces, and a symbol this node is behind on would be a snapshot.
   */
  async #relayed(
    resolve: (id: string) => Promise<RelayedResume | null>,
    id: string,
    principal: Principal,
    symbols: string[] | '*',
  ): Promise<RelayedResume | null> {
    const resume = await resolve(id).catch(() => null);
    if (resume === null) return null;
    const deadline = Date.now() + RELAY_CATCH_UP_MS;
    const named = symbols === '*' ? null : new Set(symbols);
    for (const [symbol, seq] of resume.held) {
      if ((named !== null && !named.has(symbol)) || !maySee(principal, symbol)) continue;
      for (let left = deadline - Date.now(); left > 0 && (this.#store.get(symbol)?.seq ?? seq) < seq; left = deadline - Date.now()) {
        await this.#hub.waitForCommit(symbol, left);
      }
    }
    return resume;
  }

  /** Opens the event stream and a subscriber for it, which gets nothing until it is given its symbols (Hub.stream). */
  #open(reply: FastifyReply, principal: Principal, forbidden: string[]): Subscriber {
    reply.hijack();
    const response = reply.raw;
    response.on('error', (error) => this.#logger.debug({ err: error }, 'connection error'));
    openEventStream(response, `: tapebridge epoch ${this.#store.epoch}\n`);
    const outlet = new SseOutlet(response, this.#batcher);
    if (forbidden.length > 0) {
      this.#refusals?.forbidden.add();
      outlet.notify('FORBIDDEN', `token ${JSON.stringify(principal.name)} may not see ${forbidden.join(', ')}; streaming the others`);
    }
    const subscriber = this.#hub.attach(outlet, principal.symbols);
    this.#subscribers.set(response, { outlet, subscriber, principal });
    response.on('close', () => {
      this.#subscribers.delete(response);
      this.#hub.detach(subscriber);
    });
    return subscriber;
  }

  /**
   * The tokens changed: every stream is looked up again by the secret it presented. A
   * revoked one is detached at once and ended with an UNAUTHORIZED notice (its EventSource
   * then reconnects and gets 401). A narrowed one loses the symbols it may no longer see,
   * with a FORBIDDEN notice naming them, and ends when none is left; a `*` stream goes on
   * with the narrower list. An open stream is never widened: its event ids could not resume
   * the snapshots that would need; the wider list applies from its next connection.
   */
  reauthorize(auth: AuthGate): void {
    for (const stream of this.#subscribers.values()) {
      const { outlet, subscriber } = stream;
      if (outlet.response.writableEnded) continue;
      const principal = auth.reauthorize(stream.principal);
      if (principal === null) {
        this.#hub.detach(subscriber);
        this.#logger.info({ client: stream.principal.name }, 'token revoked; stream ended');
        outlet.close('UNAUTHORIZED', `the token ${JSON.stringify(stream.principal.name)} is no longer valid`);
        continue;
      }
      stream.principal = principal;
      const refused = this.#hub.refilter(subscriber, bothAllow(subscriber.filter, principal.symbols));
      if (refused.length === 0) continue;
      this.#refusals?.forbidden.add();
      const message = `token ${JSON.stringify(principal.name)} may no longer see ${symbolList(refused)}`;
      if (subscriber.wildcard || subscriber.symbols.size > 0) {
        outlet.notify('FORBIDDEN', `${message}: no longer streamed`);
      } else {
        this.#hub.detach(subscriber);
        outlet.close('FORBIDDEN', `${message}: nothing is left to stream`);
      }
    }
  }

  #closing: Promise<void> | null = null;

  /** Ends every stream (the clients' EventSource reconnects and resumes elsewhere or later). Memoised: every call gets the same promise. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = Promise.resolve();
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#batcher.flush();
    for (const { outlet } of this.#subscribers.values()) outlet.end();
    return this.#closing;
  }

  #beat(): void {
    for (const response of this.#subscribers.keys()) response.write(': heartbeat\n\n');
  }
}
