import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  upgrade: boolean;
}

/** One forwarded exchange: what freezing and dropping act on. */
interface Exchange {
  freeze(): void;
  destroy(): void;
}

/**
 * A real HTTP reverse proxy on 127.0.0.1 in front of a bridge, standing in for the proxies
 * clients meet: it can refuse WebSocket upgrades or SSE requests (403, as a corporate proxy
 * does), cut every open connection, or freeze them (they stay open and go silent).
 */
export class CuttingProxy {
  readonly requests: SeenRequest[] = [];
  /** Refuse with 403: WebSocket upgrades, SSE requests. */
  readonly block = { ws: false, sse: false };
  readonly #server: Server;
  readonly #exchanges = new Set<Exchange>();
  readonly #frozen = new Set<Exchange>();
  readonly #sockets = new Set<Socket>();
  #target: URL;

  protected constructor(target: string) {
    this.#target = new URL(target);
    this.#server = createServer((request, response) => {
      this.#record(request, false);
      if (this.block.sse && (request.url ?? '').startsWith('/v1/sse')) {
        response.writeHead(403, { 'content-type': 'text/plain' }).end('SSE is not allowed here');
        return;
      }
      const upstream = httpRequest(
        { host: this.#target.hostname, port: this.#target.port, method: request.method, path: request.url, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
          const exchange: Exchange = {
            freeze: () => {
              answer.unpipe(response);
              answer.pause();
            },
            destroy: () => {
              answer.destroy();
              response.destroy();
            },
          };
          this.#exchanges.add(exchange);
          response.on('close', () => {
            this.#exchanges.delete(exchange);
            answer.destroy();
          });
        },
      );
      upstream.on('error', () => {
        if (!response.headersSent) response.writeHead(502).end();
        else response.destroy();
      });
      request.pipe(upstream);
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    this.#server.on('upgrade', (request, socket, head) => this.#upgrade(request, socket, head));
  }

  static async start(target: string): Promise<CuttingProxy> {
    const proxy = new CuttingProxy(target);
    await proxy.listen();
    return proxy;
  }

  protected listen(): Promise<void> {
    return new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Points the proxy at another bridge (a restarted one on another port). */
  retarget(target: string): void {
    this.#target = new URL(target);
  }

  /** Cuts every open connection, as a network failure would. */
  dropConnections(): void {
    for (const exchange of this.#exchanges) exchange.destroy();
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Every open connection stops forwarding in both directions and stays open. */
  freezeConnections(): void {
    for (const exchange of this.#exchanges) {
      exchange.freeze();
      this.#frozen.add(exchange);
    }
    this.#exchanges.clear();
  }

  /** Ends the frozen connections, as a network that gives up on them would. */
  releaseFrozen(): void {
    for (const exchange of this.#frozen) exchange.destroy();
    this.#frozen.clear();
  }

  async close(): Promise<void> {
    for (const exchange of this.#frozen) exchange.destroy();
    this.dropConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #record(request: IncomingMessage, upgrade: boolean): void {
    this.requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, upgrade });
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#record(request, true);
    // The server no longer watches an upgraded socket: a peer that resets it is expected here.
    socket.on('error', () => undefined);
    if (this.block.ws) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 28\r\nConnection: close\r\n\r\nWebSocket is not allowed here');
      return;
    }
    const upstream = connect(Number(this.#target.port), this.#target.hostname, () => {
      const lines = [`${request.method} ${request.url} HTTP/1.1`];
      for (let i = 0; i < request.rawHeaders.length; i += 2) lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
    let frozen = false;
    const exchange: Exchange = {
      freeze: () => {
        frozen = true;
        socket.unpipe(upstream);
        upstream.unpipe(socket);
      },
      destroy: () => {
        upstream.destroy();
        socket.destroy();
      },
    };
    this.#exchanges.add(exchange);
    const release = (): void => {
      this.#exchanges.delete(exchange);
      // A frozen connection stays open on the client's side: that is the point of freezing.
      if (!frozen) exchange.destroy();
    };
    upstream.on('close', release);
    socket.on('close', release);
    upstream.on('error', () => undefined);
  }
}
