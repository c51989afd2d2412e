import { invalidArgument } from '../model/errors.js';
import { TRANSPORT_KINDS, type TransportKind } from './types.js';

/** The parts of a WebSocket the client uses: the browser's, Node 22's global, or `ws`'s. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

/**
 * A WebSocket class. When one is given in the options (Node 20 has no global WebSocket:
 * pass `ws`), the client hands it a third argument `{ headers }` to send the token as an
 * Authorization header, which `ws` understands.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: { headers?: Record<string, string> }) => WebSocketLike;

export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /**
   * WebSocket implementation; defaults to the global one (browsers, Node 22+). Without either,
   * the client loads the `ws` package when it first connects (an optional peer dependency),
   * and starts on SSE only when that is not installed.
   */
  WebSocket?: WebSocketConstructor;
  /** fetch implementation (SSE and long polling); defaults to the global one. */
  fetch?: FetchFunction;
  /** Bearer token, or a function giving one (called before every connection attempt). */
  token?: string | (() => string | Promise<string>);
  /** Transports in order of preference. Default `['ws', 'sse', 'poll']`. */
  transports?: readonly TransportKind[];
  /** Failed connection attempts in a row after which the next transport is tried. Default 2. */
  fallbackAfter?: number;
  /** A connection not open (WebSocket: hello received; SSE and polling: first response) by then has failed. Default 10000 ms. */
  connectTimeoutMs?: number;
  /** The client pings an open WebSocket at this interval. Default 10000 ms. */
  pingIntervalMs?: number;
  /**
   * A connection that delivers nothing for this long (no message, pong or SSE heartbeat) is
   * dead and replaced. Must exceed pingIntervalMs and the bridge's `stream.heartbeatMs`. Default 30000 ms.
   */
  livenessTimeoutMs?: number;
  /** Reconnection delays: full jitter under min(maxMs, baseMs * 2^attempt). Defaults 500 ms and 30000 ms. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Where the client says which transport it chose and why (one `debug` line per connection opened). */
  logger?: { debug(message: string): void };
  /** HTTP long polling, the last resort. */
  poll?: {
    /** `waitMs` of each long poll; at most the bridge's `http.maxWaitMs`. Default 20000 ms. */
    waitMs?: number;
    /** Requests in flight at once (browsers allow about 6 per host). Default 4. */
    maxConcurrent?: number;
    /** Pause between plain polls when more symbols are subscribed than maxConcurrent, and between refreshes of the symbol list for `*`. Default 1000 ms. */
    intervalMs?: number;
  };
}

export interface ResolvedOptions {
  readonly WebSocket: WebSocketConstructor | undefined;
  /** The WebSocket class came from the options: it takes `{ headers }`. */
  readonly webSocketHeaders: boolean;
  /** Where the WebSocket class came from (undefined: none yet, `ws` is loaded on first need). */
  readonly webSocketSource: string | undefined;
  readonly logger: { debug(message: string): void } | undefined;
  readonly fetch: FetchFunction;
  readonly token: (() => string | Promise<string>) | undefined;
  readonly transports: readonly TransportKind[];
  readonly fallbackAfter: number;
  readonly connectTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly livenessTimeoutMs: number;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly poll: { readonly waitMs: number; readonly maxConcurrent: number; readonly intervalMs: number };
}

export const CLIENT_DEFAULTS = {
  fallbackAfter: 2,
  connectTimeoutMs: 10_000, // 10 seconds
  pingIntervalMs: 10_000, // 10 seconds
  livenessTimeoutMs: 30_000, // 30 seconds: two of the bridge's default SSE heartbeats
  backoff: { baseMs: 500, maxMs: 30_000 },
  poll: { waitMs: 20_000, maxConcurrent: 4, intervalMs: 1000 },
} as const;

const KNOWN_KEYS = new Set([
  'WebSocket',
  'fetch',
  'token',
  'transports',
  'fallbackAfter',
  'connectTimeoutMs',
  'pingIntervalMs',
  'livenessTimeoutMs',
  'backoff',
  'logger',
  'poll',
]);

/** Checks the options and fills the defaults; throws TypeError or RangeError (code INVALID_ARGUMENT) naming the option. */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) throw invalidArgument(TypeError, `unknown option ${JSON.stringify(key)}; expected one of ${[...KNOWN_KEYS].join(', ')}`);
  }
  const globalWebSocket = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const WebSocket = options.WebSocket ?? globalWebSocket;
  if (WebSocket !== undefined && typeof WebSocket !== 'function') throw invalidArgument(TypeError, 'options.WebSocket must be a WebSocket class');
  const fetchFunction = options.fetch ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined);
  if (typeof fetchFunction !== 'function') throw invalidArgument(TypeError, 'options.fetch must be a function when there is no global fetch');

  const { token } = options;
  if (token !== undefined && typeof token !== 'string' && typeof token !== 'function') {
    throw invalidArgument(TypeError, 'options.token must be a string or a function returning one');
  }
  const transports = options.transports ?? TRANSPORT_KINDS;
  const given: unknown = transports;
  if (!Array.isArray(given) || transports.length === 0 || transports.some((kind) => !TRANSPORT_KINDS.includes(kind))) {
    throw invalidArgument(TypeError, `options.transports must be a non-empty list of ${TRANSPORT_KINDS.join(', ')}`);
  }
  if (new Set(transports).size !== transports.length) throw invalidArgument(TypeError, 'options.transports must not repeat a transport');
  const { logger } = options;
  if (logger !== undefined && typeof (logger as { debug?: unknown } | null)?.debug !== 'function')
    throw invalidArgument(TypeError, 'options.logger must have a debug(message) method');

  const resolved: ResolvedOptions = {
    WebSocket,
    webSocketHeaders: options.WebSocket !== undefined,
    webSocketSource: options.WebSocket !== undefined ? 'options.WebSocket' : WebSocket !== undefined ? 'the global WebSocket' : undefined,
    logger,
    fetch: fetchFunction,
    token: token === undefined ? undefined : typeof token === 'string' ? () => token : token,
    transports: Object.freeze([...transports]),
    fallbackAfter: integer('fallbackAfter', options.fallbackAfter ?? CLIENT_DEFAULTS.fallbackAfter, 1),
    connectTimeoutMs: integer('connectTimeoutMs', options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs, 1),
    pingIntervalMs: integer('pingIntervalMs', options.pingIntervalMs ?? CLIENT_DEFAULTS.pingIntervalMs, 1),
    livenessTimeoutMs: integer('livenessTimeoutMs', options.livenessTimeoutMs ?? CLIENT_DEFAULTS.livenessTimeoutMs, 1),
    backoff: Object.freeze({
      baseMs: integer('backoff.baseMs', options.backoff?.baseMs ?? CLIENT_DEFAULTS.backoff.baseMs, 1),
      maxMs: integer('backoff.maxMs', options.backoff?.maxMs ?? CLIENT_DEFAULTS.backoff.maxMs, 1),
    }),
    poll: Object.freeze({
      waitMs: integer('poll.waitMs', options.poll?.waitMs ?? CLIENT_DEFAULTS.poll.waitMs, 0),
      maxConcurrent: integer('poll.maxConcurrent', options.poll?.maxConcurrent ?? CLIENT_DEFAULTS.poll.maxConcurrent, 1),
      intervalMs: integer('poll.intervalMs', options.poll?.intervalMs ?? CLIENT_DEFAULTS.poll.intervalMs, 1),
    }),
  };
  if (resolved.livenessTimeoutMs <= resolved.pingIntervalMs) {
    throw invalidArgument(
      RangeError,
      `options.livenessTimeoutMs (${resolved.livenessTimeoutMs}) must exceed options.pingIntervalMs (${resolved.pingIntervalMs})`,
    );
  }
  if (resolved.backoff.maxMs < resolved.backoff.baseMs) {
    throw invalidArgument(
      RangeError,
      `options.backoff.maxMs (${resolved.backoff.maxMs}) must not be below options.backoff.baseMs (${resolved.backoff.baseMs})`,
    );
  }
  return Object.freeze(resolved);
}

function integer(name: string, value: unknown, minimum: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw invalidArgument(RangeError, `options.${name} must be an integer of at least ${minimum}, got ${JSON.stringify(value)}`);
  }
  return value;
}
