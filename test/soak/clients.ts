import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import jsonpatch from 'fast-json-patch';
import WebSocket from 'ws';
import { connect, type ClientEventName, type TapeClient } from '../../src/client/index.js';
import { frameText, type ServerMessage } from '../helpers/clients.js';
import { CuttingProxy } from '../helpers/cutting-proxy.js';
import type { Random } from './feeds.js';

/** A document as a client holds it. */
export interface HeldVersion {
  epoch: string;
  seq: number;
  data: unknown;
}

/** What every soak client offers the checkpoints and the summary. */
export interface SoakClient {
  readonly name: string;
  /** `*`, or the symbols it follows. */
  readonly wants: '*' | ReadonlySet<string>;
  /** Protocol breaches it saw: a gap nobody announced, a patch that does not apply, a version going back. */
  readonly violations: string[];
  readonly counts: Record<string, number>;
  /** The document it holds of `symbol`. */
  held(symbol: string): HeldVersion | undefined;
  /** Performs one of its disruptive actions (a stall, a cut, a switch...); returns its name. */
  act(random: Random): Promise<string>;
  /** Ends every disruption in progress, so that it can converge. */
  calm(): Promise<void>;
  close(): Promise<void>;
}

const between = (random: Random, min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client written from PROTOCOL.md alone, with none of the SDK's leniency: per symbol a
 * snapshot, then patches whose seq is exactly one above the version held, in its epoch.
 * Anything else is a violation, except a repeat of a patch it already applied (a resume
 * overlapping traffic in flight), which must carry the same ops. It speaks WebSocket
 * (resuming with `(epoch, seq)`) or SSE (resuming with Last-Event-ID), and switches. Given
 * several URLs (the edges of a cluster), a connection refused moves it to the next one.
 */
export class RawClient implements SoakClient {
  readonly violations: string[] = [];
  readonly counts: Record<string, number> = { snapshots: 0, patches: 0, duplicates: 0, connections: 0 };
  readonly #documents = new Map<string, HeldVersion>();
  /** Ops of the last patches applied per symbol, by seq: a repeat must match. */
  readonly #recent = new Map<string, Map<number, string>>();
  #transport: 'ws' | 'sse';
  #ws: WebSocket | null = null;
  #sse: { request: ClientRequest; response: IncomingMessage | null } | null = null;
  #lastEventId: string | undefined;
  #buffer = '';
  #stallTimer: NodeJS.Timeout | null = null;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #closed = false;
  /** The URL connected to, of `urls`: a connection refused moves to the next (a client failing over to another edge). */
  #at = 0;
  #opened = false;

  constructor(
    readonly name: string,
    private readonly urls: readonly string[],
    transport: 'ws' | 'sse',
    readonly wants: '*' | ReadonlySet<string>,
  ) {
    this.#transport = transport;
  }

  get transport(): 'ws' | 'sse' {
    return this.#transport;
  }

  get #url(): string {
    return this.urls[this.#at % this.urls.length] as string;
  }

  held(symbol: string): HeldVersion | undefined {
    return this.#documents.get(symbol);
  }

  start(): void {
    this.#connect();
  }

  act(random: Random): Promise<string> {
    const actions = ['stall', 'drop', 'reconnect', 'switch', ...(this.#transport === 'ws' ? ['resubscribe'] : [])];
    const action = actions[Math.floor(random() * actions.length)] as string;
    switch (action) {
      case 'stall':
        this.#pause(between(random, 500, 4000));
        break;
      case 'drop':
        // No close frame, no goodbye: the socket just goes.
        this.#ws?.terminate();
        this.#sse?.request.destroy();
        break;
      case 'reconnect':
        this.#ws?.close();
        this.#sse?.request.destroy();
        break;
      case 'switch':
        this.#transport = this.#transport === 'ws' ? 'sse' : 'ws';
        // An SSE cursor counts commits of that stream only: a stream started anew takes snapshots.
        this.#lastEventId = undefined;
        this.#ws?.close();
        this.#sse?.request.destroy();
        break;
      case 'resubscribe': {
        const symbols = [...this.#documents.keys()];
        const symbol = symbols[Math.floor(random() * symbols.length)];
        if (symbol !== undefined && this.wants !== '*') {
          this.#send({ op: 'unsubscribe', symbols: [symbol] });
          this.#send({ op: 'subscribe', symbols: [symbol], resume: this.#resume([symbol]) });
        }
        break;
      }
    }
    return Promise.resolve(`raw-${action}`);
  }

  calm(): Promise<void> {
    if (this.#stallTimer) {
      clearTimeout(this.#stallTimer);
      this.#stallTimer = null;
      this.#resumeReading();
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    if (this.#stallTimer) clearTimeout(this.#stallTimer);
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#ws?.terminate();
    this.#sse?.request.destroy();
    return Promise.resolve();
  }

  #connect(): void {
    this.#reconnectTimer = null;
    if (this.#closed) return;
    this.counts.connections = (this.counts.connections ?? 0) + 1;
    this.#opened = false;
    if (this.#transport === 'ws') this.#connectWs();
    else this.#connectSse();
  }

  #ended(): void {
    if (this.#closed || this.#reconnectTimer) return;
    if (!this.#opened && this.urls.length > 1) {
      this.#at++;
      this.counts.failovers = (this.counts.failovers ?? 0) + 1;
    }
    this.#ws = null;
    this.#sse = null;
    this.#reconnectTimer = setTimeout(() => this.#connect(), 50 + Math.floor(Math.random() * 250));
  }

  #connectWs(): void {
    const socket = new WebSocket(`${this.#url.replace(/^http/, 'ws')}/v1/ws`);
    this.#ws = socket;
    socket.on('open', () => (this.#opened = true));
    socket.on('message', (data) => {
      const message = JSON.parse(frameText(data)) as ServerMessage;
      if (message.type === 'hello') {
        const symbols = this.wants === '*' ? ['*'] : [...this.wants];
        this.#send({ op: 'subscribe', symbols, resume: this.#resume([...this.#documents.keys()]) });
        return;
      }
      this.#take(message);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.#ws === socket) this.#ended();
    });
  }

  #connectSse(): void {
    const symbols = this.wants === '*' ? '*' : [...this.wants].join(',');
    const headers: Record<string, string> = { accept: 'text/event-stream', ...(this.#lastEventId ? { 'last-event-id': this.#lastEventId } : {}) };
    const req = request(`${this.#url}/v1/sse?symbols=${encodeURIComponent(symbols)}`, { headers });
    const sse: { request: ClientRequest; response: IncomingMessage | null } = { request: req, response: null };
    this.#sse = sse;
    this.#buffer = '';
    req.on('response', (response) => {
      sse.response = response;
      this.#opened = response.statusCode === 200;
      if (response.statusCode !== 200) {
        response.resume();
        response.on('end', () => this.#sse === sse && this.#ended());
        return;
      }
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => this.#feedSse(chunk));
      response.on('error', () => undefined);
      response.on('close', () => {
        if (this.#sse === sse) this.#ended();
      });
    });
    req.on('error', () => {
      if (this.#sse === sse) this.#ended();
    });
    req.end();
  }

  #feedSse(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      let id: string | undefined;
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (event === 'snapshot' || event === 'patch') this.#take(JSON.parse(data) as ServerMessage);
      // The id is the client's cursor once the event is taken.
      if (id !== undefined) this.#lastEventId = id;
    }
  }

  #take(message: ServerMessage): void {
    if (message.type !== 'snapshot' && message.type !== 'patch') return;
    const symbol = message.symbol as string;
    const held = this.#documents.get(symbol);
    if (message.type === 'snapshot') {
      this.counts.snapshots = (this.counts.snapshots ?? 0) + 1;
      if (held && held.epoch === message.epoch && (message.seq as number) < held.seq) {
        this.violations.push(`${this.name}: snapshot ${symbol} ${message.epoch}:${message.seq} older than the held ${held.seq}`);
      }
      this.#documents.set(symbol, { epoch: message.epoch as string, seq: message.seq as number, data: message.data });
      this.#recent.delete(symbol);
      return;
    }
    const seq = message.seq as number;
    const opsJson = JSON.stringify(message.ops);
    if (held && held.epoch === message.epoch && seq <= held.seq) {
      this.counts.duplicates = (this.counts.duplicates ?? 0) + 1;
      const applied = this.#recent.get(symbol)?.get(seq);
      if (applied !== undefined && applied !== opsJson) this.violations.push(`${this.name}: two different patches ${symbol} ${message.epoch}:${seq}`);
      return;
    }
    if (!held || held.epoch !== message.epoch || seq !== held.seq + 1) {
      this.violations.push(
        `${this.name} (${this.#transport}): patch ${symbol} ${message.epoch}:${seq} after ${held ? `${held.epoch}:${held.seq}` : 'nothing'}, unannounced`,
      );
      this.#resync(symbol);
      return;
    }
    try {
      const data = jsonpatch.applyPatch(held.data, message.ops as jsonpatch.Operation[], true, false).newDocument;
      this.#documents.set(symbol, { epoch: held.epoch, seq, data });
      this.counts.patches = (this.counts.patches ?? 0) + 1;
      let recent = this.#recent.get(symbol);
      if (!recent) this.#recent.set(symbol, (recent = new Map<number, string>()));
      recent.set(seq, opsJson);
      recent.delete(seq - 64);
    } catch (error) {
      this.violations.push(`${this.name}: patch ${symbol} ${message.epoch}:${seq} does not apply: ${(error as Error).message}`);
      this.#resync(symbol);
    }
  }

  /** After a violation: take a snapshot, so that one breach is reported once. */
  #resync(symbol: string): void {
    this.#documents.delete(symbol);
    if (this.#transport === 'ws') this.#send({ op: 'subscribe', symbols: [symbol] });
    else {
      this.#lastEventId = undefined;
      this.#sse?.request.destroy();
    }
  }

  #resume(symbols: readonly string[]): Record<string, { epoch: string; seq: number }> {
    const resume: Record<string, { epoch: string; seq: number }> = {};
    for (const symbol of symbols) {
      const held = this.#documents.get(symbol);
      if (held) resume[symbol] = { epoch: held.epoch, seq: held.seq };
    }
    return resume;
  }

  #send(frame: unknown): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(frame));
  }

  #pause(ms: number): void {
    if (this.#stallTimer) return;
    this.#ws?.pause();
    this.#sse?.response?.pause();
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = null;
      this.#resumeReading();
    }, ms);
  }

  #resumeReading(): void {
    this.#ws?.resume();
    this.#sse?.response?.resume();
  }
}

/** SDK options for the soak: quick reconnection and liveness, the three transports in order. */
const SDK_OPTIONS = {
  WebSocket,
  pingIntervalMs: 500,
  livenessTimeoutMs: 2500,
  connectTimeoutMs: 3000,
  backoff: { baseMs: 100, maxMs: 1000 },
  poll: { waitMs: 2000, intervalMs: 200 },
} as const;

/**
 * The client SDK (tapebridge/client) behind its own cutting proxy: the proxy drops or
 * freezes its connections and refuses WebSocket or SSE for a while, so the SDK reconnects,
 * resumes and switches transports. Its `gap` events and patches that fail count as
 * violations: the bridge must never make it see one.
 */
export class SdkClient implements SoakClient {
  readonly violations: string[] = [];
  readonly counts: Record<string, number> = {};
  readonly client: TapeClient;
  #blockTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly name: string,
    readonly proxy: CuttingProxy,
    readonly wants: '*' | ReadonlySet<string>,
    /** The bridge (or edge) its proxy forwards to. */
    public target: string,
  ) {
    this.client = connect(proxy.url, SDK_OPTIONS);
    const count = (name: ClientEventName): void => {
      this.counts[name] = (this.counts[name] ?? 0) + 1;
    };
    for (const event of ['snapshot', 'patch', 'reconnecting', 'open'] as const) this.client.on(event, () => count(event));
    this.client.on('resync', ({ reason }) => {
      this.counts[`resync:${reason}`] = (this.counts[`resync:${reason}`] ?? 0) + 1;
    });
    this.client.on('open', ({ transport }) => {
      this.counts[`open:${transport}`] = (this.counts[`open:${transport}`] ?? 0) + 1;
    });
    this.client.on('gap', ({ symbol, held, received }) => {
      this.violations.push(`${name}: gap in ${symbol}: held ${held ? `${held.epoch}:${held.seq}` : 'nothing'}, received ${received.epoch}:${received.seq}`);
    });
    this.client.on('error', ({ code, message }) => {
      this.counts[`error:${code}`] = (this.counts[`error:${code}`] ?? 0) + 1;
      if (code === 'PATCH_FAILED' || code === 'BAD_MESSAGE') this.violations.push(`${name}: ${code}: ${message}`);
    });
    this.client.subscribe(wants === '*' ? ['*'] : [...wants]);
  }

  static async start(name: string, bridgeUrl: string, wants: '*' | ReadonlySet<string>): Promise<SdkClient> {
    return new SdkClient(name, await CuttingProxy.start(bridgeUrl), wants, bridgeUrl);
  }

  /** Its proxy forwards to `url` from now on, as a load balancer does once a health check took a node out. */
  moveTo(url: string): void {
    this.target = url;
    this.proxy.retarget(url);
  }

  held(symbol: string): HeldVersion | undefined {
    const version = this.client.version(symbol);
    return version ? { ...version, data: this.client.get(symbol) } : undefined;
  }

  act(random: Random): Promise<string> {
    // The proxy's log of requests is not needed here; it would only grow.
    this.proxy.requests.length = 0;
    const action = ['drop', 'freeze', 'block-ws', 'block-ws-sse'][Math.floor(random() * 4)] as string;
    switch (action) {
      case 'drop':
        this.proxy.dropConnections();
        break;
      case 'freeze':
        this.proxy.freezeConnections();
        // The network gives up on them later; the SDK notices the silence before that.
        setTimeout(() => this.proxy.releaseFrozen(), 5000).unref();
        break;
      case 'block-ws':
      case 'block-ws-sse':
        this.#block(action === 'block-ws-sse', between(random, 2000, 6000));
        this.proxy.dropConnections();
        break;
    }
    return Promise.resolve(`sdk-${action}`);
  }

  async calm(): Promise<void> {
    if (this.#blockTimer) clearTimeout(this.#blockTimer);
    this.#blockTimer = null;
    this.proxy.block.ws = false;
    this.proxy.block.sse = false;
    this.proxy.releaseFrozen();
    // Back on WebSocket when it can: the fallback probes it with backoff.
    await sleep(0);
  }

  async close(): Promise<void> {
    await this.calm();
    await this.client.close();
    await this.proxy.close();
  }

  #block(sse: boolean, ms: number): void {
    this.proxy.block.ws = true;
    this.proxy.block.sse = sse;
    if (this.#blockTimer) clearTimeout(this.#blockTimer);
    this.#blockTimer = setTimeout(() => {
      this.#blockTimer = null;
      this.proxy.block.ws = false;
      this.proxy.block.sse = false;
    }, ms);
  }
}
