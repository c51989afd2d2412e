import type { ErrorCode } from '../model/errors.js';
import type { View } from '../model/view.js';
import type { DataEvent } from '../model/wire.js';

export type TransportKind = 'ws' | 'sse';

/**
 * A data message and its place in the bridge-wide stream: commit `gseq` of epoch `epoch`,
 * every replayable symbol known from commit `base` (see model/wire.ts SseCursor).
 */
export interface StreamMessage {
  json: string;
  event: DataEvent;
  epoch: string;
  gseq: number;
  base: number;
}

/**
 * How a transport frames a message (transports/frames.ts). The hub encodes each message
 * once per encoding and writes the same buffer to every outlet that shares it.
 */
export interface Encoding {
  encode(message: StreamMessage): Buffer;
}

/** What the hub needs from a client connection. Transports implement it. */
export interface Outlet {
  /** Which transport it is, for the counts per transport. */
  readonly kind: TransportKind;
  readonly encoding: Encoding;
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
  /** The view of each symbol subscribed by name with `parts` (PROTOCOL.md §8); the others are whole. */
  readonly views = new Map<string, View>();
  /** Subscribed to every symbol, present and future. */
  wildcard = false;
  /** The view of the `*` subscription (null: whole documents). */
  wildcardView: View | null = null;
  /**
   * Subscribed by Hub.stream (SSE): its position is one bridge-wide cursor, so snapshots
   * come as a burst with cursor ids; otherwise (Hub.subscribe) each symbol catches up alone.
   */
  streamed = false;
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

  /** The view this client takes of `symbol`: its named subscription's, else its `*` one's. */
  viewOf(symbol: string): View | null {
    if (this.symbols.has(symbol)) return this.views.get(symbol) ?? null;
    return this.wildcardView;
  }

  /** Sets the view of named `symbol` (null: the whole document). */
  setView(symbol: string, view: View | null): void {
    if (view === null) this.views.delete(symbol);
    else this.views.set(symbol, view);
  }
}
