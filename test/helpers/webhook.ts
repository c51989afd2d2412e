import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

const servers: WebhookReceiver[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** What the receiver does with a request: answer with a status, or never answer. */
export type Respond = (body: unknown, index: number) => number | 'hang';

export interface ReceivedRequest {
  body: unknown;
  headers: IncomingMessage['headers'];
  status: number | 'hang';
}

/** A local HTTP server standing in for an operator's webhook endpoint. */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  respond: Respond = () => 200;
  readonly #server: Server;
  readonly #hanging = new Set<ServerResponse>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver: WebhookReceiver = new WebhookReceiver(createServer((request, response) => receiver.#handle(request, response)));
    servers.push(receiver);
    await new Promise<void>((resolve) => receiver.#server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  /** Bodies of the requests answered 2xx. */
  get accepted(): unknown[] {
    return this.requests.filter((request) => typeof request.status === 'number' && request.status < 300).map((request) => request.body);
  }

  async close(): Promise<void> {
    for (const response of this.#hanging) response.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => {
      const body: unknown = JSON.parse(text);
      const status = this.respond(body, this.requests.length);
      this.requests.push({ body, headers: request.headers, status });
      if (status === 'hang') {
        this.#hanging.add(response);
        return;
      }
      response.writeHead(status).end();
    });
  }
}
