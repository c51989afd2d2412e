import { performance } from 'node:perf_hooks';
import type { Logger } from '../core/logger.js';
import type { HubCounters } from './counters.js';
import type { JournalEntry } from '../state/journal.js';
import type { CommitEvent, Store } from '../state/store.js';
import type { SymbolState } from '../state/symbol-state.js';
import { restrictDocument, restrictOps, type View } from '../model/view.js';
import { patchMessage, snapshotMessage, type DataEvent, type RelayedResume, type SseCursor } from '../model/wire.js';
import { Subscriber, type Encoding, type Outlet, type StreamMessage, type SymbolFilter, type TransportKind } from './subscriber.js';
import { viewOpsOf, ViewVersions } from './view-versions.js';

export interface HubOptions {
  /** A client with more unsent bytes than this is a slow consumer. */
  highWaterBytes: number;
  /** A slow consumer is served again once its backlog is below this. */
  lowWaterBytes: number;
  /** Drop a slow consumer's backlog and resend snapshots, or close it. */
  slowConsumer: 'resnapshot' | 'close';
  /** A slow consumer that does not drain within this is closed. */
  slowCloseAfterMs: number;
}

/** A WebSocket client's position in one symbol's stream. */
export interface ResumePoint {
  epoch: string;
  seq: number;
}

/** A message of one commit and its frames, built once per encoding. */
interface Outgoing {
  readonly message: StreamMessage;
  readonly frames: Map<Encoding, Buffer>;
}

/** A patch replayed from the journal: its message, and the commit it came from. */
interface ReplayedPatch {
  readonly json: string;
  readonly gseq: number;
}

/** The key of the whole document among view keys (which are JSON arrays). */
const WHOLE = '';

/** Distinct views kept interned (View objects shared by the clients of a view). */
const MAX_INTERNED_VIEWS = 4096;

/** How often slow consumers are checked for having drained. */
const STALL_CHECK_MS = 50;

/**
 * Subscriptions and fan-out. Every commit is serialised once and the same bytes go to
 * every subscriber of the symbol; per symbol a client gets a snapshot first, then every
 * patch in `seq` order. A client whose backlog passes the high-water mark stops getting
 * patches; once it drains it is told (SLOW_CONSUMER) and gets fresh snapshots.
 */
/** What the hub is built on: the store it follows, where it logs, and where it counts (none in unit tests). */
export interface HubDeps {
  store: Store;
  logger: Logger;
  counters?: HubCounters | null;
  /**
   * What SSE cursors name beside the epoch (an edge node's id and process): an edge's commit
   * counter is its own, so a cursor taken on another node of the same epoch, or on this node
   * before it restarted, must not be read as one of this one's. Null on a single node, whose
   * cursors name the epoch alone.
   */
  cursorScope?: string | null;
}

export class Hub {
  readonly #store: Store;
  #options: HubOptions;
  readonly #logger: Logger;
  readonly #counters: HubCounters | null;
  readonly #subscribers = new Set<Subscriber>();
  readonly #bySymbol = new Map<string, Set<Subscriber>>();
  readonly #wildcard = new Set<Subscriber>();
  readonly #stalled = new Set<Subscriber>();
  readonly #waiters = new Map<string, Set<() => void>>();
  /** Snapshot frames of a symbol's current version: per view key (WHOLE for the document), per encoding. */
  readonly #snapshots = new WeakMap<SymbolState, { seq: number; frames: Map<string, Map<Encoding, Buffer>> }>();
  readonly #views = new ViewVersions();
  /** One View object per view key: the fan-out tells views apart by identity. */
  readonly #interned = new Map<string, View>();
  readonly #stopListening: () => void;
  #stallTimer: NodeJS.Timeout | null = null;

  readonly #cursorScope: string | null;

  constructor({ store, logger, counters = null, cursorScope = null }: HubDeps, options: HubOptions) {
    this.#store = store;
    this.#cursorScope = cursorScope;
    this.#options = options;
    this.#logger = logger.child({ component: 'hub' });
    this.#counters = counters;
    this.#stopListening = store.onCommit((event) => this.#onCommit(event));
  }

  /** Takes new slow-consumer limits; they apply from the next message. */
  applyOptions(options: HubOptions): void {
    this.#options = options;
  }

  /** Connected clients per transport. */
  clients(): { ws: number; sse: number } {
    const counts: Record<TransportKind, number> = { ws: 0, sse: 0 };
    for (const subscriber of this.#subscribers) counts[subscriber.outlet.kind]++;
    return counts;
  }

  /** Connected clients, all transports. */
  get connections(): number {
    return this.#subscribers.size;
  }

  /** Bytes written to clients and not yet sent, all connections. */
  backlogBytes(): number {
    let bytes = 0;
    for (const subscriber of this.#subscribers) bytes += subscriber.outlet.backlogBytes;
    return bytes;
  }

  get slowConsumers(): number {
    return this.#stalled.size;
  }

  /** `filter`: the symbols this client may see (null: all). */
  attach(outlet: Outlet, filter: SymbolFilter | null = null): Subscriber {
    const subscriber = new Subscriber(outlet, filter);
    this.#subscribers.add(subscriber);
    return subscriber;
  }

  detach(subscriber: Subscriber): void {
    if (!this.#subscribers.delete(subscriber)) return;
    for (const symbol of subscriber.symbols) this.#removeFrom(symbol, subscriber);
    this.#wildcard.delete(subscriber);
    this.#stalled.delete(subscriber);
  }

  /**
   * WebSocket subscribe: for each symbol (or `*`) that exists, replays the journal from the
   * client's resume point when it can, or sends a snapshot. A symbol that does not exist
   * yet gets its snapshot when it appears. With `view`, those symbols are followed through it
   * (PROTOCOL.md §8), a symbol subscribed again takes the new view.
   */
  subscribe(subscriber: Subscriber, symbols: readonly string[], resume?: ReadonlyMap<string, ResumePoint>, given: View | null = null): void {
    const view = this.#intern(given);
    const targets = new Map<string, SymbolState>();
    for (const symbol of symbols) {
      if (symbol === '*') {
        subscriber.wildcard = true;
        subscriber.setWildcardView(view);
        this.#wildcard.add(subscriber);
        for (const state of this.#targetsOf(subscriber)) targets.set(state.symbol, state);
        continue;
      }
      subscriber.symbols.add(symbol);
      subscriber.setView(symbol, view);
      this.#subscribersOf(symbol).add(subscriber);
      const state = this.#store.get(symbol);
      if (state) targets.set(symbol, state);
    }
    if (subscriber.stalledAt > 0) return; // the snapshots come when it drains
    for (const state of targets.values()) this.#catchUp(subscriber, state, resume?.get(state.symbol));
    subscriber.burstBytes = subscriber.outlet.backlogBytes;
  }

  unsubscribe(subscriber: Subscriber, symbols: readonly string[]): void {
    for (const symbol of symbols) {
      if (symbol === '*') {
        subscriber.wildcard = false;
        subscriber.setWildcardView(null);
        this.#wildcard.delete(subscriber);
      } else {
        subscriber.symbols.delete(symbol);
        subscriber.setView(symbol, null);
        this.#removeFrom(symbol, subscriber);
      }
    }
  }

  /**
   * The client's token changed: from now on it sees what `filter` allows. Named symbols no
   * longer allowed are unsubscribed and returned; a `*` subscription goes on with the new
   * filter, and a WebSocket one gets snapshots of the symbols it may see now and could not
   * before. (An SSE stream is only ever narrowed while open, see SseEndpoint: its cursor
   * could not resume a snapshot burst in mid-stream.)
   */
  refilter(subscriber: Subscriber, filter: SymbolFilter | null): string[] {
    const before = subscriber.filter;
    subscriber.filter = filter;
    if (filter === null && before === null) return [];
    const refused = filter === null ? [] : [...subscriber.symbols].filter((symbol) => !filter.allows(symbol));
    for (const symbol of refused) {
      subscriber.symbols.delete(symbol);
      subscriber.setView(symbol, null);
      this.#removeFrom(symbol, subscriber);
    }
    if (!subscriber.wildcard) return refused;
    // What the `*` subscription no longer shows, named for the client to drop.
    const allows = (allowed: SymbolFilter | null, symbol: string): boolean => allowed === null || allowed.allows(symbol);
    const lost = new Set(refused);
    for (const state of this.#store.symbols()) if (allows(before, state.symbol) && !allows(filter, state.symbol)) lost.add(state.symbol);
    if (before !== null && subscriber.stalledAt === 0 && !subscriber.streamed) {
      for (const state of this.#targetsOf(subscriber))
        if (!before.allows(state.symbol)) subscriber.outlet.write(this.#snapshotFrame(state, subscriber.outlet.encoding, subscriber.viewOf(state.symbol)));
    }
    return [...lost].sort();
  }

  /**
   * SSE subscribe, once per connection, from the client's cursor (Last-Event-ID): the
   * journal's patches after the cursor in commit order for every symbol it can replay,
   * then snapshots of the others; ids are chosen so that a client cut off at any event
   * resumes with no loss and no duplicate (see SseCursor). `from` may instead be another edge's
   * cursor, resolved (#streamRelayed). With `view`, every symbol of the stream is followed
   * through it (PROTOCOL.md §8).
   */
  stream(subscriber: Subscriber, symbols: readonly string[] | '*', from: SseCursor | RelayedResume | null, given: View | null = null): void {
    const view = this.#intern(given);
    subscriber.streamed = true;
    if (symbols === '*') {
      subscriber.wildcard = true;
      subscriber.setWildcardView(view);
      this.#wildcard.add(subscriber);
    } else {
      for (const symbol of symbols) {
        subscriber.symbols.add(symbol);
        subscriber.setView(symbol, view);
        this.#subscribersOf(symbol).add(subscriber);
      }
    }
    if (from !== null && 'held' in from) this.#streamRelayed(subscriber, from);
    else this.#streamFrom(subscriber, from?.epoch === this.#cursorEpoch ? from : null);
  }

  /** Whether an SSE cursor is one of this node's own, which its journal resumes (others may be another edge's). */
  ownsCursor(cursor: SseCursor): boolean {
    return cursor.epoch === this.#cursorEpoch;
  }

  /** Resolves at the next commit of `symbol`, or after `timeoutMs`, or when the hub closes. */
  waitForCommit(symbol: string, timeoutMs: number): Promise<void> {
    if (this.#closing) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(symbol) ?? new Set<() => void>();
      this.#waiters.set(symbol, waiters);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(symbol) === waiters) this.#waiters.delete(symbol);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      waiters.add(done);
    });
  }

  #closing: Promise<void> | null = null;

  /** Wakes every long poll and drops every subscriber. Memoised: every call gets the same promise. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = Promise.resolve();
    this.#stopListening();
    if (this.#stallTimer) clearInterval(this.#stallTimer);
    this.#stallTimer = null;
    for (const waiters of [...this.#waiters.values()]) for (const done of [...waiters]) done();
    this.#subscribers.clear();
    this.#bySymbol.clear();
    this.#wildcard.clear();
    this.#stalled.clear();
    return this.#closing;
  }

  #intern(view: View | null): View | null {
    if (view === null) return null;
    const known = this.#interned.get(view.key);
    if (known) return known;
    // Interning only saves work: past a bound (clients making up views) it starts over.
    if (this.#interned.size >= MAX_INTERNED_VIEWS) this.#interned.clear();
    this.#interned.set(view.key, view);
    return view;
  }

  #subscribersOf(symbol: string): Set<Subscriber> {
    let set = this.#bySymbol.get(symbol);
    if (!set) {
      set = new Set();
      this.#bySymbol.set(symbol, set);
    }
    return set;
  }

  #removeFrom(symbol: string, subscriber: Subscriber): void {
    const set = this.#bySymbol.get(symbol);
    if (set?.delete(subscriber) && set.size === 0) this.#bySymbol.delete(symbol);
  }

  #onCommit({ state, entry, ops, timing }: CommitEvent): void {
    const named = this.#bySymbol.get(state.symbol);
    if (!entry) this.#views.reset(state);
    if ((named?.size ?? 0) + this.#wildcard.size > 0) {
      const epoch = this.#store.epoch;
      const whole = {
        json: entry ? entry.messageJson : this.#snapshotJson(state, null),
        event: entry ? ('patch' as const) : ('snapshot' as const),
        epoch: this.#cursorEpoch,
        gseq: state.gseq,
        base: state.gseq,
      };
      const wholeOut: Outgoing = { message: whole, frames: new Map() };
      /** Per view: its message of this commit and its frames, or null when the commit changed nothing of it. */
      let viewOut: Map<string, Outgoing | null> | undefined;
      // Clients of one view usually follow one another: the last view's answer spares a lookup.
      let lastView: View | undefined;
      let lastOut: Outgoing | null = null;
      const outgoingOf = (view: View): Outgoing | null => {
        if (view === lastView) return lastOut;
        viewOut ??= new Map();
        let out = viewOut.get(view.key);
        lastView = view;
        if (out !== undefined) {
          lastOut = out;
          return out;
        }
        out = null;
        if (entry && ops) {
          const viewOps = restrictOps(ops, view);
          const base = this.#views.advance(state, view, viewOps.length > 0);
          if (viewOps.length > 0) out = { message: { ...whole, json: patchMessage(state.symbol, epoch, state.seq, base, viewOps) }, frames: new Map() };
        } else {
          out = { message: { ...whole, json: this.#snapshotJson(state, view) }, frames: new Map() };
        }
        viewOut.set(view.key, out);
        lastOut = out;
        return out;
      };
      const sent: Record<TransportKind, number> = { ws: 0, sse: 0 };
      const deliver = (subscriber: Subscriber): void => {
        const view = subscriber.viewOf(state.symbol);
        // A view's version moves on at every commit, whoever of its clients is behind.
        const out = view === null ? wholeOut : outgoingOf(view);
        if (out === null || subscriber.stalledAt > 0 || this.#isBehind(subscriber)) return;
        const outlet = subscriber.outlet;
        let frame = out.frames.get(outlet.encoding);
        if (!frame) {
          frame = outlet.encoding.encode(out.message);
          out.frames.set(outlet.encoding, frame);
        }
        outlet.write(frame);
        sent[outlet.kind]++;
      };
      for (const subscriber of this.#wildcard) if (subscriber.filter === null || subscriber.filter.allows(state.symbol)) deliver(subscriber);
      if (named) for (const subscriber of named) if (!subscriber.wildcard) deliver(subscriber);
      if (viewOut) this.#views.prune(state);
      if (this.#counters) {
        this.#counters.deliveries.ws.add(sent.ws);
        this.#counters.deliveries.sse.add(sent.sse);
      }
    }
    if (timing && this.#counters) {
      this.#counters.writeToSend.record(Date.now() - timing.writtenAt);
      this.#counters.readToSend.record(performance.now() - timing.readAt);
    }
    const waiters = this.#waiters.get(state.symbol);
    if (waiters) for (const done of [...waiters]) done();
  }

  /** Brings a client's copy of one symbol up to date (Hub.subscribe: no bridge-wide cursor). */
  #catchUp(subscriber: Subscriber, state: SymbolState, from: ResumePoint | undefined): void {
    const view = subscriber.viewOf(state.symbol);
    if (from?.epoch === this.#store.epoch) {
      const missed = view === null ? this.#wholeSince(state, from.seq) : this.#viewSince(state, view, from.seq);
      if (missed) {
        for (const patch of missed) subscriber.outlet.write(this.#encode(subscriber, patch.json, 'patch', patch.gseq, patch.gseq));
        return;
      }
    }
    subscriber.outlet.write(this.#snapshotFrame(state, subscriber.outlet.encoding, view));
  }

  /** The journal's patches after `seq` (none when it is the current one), or null when they are not all held. */
  #wholeSince(state: SymbolState, seq: number): ReplayedPatch[] | null {
    if (seq === state.seq) return [];
    const missed = state.journal.since(seq);
    return missed?.map((entry) => ({ json: entry.messageJson, gseq: entry.gseq })) ?? null;
  }

  /**
   * The view's patches after its version `seq`, each based on the one before (PROTOCOL.md §8),
   * commits that changed nothing of it left out; null when the journal cannot bring `seq` to
   * the view's current version.
   */
  #viewSince(state: SymbolState, view: View, seq: number): ReplayedPatch[] | null {
    const missed = state.journal.since(seq);
    return missed ? this.#viewChain(state, view, seq, missed) : null;
  }

  /** `entries` as the view's patches from its version `base`; null when they do not end at its current version. */
  #viewChain(state: SymbolState, view: View, base: number, entries: readonly JournalEntry[]): ReplayedPatch[] | null {
    const out: ReplayedPatch[] = [];
    let at = base;
    for (const entry of entries) {
      const ops = viewOpsOf(entry, view);
      if (ops.length === 0) continue;
      out.push({ json: patchMessage(state.symbol, this.#store.epoch, entry.seq, at, ops), gseq: entry.gseq });
      at = entry.seq;
    }
    return at === this.#views.versionOf(state, view) ? out : null;
  }

  /**
   * The snapshot of a symbol's current version (of one view) in one encoding, built once per
   * version however many clients ask for it (a thousand clients reconnecting after a restart).
   * Its stream position is the symbol's last commit: only Hub.subscribe's clients get it, whose
   * encoding sends no position.
   */
  #snapshotFrame(state: SymbolState, encoding: Encoding, view: View | null): Buffer {
    let cached = this.#snapshots.get(state);
    if (cached?.seq !== state.seq) {
      cached = { seq: state.seq, frames: new Map() };
      this.#snapshots.set(state, cached);
    }
    const key = view?.key ?? WHOLE;
    let frames = cached.frames.get(key);
    if (!frames) {
      frames = new Map();
      cached.frames.set(key, frames);
    }
    let frame = frames.get(encoding);
    if (!frame) {
      frame = encoding.encode({ json: this.#snapshotJson(state, view), event: 'snapshot', epoch: this.#cursorEpoch, gseq: state.gseq, base: state.gseq });
      frames.set(encoding, frame);
    }
    return frame;
  }

  /**
   * A symbol's snapshot as the HTTP route serves it: the document, or the view's, with its seq
   * (a view's is its version: the seq of its last change).
   */
  snapshotOf(state: SymbolState, view: View | null): { seq: number; documentJson: string } {
    if (view === null) return { seq: state.seq, documentJson: state.documentJson() };
    return { seq: this.#views.versionOf(state, view), documentJson: JSON.stringify(restrictDocument(state.document, view)) };
  }

  /**
   * The view's patches after `seq` as the HTTP patches route lists them (PROTOCOL.md §8), or
   * null when they are no longer all held. Unlike a stream's, they may end before the view's
   * version: a poll starts a fresh chain from whatever seq it is given.
   */
  viewPatchesSince(state: SymbolState, view: View, seq: number): { seq: number; base: number; opsJson: string }[] | null {
    const missed = state.journal.since(seq);
    if (!missed) return null;
    const out: { seq: number; base: number; opsJson: string }[] = [];
    let at = seq;
    for (const entry of missed) {
      const ops = viewOpsOf(entry, view);
      if (ops.length === 0) continue;
      out.push({ seq: entry.seq, base: at, opsJson: JSON.stringify(ops) });
      at = entry.seq;
    }
    return out;
  }

  #snapshotJson(state: SymbolState, view: View | null): string {
    const { seq, documentJson } = this.snapshotOf(state, view);
    return snapshotMessage(state.symbolJson, this.#store.epoch, seq, documentJson);
  }

  #encode(subscriber: Subscriber, json: string, event: DataEvent, gseq: number, base: number): Buffer {
    return subscriber.outlet.encoding.encode({ json, event, epoch: this.#cursorEpoch, gseq, base });
  }

  /** The epoch an SSE cursor names: the store's, scoped to this node on an edge. */
  get #cursorEpoch(): string {
    return this.#cursorScope === null ? this.#store.epoch : `${this.#store.epoch}.${this.#cursorScope}`;
  }

  #streamFrom(subscriber: Subscriber, cursor: SseCursor | null): void {
    const base = cursor?.base ?? 0;
    const replay: ReplayedPatch[] = [];
    const unknown: SymbolState[] = [];
    for (const state of this.#targetsOf(subscriber)) {
      const missed = cursor && state.journal.floorGseq <= base ? this.#streamSince(state, subscriber.viewOf(state.symbol), cursor.gseq) : null;
      if (missed) replay.push(...missed);
      else unknown.push(state);
    }
    replay.sort((a, b) => a.gseq - b.gseq);
    const pendingBase = unknown.length > 0 ? base : undefined;
    for (const patch of replay) {
      subscriber.outlet.write(this.#encode(subscriber, patch.json, 'patch', patch.gseq, pendingBase ?? patch.gseq));
    }
    const now = this.#store.gseq;
    unknown.forEach((state, index) => {
      const json = this.#snapshotJson(state, subscriber.viewOf(state.symbol));
      subscriber.outlet.write(this.#encode(subscriber, json, 'snapshot', now, index === unknown.length - 1 ? now : base));
    });
    subscriber.burstBytes = subscriber.outlet.backlogBytes;
  }

  /**
   * SSE subscribe from another edge's cursor, resolved (model/wire.ts RelayedCursor): of each
   * symbol the client holds, the journal's patches after the version it holds, in commit order;
   * then snapshots of the symbols it does not hold. Until the last of them, ids carry the
   * positions resumed from, so a client cut off on the way resumes on any edge with no loss and
   * no duplicate; the last gets this node's own id, since the client then holds what this node
   * holds. When a symbol cannot be replayed (its patches are no longer held, or this node is
   * still behind the client) every symbol gets a fresh snapshot instead.
   */
  #streamRelayed(subscriber: Subscriber, resume: RelayedResume): void {
    const replay: ReplayedPatch[] = [];
    const fresh: SymbolState[] = [];
    for (const state of this.#targetsOf(subscriber)) {
      const held = resume.held.get(state.symbol);
      if (held === undefined) {
        fresh.push(state);
        continue;
      }
      const missed =
        resume.epoch === this.#store.epoch && held <= state.seq ? this.#streamPatches(state, subscriber.viewOf(state.symbol), state.journal.since(held)) : null;
      if (!missed) {
        this.#streamFrom(subscriber, null);
        return;
      }
      replay.push(...missed);
    }
    replay.sort((a, b) => a.gseq - b.gseq);
    const now = this.#store.gseq;
    const last = replay.length + fresh.length - 1;
    const write = (index: number, json: string, event: DataEvent, gseq: number): void => {
      const message =
        index === last
          ? { json, event, epoch: this.#cursorEpoch, gseq: now, base: now }
          : { json, event, epoch: this.#cursorEpoch, gseq, base: gseq, relay: resume.relay };
      subscriber.outlet.write(subscriber.outlet.encoding.encode(message));
    };
    replay.forEach((patch, index) => write(index, patch.json, 'patch', patch.gseq));
    fresh.forEach((state, index) => write(replay.length + index, this.#snapshotJson(state, subscriber.viewOf(state.symbol)), 'snapshot', now));
    subscriber.burstBytes = subscriber.outlet.backlogBytes;
  }

  /** A stream's patches of one symbol after bridge-wide commit `gseq`, or null when they are not all held. */
  #streamSince(state: SymbolState, view: View | null, gseq: number): ReplayedPatch[] | null {
    return this.#streamPatches(state, view, state.journal.sinceGseq(gseq));
  }

  /**
   * A stream's patches of one symbol from `missed`, the journal's patches after what the client
   * holds (null when they are not all held). A view's client holds the version of the view's
   * last patch before them, or the symbol's first when none changed the view.
   */
  #streamPatches(state: SymbolState, view: View | null, missed: JournalEntry[] | null): ReplayedPatch[] | null {
    if (!missed) return null;
    if (view === null) return missed.map((entry) => ({ json: entry.messageJson, gseq: entry.gseq }));
    const held = state.journal.since(state.journal.floorSeq) ?? [];
    let version: number | undefined;
    for (let i = held.length - missed.length - 1; i >= 0 && version === undefined; i--) {
      const entry = held[i] as JournalEntry;
      if (viewOpsOf(entry, view).length > 0) version = entry.seq;
    }
    // None held changed it: the client holds the first version if the journal still starts there;
    // after the journal dropped patches, which version it holds is not known (a snapshot).
    version ??= state.journal.floorSeq === 1 ? 1 : undefined;
    return version === undefined ? null : this.#viewChain(state, view, version, missed);
  }

  *#targetsOf(subscriber: Subscriber): Iterable<SymbolState> {
    if (subscriber.wildcard) {
      for (const state of this.#store.symbols()) if (subscriber.filter === null || subscriber.filter.allows(state.symbol)) yield state;
      return;
    }
    for (const symbol of subscriber.symbols) {
      const state = this.#store.get(symbol);
      if (state) yield state;
    }
  }

  /**
   * A client is behind when what it has not read yet of earlier messages passes the
   * high-water mark as the next one arrives (one large message alone never makes it so).
   * It then stops getting patches (the current one included), or is closed.
   */
  #isBehind(subscriber: Subscriber): boolean {
    const backlog = subscriber.outlet.backlogBytes;
    if (backlog <= this.#options.lowWaterBytes) subscriber.burstBytes = 0;
    if (backlog <= this.#options.highWaterBytes + subscriber.burstBytes) return false;
    const message = `more than ${this.#options.highWaterBytes} bytes were waiting to be sent`;
    if (this.#options.slowConsumer === 'close') {
      this.#logger.warn({ event: 'slow_consumer_dropped', backlog }, 'slow consumer closed');
      this.#counters?.slowConsumers.closed.add();
      subscriber.outlet.close('SLOW_CONSUMER', message);
      this.detach(subscriber);
      return true;
    }
    this.#logger.warn({ event: 'slow_consumer_paused', backlog }, 'slow consumer: patches paused until it drains');
    this.#counters?.slowConsumers.paused.add();
    subscriber.stalledAt = performance.now();
    this.#stalled.add(subscriber);
    this.#stallTimer ??= setInterval(() => this.#checkStalled(), STALL_CHECK_MS);
    return true;
  }

  #checkStalled(): void {
    const now = performance.now();
    for (const subscriber of this.#stalled) {
      if (subscriber.outlet.backlogBytes <= this.#options.lowWaterBytes) {
        this.#stalled.delete(subscriber);
        subscriber.stalledAt = 0;
        subscriber.outlet.notify('SLOW_CONSUMER', 'patches were dropped while the connection was behind; fresh snapshots follow');
        this.#counters?.slowConsumers.resnapshot.add();
        this.#resnapshot(subscriber);
      } else if (now - subscriber.stalledAt > this.#options.slowCloseAfterMs) {
        this.#logger.warn({ event: 'slow_consumer_dropped' }, 'slow consumer did not drain in time; closed');
        this.#counters?.slowConsumers.closed.add();
        subscriber.outlet.close('SLOW_CONSUMER', `did not drain within ${this.#options.slowCloseAfterMs} ms`);
        this.detach(subscriber);
      }
    }
    if (this.#stalled.size === 0 && this.#stallTimer) {
      clearInterval(this.#stallTimer);
      this.#stallTimer = null;
    }
  }

  #resnapshot(subscriber: Subscriber): void {
    if (subscriber.streamed) {
      this.#streamFrom(subscriber, null);
      return;
    }
    for (const state of this.#targetsOf(subscriber)) this.#catchUp(subscriber, state, undefined);
    subscriber.burstBytes = subscriber.outlet.backlogBytes;
  }
}
