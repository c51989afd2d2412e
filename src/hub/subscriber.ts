import type { ErrorCode } from '../model/errors.js';

export type TransportKind = 'ws' | 'sse';

/** What the hub needs from a client connection. Transports implement it. */
export interface Outlet {
  readonly kind: TransportKind;
  /** Bytes written and not yet sent to the network. */
  readonly backlogBytes: number;
  /** Queues a frame already in the transport's wire form. */
  write(frame: Buffer): void;
  /** Tells the client of a condition without ending the connection. */
  notify(code: ErrorCode, message: string): void;
  /** Tells the client why and ends the connection. */
  close(code: ErrorCode, message: string): void;
}

/** The symbols a client may see (its token's allow list). */
export interface SymbolFilter {
  allows(symbol: string): boolean;
}

/** One client connection's subscriptions and delivery state. */
export class Subscriber {
  readonly symbols = new Set<string>();
  /** Subscribed to every symbol, present and future. */
  wildcard = false;
  /** When it became a slow consumer (performance.now()), 0 when it is not one. */
  stalledAt = 0;
  /**
   * Backlog a snapshot burst left behind: tolerated on top of the high-water mark, so that a
   * large first burst does not make a client slow before it had time to read it.
   */
  burstBytes = 0;

  /**
   * @param filter the symbols it may see; null: all of them. A `*` subscription means those.
   * It changes when the tokens do (Hub.refilter).
   */
  constructor(
    readonly outlet: Outlet,
    public filter: SymbolFilter | null = null,
  ) {}

  wants(symbol: string): boolean {
    return this.wildcard || this.symbols.has(symbol);
  }
}
