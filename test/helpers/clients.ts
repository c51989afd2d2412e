import { request, type IncomingMessage } from 'node:http';
import jsonpatch from 'fast-json-patch';
import WebSocket from 'ws';
import { waitFor } from './wait.js';

export interface ServerMessage {
  type: string;
  symbol?: string;
  epoch?: string;
  seq?: number;
  data?: unknown;
  ops?: jsonpatch.Operation[];
  code?: string;
  message?: string;
  [key: string]: unknown;
}

export interface MirroredDocument {
  epoch: string;
  seq: number;
  data: unknown;
}

/**
 * What a well-behaved client keeps: each symbol's document, built from its snapshot and
 * every patch applied in order. Anything out of order is recorded in `violations`.
 */
export class DocumentMirror {
  readonly documents = new Map<string, MirroredDocument>();
  readonly violations: string[] = [];
  snapshots = 0;
  patches = 0;

  apply(message: ServerMessage): void {
    const symbol = message.symbol as string;
    if (message.type === 'snapshot') {
      this.snapshots++;
      this.documents.set(symbol, { epoch: message.epoch as string, seq: message.seq as number, data: message.data });
    } else if (message.type === 'patch') {
      this.patches++;
      const document = this.documents.get(symbol);
      if (!document) {
        this.violations.push(`patch ${message.seq} of ${symbol} before any snapshot`);
        return;
      }
      // `base`: the version the patch applies to (a view's seq may skip, PROTOCOL.md §8).
      const base = typeof message.base === 'number' ? message.base : (message.seq as number) - 1;
      if (base !== document.seq || message.epoch !== document.epoch) {
        this.violations.push(`patch ${message.epoch}:${message.seq} of ${symbol} applied to ${document.epoch}:${document.seq}`);
        return;
      }
      document.data = jsonpatch.applyPatch(document.data, message.ops as jsonpatch.Operation[], true, false).newDocument;
      document.seq = message.seq as number;
    }
  }
}

export class WsClient {
  readonly messages: ServerMessage[] = [];
  readonly mirror = new DocumentMirror();
  hello: ServerMessage | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(frameText(data)) as ServerMessage;
      if (message.type === 'hello') this.hello = message;
      this.messages.push(message);
      this.mirror.apply(message);
    });
  }

  static async connect(baseUrl: string, path = '/v1/ws', headers: Record<string, string> = {}): Promise<WsClient> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}`, { headers });
    const client = new WsClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    await waitFor('hello', () => client.hello);
    return client;
  }

  send(value: unknown): void {
    this.socket.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  subscribe(symbols: string[], resume?: Record<string, { epoch: string; seq: number }>, parts?: string[]): void {
    this.send({ op: 'subscribe', symbols, ...(resume ? { resume } : {}), ...(parts ? { parts } : {}) });
  }

  of(type: string): ServerMessage[] {
    return this.messages.filter((message) => message.type === type);
  }

  document(symbol: string): MirroredDocument | undefined {
    return this.mirror.documents.get(symbol);
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

/** A frame's text, whichever of the shapes ws hands a message in. */
export function frameText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString();
  return Buffer.isBuffer(data) ? data.toString() : Buffer.from(data).toString();
}

/** A WebSocket the bridge accepts and then closes: what it said, and the close code. */
export async function refusedWs(baseUrl: string, path = '/v1/ws', headers: Record<string, string> = {}): Promise<{ messages: ServerMessage[]; code: number }> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}`, { headers });
  const messages: ServerMessage[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(frameText(data)) as ServerMessage));
  const code = await new Promise<number>((resolve, reject) => {
    socket.once('close', (closeCode) => resolve(closeCode));
    socket.once('error', reject);
  });
  return { messages, code };
}

export interface SseEventRecord {
  id?: string;
  event: string;
  data: string;
}

/** A raw SSE reader: parses the stream as a browser's EventSource would. */
export class SseClient {
  readonly events: SseEventRecord[] = [];
  readonly comments: string[] = [];
  readonly mirror = new DocumentMirror();
  lastEventId: string | undefined;
  status = 0;
  body = '';
  #buffer = '';
  #response: IncomingMessage | undefined;
  #request: ReturnType<typeof request> | undefined;

  /** `held`: the documents the client already has (a resuming client), applied before any event. */
  static async connect(baseUrl: string, query: string, headers: Record<string, string> = {}, held?: ReadonlyMap<string, MirroredDocument>): Promise<SseClient> {
    const client = new SseClient();
    for (const [symbol, document] of held ?? []) client.mirror.documents.set(symbol, structuredClone(document));
    await new Promise<void>((resolve, reject) => {
      const req = request(`${baseUrl}/v1/sse?${query}`, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
        client.#response = response;
        client.status = response.statusCode ?? 0;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => client.#feed(chunk));
        response.on('error', () => undefined);
        resolve();
      });
      client.#request = req;
      req.on('error', reject);
      req.end();
    });
    return client;
  }

  get ended(): boolean {
    return this.#response?.complete ?? false;
  }

  close(): void {
    this.#request?.destroy();
  }

  #feed(chunk: string): void {
    if (this.status !== 200) {
      this.body += chunk;
      return;
    }
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const record: SseEventRecord = { event: 'message', data: '' };
      let hasData = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('id: ')) record.id = line.slice(4);
        else if (line.startsWith('event: ')) record.event = line.slice(7);
        else if (line.startsWith('data: ')) {
          record.data += (hasData ? '\n' : '') + line.slice(6);
          hasData = true;
        }
      }
      if (!hasData) continue;
      if (record.id !== undefined) this.lastEventId = record.id;
      this.events.push(record);
      if (record.event === 'snapshot' || record.event === 'patch') this.mirror.apply(JSON.parse(record.data) as ServerMessage);
    }
  }
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- T is the body the test expects; its assertions check it
export async function getJson<T = unknown>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T, headers: response.headers };
}
