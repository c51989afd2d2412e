import { invalidArgument } from '../../model/errors.js';
import type { ResolvedOptions } from '../options.js';
import type { BridgeNotice, DataMessage, TransportKind, Version } from '../types.js';
import type { WebSocketChoice } from '../websocket.js';

/** The bridge's base URLs, without a trailing slash. */
export interface Endpoint {
  readonly http: string;
  readonly ws: string;
}

/** `http(s)://host[:port][/prefix]` or its `ws(s)://` form. */
export function endpointOf(url: string): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw invalidArgument(TypeError, `url ${JSON.stringify(url)} is not a URL; expected the bridge's base, e.g. http://127.0.0.1:8080`, { cause: error });
  }
  const secure = parsed.protocol === 'https:' || parsed.protocol === 'wss:';
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) {
    throw invalidArgument(TypeError, `url ${JSON.stringify(url)} must start with http:, https:, ws: or wss:`);
  }
  const rest = `//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
  return { http: `${secure ? 'https:' : 'http:'}${rest}`, ws: `${secure ? 'wss:' : 'ws:'}${rest}` };
}

/** What a transport reads from the client. */
export interface TransportContext {
  readonly options: ResolvedOptions;
  readonly endpoint: Endpoint;
  /** The WebSocket class to use (given, global or loaded `ws`); undefined when there is none. */
  webSocket(): WebSocketChoice | undefined;
  /** The symbols (and `*`) wanted now. */
  wanted(): string[];
  /** Every symbol whose document is held. */
  held(): string[];
  /** The view every subscription follows (PROTOCOL.md §8); undefined: whole documents. */
  parts(): readonly string[] | undefined;
  /** Where to resume a symbol from; undefined when only a snapshot will do. */
  resumeFrom(symbol: string): Version | undefined;
  /** The last SSE event id whose message was processed, kept across connections; null for none. */
  sseCursor: string | null;
}

/** What a transport reports to the client. */
export interface TransportEvents {
  /** Connected and subscribed; `epoch` when the transport learns it at once (WebSocket hello). */
  opened(epoch: string | undefined): void;
  /** A snapshot or patch, in order per symbol. False when the client could not take it in (it asks for a resync). */
  message(message: DataMessage): boolean;
  notice(notice: BridgeNotice): void;
  /** The connection failed (`opened` false) or was lost. Called once, and never after close(). */
  ended(reason: string, opened: boolean): void;
}

/** One connection to the bridge over one transport. */
export interface Transport {
  readonly kind: TransportKind;
  /** Connects, then subscribes to `wanted()`, resuming every held symbol. */
  start(): void;
  /** The wanted symbols changed. */
  update(added: readonly string[], removed: readonly string[]): void;
  /** Brings one symbol up to date again: replayed from `from`, or a snapshot when `from` is undefined. */
  resync(symbol: string, from: Version | undefined): void;
  /** Ends the connection; nothing is reported after this. Resolves once its sockets are released. */
  close(): Promise<void>;
}

export async function authorization(options: ResolvedOptions): Promise<Record<string, string>> {
  const token = options.token ? await options.token() : undefined;
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** performance.now() exists in browsers and in Node. */
const now = (): number => performance.now();

/**
 * Declares a connection dead when nothing arrived for `timeoutMs`. Checked every `tickMs`;
 * `onTick` runs at each check that found it alive (the WebSocket transport pings there).
 */
export class Liveness {
  #last = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly timeoutMs: number,
    readonly tickMs: number,
    readonly onDead: () => void,
    readonly onTick?: () => void,
  ) {}

  start(): void {
    this.#last = now();
    this.#timer ??= setInterval(() => {
      if (now() - this.#last > this.timeoutMs) {
        this.stop();
        this.onDead();
      } else {
        this.onTick?.();
      }
    }, this.tickMs);
  }

  touch(): void {
    this.#last = now();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** `parts=…` for SSE and HTTP (PROTOCOL.md §8) after `separator`, or nothing for whole documents. */
export function partsQuery(parts: readonly string[] | undefined, separator: '?' | '&'): string {
  return parts === undefined ? '' : `${separator}parts=${parts.map((part) => encodeURIComponent(part)).join(',')}`;
}
