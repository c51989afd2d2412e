import type { Version } from '../types.js';
import { TapeError } from '../../model/errors.js';
import { readNotice, readPatchList, readSnapshot, WireError } from '../wire.js';
import { authorization, partsQuery, type Transport, type TransportContext, type TransportEvents } from './transport.js';

/** One symbol's polling loop. */
interface Loop {
  stopped: boolean;
  /** The next request fetches a snapshot instead of the patches. */
  needsSnapshot: boolean;
  /** The request in flight, aborted by resync() and by stopping the loop. */
  request: AbortController | undefined;
}

interface Answer {
  status: number;
  body: unknown;
}

/** A request that failed for a reason that ends the transport (network, timeout, an unexpected status). */
class PollFailure extends TapeError {
  constructor(message: string, options?: ErrorOptions) {
    super('BRIDGE_UNREACHABLE', message, options);
  }
}

/**
 * HTTP polling (PROTOCOL.md §5), the last resort: a loop per symbol that fetches its
 * snapshot, then its patches since the held seq, long-polling with `waitMs`. At most
 * `poll.maxConcurrent` requests are in flight; with more symbols than that, each polls
 * without waiting, `poll.intervalMs` apart. For `*` the symbol list is re-read at that
 * interval. A 410 (patches no longer held, or the epoch is over) means a snapshot.
 */
export class PollTransport implements Transport {
  readonly kind = 'poll';
  readonly #context: TransportContext;
  readonly #events: TransportEvents;
  readonly #closed = new AbortController();
  readonly #loops = new Map<string, Loop>();
  readonly #running = new Set<Promise<void>>();
  /** Loops pausing between polls, woken when the transport shuts down. */
  readonly #sleepers = new Set<() => void>();
  readonly #slots: Slots;
  #headers: Record<string, string> = {};
  #known: string[] = [];
  #listTimer: ReturnType<typeof setInterval> | undefined;
  #listing = false;
  #opened = false;
  #done = false;

  constructor(context: TransportContext, events: TransportEvents) {
    this.#context = context;
    this.#events = events;
    this.#slots = new Slots(context.options.poll.maxConcurrent);
  }

  start(): void {
    this.#track(this.#begin());
  }

  update(): void {
    if (this.#opened) this.#sync();
  }

  resync(symbol: string, from: Version | undefined): void {
    const loop = this.#loops.get(symbol);
    if (!loop) return;
    if (!from) loop.needsSnapshot = true;
    loop.request?.abort();
  }

  async close(): Promise<void> {
    this.#shutDown();
    await Promise.all(this.#running);
  }

  async #begin(): Promise<void> {
    try {
      this.#headers = await authorization(this.#context.options);
    } catch (error) {
      this.#end(`the token function failed: ${(error as Error).message}`);
      return;
    }
    const epoch = await this.#list();
    if (epoch === null || this.#done) return;
    this.#opened = true;
    this.#events.opened(epoch);
    this.#sync();
  }

  /** Reads the symbol list; returns the epoch it names (undefined when empty), or null when it failed. */
  async #list(): Promise<string | undefined | null> {
    this.#listing = true;
    try {
      const answer = await this.#get('/v1/symbols', this.#context.options.connectTimeoutMs, undefined);
      if (answer === null) return null;
      const entries = (answer.body as { symbols?: { symbol?: unknown; epoch?: unknown }[] } | null)?.symbols;
      if (answer.status !== 200 || !Array.isArray(entries)) throw new PollFailure(`GET /v1/symbols answered ${answer.status}`);
      this.#known = entries.flatMap((entry) => (typeof entry.symbol === 'string' ? [entry.symbol] : []));
      const epoch = entries[0]?.epoch;
      return typeof epoch === 'string' ? epoch : undefined;
    } catch (error) {
      this.#fail(error);
      return null;
    } finally {
      this.#listing = false;
    }
  }

  /** Starts a loop for every wanted symbol and stops the others; re-reads the list while `*` is wanted. */
  #sync(): void {
    if (this.#done) return;
    const wanted = this.#context.wanted();
    const wildcard = wanted.includes('*');
    const symbols = new Set(wanted.filter((symbol) => symbol !== '*'));
    if (wildcard) for (const symbol of [...this.#known, ...this.#context.held()]) symbols.add(symbol);
    for (const [symbol, loop] of this.#loops) {
      if (symbols.has(symbol)) continue;
      loop.stopped = true;
      loop.request?.abort();
      this.#loops.delete(symbol);
    }
    for (const symbol of symbols) {
      if (this.#loops.has(symbol)) continue;
      const loop: Loop = { stopped: false, needsSnapshot: false, request: undefined };
      this.#loops.set(symbol, loop);
      this.#track(this.#poll(symbol, loop));
    }
    if (wildcard && !this.#listTimer) {
      this.#listTimer = setInterval(() => {
        if (this.#listing) return;
        void this.#list().then((epoch) => epoch !== null && this.#sync());
      }, this.#context.options.poll.intervalMs);
    } else if (!wildcard && this.#listTimer) {
      clearInterval(this.#listTimer);
      this.#listTimer = undefined;
    }
  }

  /** Read through a call: close() or an unsubscribe may land while a request awaits, which a narrowed field would hide. */
  #stopped(loop?: Loop): boolean {
    return this.#done || loop?.stopped === true;
  }

  async #poll(symbol: string, loop: Loop): Promise<void> {
    while (!this.#stopped(loop)) {
      await this.#slots.acquire();
      let pause: number;
      try {
        if (this.#stopped(loop)) return;
        pause = await this.#step(symbol, loop);
      } catch (error) {
        this.#fail(error);
        return;
      } finally {
        this.#slots.release();
      }
      if (pause > 0) await this.#sleep(pause);
    }
  }

  /** One request of a symbol's loop; returns how long to pause before the next. */
  async #step(symbol: string, loop: Loop): Promise<number> {
    const { poll, connectTimeoutMs, livenessTimeoutMs } = this.#context.options;
    const path = `/v1/symbols/${encodeURIComponent(symbol)}`;
    const from = loop.needsSnapshot ? undefined : this.#context.resumeFrom(symbol);
    if (!from) {
      const answer = await this.#get(`${path}${partsQuery(this.#context.parts(), '?')}`, connectTimeoutMs, loop);
      if (answer === null) return 0;
      // Not there yet: its snapshot comes once it appears.
      if (answer.status === 404) return poll.intervalMs;
      if (answer.status !== 200) throw unexpected(answer, path);
      const snapshot = readSnapshot((answer.body ?? {}) as Record<string, unknown>);
      if (snapshot instanceof WireError) throw new PollFailure(snapshot.message, { cause: snapshot });
      loop.needsSnapshot = false;
      this.#deliver(loop, [snapshot]);
      return 0;
    }
    const longPoll = this.#loops.size <= poll.maxConcurrent;
    const waitMs = longPoll ? poll.waitMs : 0;
    const query = `?epoch=${encodeURIComponent(from.epoch)}&since=${from.seq}${waitMs > 0 ? `&waitMs=${waitMs}` : ''}${partsQuery(this.#context.parts(), '&')}`;
    const answer = await this.#get(`${path}/patches${query}`, waitMs + livenessTimeoutMs, loop);
    if (answer === null) return 0;
    if (answer.status === 410 || answer.status === 404) {
      loop.needsSnapshot = true;
      return 0;
    }
    if (answer.status !== 200) throw unexpected(answer, path);
    const patches = readPatchList(answer.body);
    if (patches instanceof WireError) throw new PollFailure(patches.message, { cause: patches });
    this.#deliver(loop, patches);
    return longPoll ? 0 : poll.intervalMs;
  }

  #deliver(loop: Loop, messages: Parameters<TransportEvents['message']>[0][]): void {
    for (const message of messages) {
      if (loop.stopped || this.#done || !this.#events.message(message)) return;
    }
  }

  /**
   * GET with the token and a deadline. Null when the loop's own request was aborted (a
   * resync or the loop stopped): the caller just goes round again.
   */
  async #get(path: string, timeoutMs: number, loop: Loop | undefined): Promise<Answer | null> {
    const request = new AbortController();
    if (loop) loop.request = request;
    // A field, not a local: the timer sets it while the request awaits.
    const deadline = { passed: false };
    const timer = setTimeout(() => {
      deadline.passed = true;
      request.abort();
    }, timeoutMs);
    try {
      const response = await this.#context.options.fetch(`${this.#context.endpoint.http}${path}`, {
        headers: { accept: 'application/json', ...this.#headers },
        signal: AbortSignal.any([this.#closed.signal, request.signal]),
      });
      const text = await response.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      return { status: response.status, body };
    } catch (error) {
      if (this.#stopped()) return null;
      if (deadline.passed) throw new PollFailure(`no answer to ${path} within ${timeoutMs} ms`);
      if (request.signal.aborted) return null;
      throw new PollFailure(`cannot reach ${path}: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
      if (loop?.request === request) loop.request = undefined;
    }
  }

  #fail(error: unknown): void {
    if (error instanceof PollFailure) this.#end(error.message);
    else this.#end(`polling failed: ${(error as Error).message}`);
  }

  #track(task: Promise<void>): void {
    this.#running.add(task);
    void task.finally(() => this.#running.delete(task));
  }

  #shutDown(): void {
    if (this.#done) return;
    this.#done = true;
    clearInterval(this.#listTimer);
    this.#closed.abort();
    this.#slots.wakeAll();
    for (const wake of [...this.#sleepers]) wake();
  }

  /**
   * Waits `ms`, or until the transport shuts down. Each sleeper is a callback in a set, not a
   * listener on the shared `closed` signal: with more than ten symbols polling, that signal
   * would get more than ten listeners and Node would warn of a leak.
   */
  #sleep(ms: number): Promise<void> {
    if (this.#done) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepers.add(done);
    });
  }

  #end(reason: string): void {
    if (this.#done) return;
    this.#shutDown();
    this.#events.ended(reason, this.#opened);
  }
}

function unexpected(answer: Answer, path: string): PollFailure {
  const { code, message } = readNotice(answer.body, answer.status);
  return new PollFailure(`${path} answered ${answer.status} ${code}: ${message}`);
}

/** Bounds the requests in flight. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  #woken = false;

  constructor(count: number) {
    this.#free = count;
  }

  async acquire(): Promise<void> {
    if (this.#woken) return;
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }

  /** Lets every waiter through (the transport is closing; they see it and stop). */
  wakeAll(): void {
    this.#woken = true;
    for (const resolve of this.#waiting.splice(0)) resolve();
  }
}
