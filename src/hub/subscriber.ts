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
  /** In a catch-up from another edge's cursor, the positions it resumed from (model/wire.ts RelayedCursor). */
  relay?: string;
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

const MIXED = Symbol('mixed views');
const STALE = Symbol('not worked out yet');

/** One client connection's subscriptions and delivery state. */
export class Subscriber {
  readonly symbols = new Set<string>();
  /** The view of each symbol subscribed by name with `parts` (PROTOCOL.md §8); the others are whole. */
  readonly #views = new Map<string, View>();
  /** Subscribed to every symbol, present and future. */
  wildcard = false;
  /** The view of the `*` subscription (null: whole documents). */
  #wildcardView: View | null = null;
  /** Some subscription has a view: false spares the whole-document fan-out any lookup per client. */
  #viewed = false;
  /**
   * The one view of every subscription (null: whole documents), MIXED when they differ, STALE
   * after a change: the fan-out then needs no lookup per symbol for the usual client of one view.
   */
  #uniform: View | null | typeof MIXED | typeof STALE = null;
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
    if (!this.#viewed) return null;
    if (this.#uniform === STALE) this.#uniform = this.#uniformView();
    if (this.#uniform !== MIXED) return this.#uniform;
    const view = this.#views.get(symbol);
    if (view !== undefined) return view;
    return this.symbols.has(symbol) ? null : this.#wildcardView;
  }

  /** Sets the view of named `symbol` (null: the whole document). */
  setView(symbol: string, view: View | null): void {
    if (view === null) this.#views.delete(symbol);
    else this.#views.set(symbol, view);
    this.#viewed = this.#views.size > 0 || this.#wildcardView !== null;
    this.#uniform = STALE;
  }

  /** Sets the view of the `*` subscription (null: whole documents). */
  setWildcardView(view: View | null): void {
    this.#wildcardView = view;
    this.#viewed = this.#views.size > 0 || view !== null;
    this.#uniform = STALE;
  }

  /** The view every subscription takes (null: none takes one), or MIXED. */
  #uniformView(): View | null | typeof MIXED {
    let single: View | undefined;
    for (const view of this.#views.values()) {
      if (single === undefined) single = view;
      else if (view.key !== single.key) return MIXED;
    }
    // Some symbols subscribed by name follow the whole document.
    if (this.#views.size !== this.symbols.size && single !== undefined) return MIXED;
    if (this.wildcard) {
      if (this.#wildcardView === null) return single === undefined ? null : MIXED;
      if (single !== undefined && single.key !== this.#wildcardView.key) return MIXED;
      if (this.#views.size !== this.symbols.size) return MIXED;
      single ??= this.#wildcardView;
    }
    return single ?? null;
  }
}
