import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Version } from '../types.js';
import { parseJson, readNotice, readPatch, readSnapshot, WireError } from '../wire.js';
import { authorization, Liveness, partsQuery, type Transport, type TransportContext, type TransportEvents } from './transport.js';

interface Stream {
  readonly controller: AbortController;
  /** `*`, or the sorted symbols of the request. */
  readonly key: string;
}

/**
 * `GET /v1/sse` (PROTOCOL.md §4) read with fetch, so that it can send an Authorization
 * header and runs the same in Node and browsers. Every processed event's id becomes the
 * cursor (`lastEventId`) the next request resumes from. A change of the symbols, or a
 * resync, restarts the request: from the cursor, or from nothing (fresh snapshots) when a
 * document must be replaced or a symbol was added (the cursor does not cover it).
 */
export class SseTransport implements Transport {
  readonly kind = 'sse';
  readonly #context: TransportContext;
  readonly #events: TransportEvents;
  readonly #liveness: Liveness;
  #stream: Stream | undefined;
  #restart: 'cursor' | 'fresh' | undefined;
  #running: Promise<void> = Promise.resolve();
  #opened = false;
  #done = false;

  constructor(context: TransportContext, events: TransportEvents) {
    this.#context = context;
    this.#events = events;
    const timeoutMs = context.options.livenessTimeoutMs;
    this.#liveness = new Liveness(timeoutMs, Math.max(10, Math.floor(timeoutMs / 4)), () => this.#end(`nothing received for ${timeoutMs} ms`));
  }

  start(): void {
    this.#running = this.#open();
  }

  /** A new request for the new symbols. The client has dropped the cursor if it does not cover them. */
  update(): void {
    if (this.#stream?.key !== streamKey(this.#context.wanted())) this.#scheduleRestart('cursor');
  }

  resync(_symbol: string, from: Version | undefined): void {
    this.#scheduleRestart(from ? 'cursor' : 'fresh');
  }

  close(): Promise<void> {
    if (!this.#done) {
      this.#done = true;
      this.#liveness.stop();
      this.#stream?.controller.abort();
      this.#stream = undefined;
    }
    return this.#running;
  }

  /** Stops reading the current stream at once; opens the next one after the current task. */
  #scheduleRestart(mode: 'cursor' | 'fresh'): void {
    if (this.#done) return;
    this.#stream?.controller.abort();
    this.#stream = undefined;
    if (this.#restart === undefined) {
      queueMicrotask(() => {
        const fresh = this.#restart === 'fresh';
        this.#restart = undefined;
        if (this.#done) return;
        if (fresh) this.#context.sseCursor = null;
        this.#liveness.touch();
        this.#running = this.#open();
      });
    }
    if (this.#restart !== 'fresh') this.#restart = mode;
  }

  async #open(): Promise<void> {
    const { options, endpoint } = this.#context;
    const key = streamKey(this.#context.wanted());
    const stream: Stream = { controller: new AbortController(), key };
    this.#stream = stream;
    const current = (): boolean => this.#stream === stream && !this.#done;
    let headers: Record<string, string>;
    try {
      headers = await authorization(options);
    } catch (error) {
      if (current()) this.#end(`the token function failed: ${(error as Error).message}`);
      return;
    }
    if (!current()) return;
    const cursor = this.#context.sseCursor;
    // Nothing subscribed: no stream to open, but the bridge must be reachable for this transport to be open.
    const url =
      key === ''
        ? `${endpoint.http}/v1/symbols`
        : `${endpoint.http}/v1/sse?symbols=${encodeURIComponent(key)}${partsQuery(this.#context.parts(), '&')}${cursor ? `&lastEventId=${encodeURIComponent(cursor)}` : ''}`;
    const timer = setTimeout(() => stream.controller.abort(), options.connectTimeoutMs);
    let response: Response;
    try {
      response = await options.fetch(url, {
        headers: { accept: key === '' ? 'application/json' : 'text/event-stream', ...headers },
        signal: stream.controller.signal,
      });
    } catch (error) {
      if (current()) this.#end(`cannot reach ${url}: ${describe(error)}`);
      return;
    } finally {
      clearTimeout(timer);
    }
    if (!current()) {
      await response.body?.cancel().catch(() => undefined);
      return;
    }
    if (!response.ok || (key !== '' && !response.body)) {
      const { code, message } = readNotice(await response.json().catch(() => null), response.status);
      this.#end(`HTTP ${response.status} from ${url}: ${code} ${message}`);
      return;
    }
    if (!this.#opened) {
      this.#opened = true;
      this.#liveness.start();
      this.#events.opened(undefined);
    }
    if (key === '' || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      return;
    }
    await this.#read(response.body, stream, current);
  }

  async #read(body: ReadableStream<Uint8Array>, stream: Stream, current: () => boolean): Promise<void> {
    const parser = createParser({ onEvent: (event) => current() && this.#event(event, current) });
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (!current()) break;
        if (done) {
          this.#end('the bridge ended the stream');
          break;
        }
        this.#liveness.touch();
        parser.feed(value);
      }
    } catch (error) {
      if (current()) this.#end(`the stream failed: ${describe(error)}`);
    } finally {
      stream.controller.abort();
      await reader.cancel().catch(() => undefined);
    }
  }

  #event(event: EventSourceMessage, current: () => boolean): void {
    if (event.event === 'snapshot' || event.event === 'patch') {
      const value = parseJson(event.data);
      const message = value instanceof WireError ? value : event.event === 'snapshot' ? readSnapshot(value) : readPatch(value);
      if (message instanceof WireError) {
        this.#events.notice({ code: message.code, message: message.message });
        return;
      }
      // The cursor moves only past what the client took in; a resync replays from before it.
      if (this.#events.message(message) && event.id !== undefined && current()) this.#context.sseCursor = event.id;
    } else if (event.event === 'notice') {
      this.#events.notice(readNotice(parseJson(event.data)));
    }
  }

  #end(reason: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#liveness.stop();
    this.#stream?.controller.abort();
    this.#stream = undefined;
    this.#events.ended(reason, this.#opened);
  }
}

/** `*` when everything is wanted, else the sorted symbols, comma-separated ('' for none). */
function streamKey(wanted: readonly string[]): string {
  return wanted.includes('*') ? '*' : [...wanted].sort().join(',');
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { message?: string } }).cause?.message;
  return `${(error as Error).message}${cause ? ` (${cause})` : ''}`;
}
