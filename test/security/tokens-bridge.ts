import { writeFile } from 'node:fs/promises';
import { request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { BridgeProcess } from '../soak/bridge-process.js';
import type { ServerMessage } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { freePort } from '../helpers/ports.js';

const started: BridgeProcess[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((bridge) => bridge.stop('SIGTERM')));
});

/** A bridge process (`node dist/cli.js --config FILE`) on a free port; stopped after the test. */
export async function startBridgeProcess(config: Record<string, unknown>): Promise<BridgeProcess> {
  const port = await freePort();
  const configPath = join(await tempDir(), 'bridge.json');
  await writeConfig(configPath, { ...config, host: '127.0.0.1', port });
  const bridge = new BridgeProcess(configPath, port);
  started.push(bridge);
  await bridge.start();
  return bridge;
}

/** Rewrites the running bridge's config file (it watches it and applies the edit). */
export async function rewriteConfig(bridge: BridgeProcess, config: Record<string, unknown>): Promise<void> {
  await writeConfig(bridge.configPath, { ...config, host: '127.0.0.1', port: bridge.port });
}

async function writeConfig(path: string, config: Record<string, unknown>): Promise<void> {
  await writeFile(path, JSON.stringify({ log: { level: 'info' }, ...config }, null, 2));
}

export interface StreamEvent {
  id?: string;
  event: string;
  data: ServerMessage;
}

/** An event stream on any route (the dashboard's included), read as EventSource would. */
export class EventReader {
  readonly events: StreamEvent[] = [];
  status = 0;
  ended = false;
  #buffer = '';
  #request: ClientRequest | undefined;

  static async open(url: string): Promise<EventReader> {
    const reader = new EventReader();
    await new Promise<void>((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream' } }, (response) => {
        reader.status = response.statusCode ?? 0;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => reader.#feed(chunk));
        response.on('end', () => (reader.ended = true));
        response.on('error', () => undefined);
        resolve();
      });
      reader.#request = req;
      req.on('error', reject);
      req.end();
    });
    return reader;
  }

  of(event: string): StreamEvent[] {
    return this.events.filter((record) => record.event === event);
  }

  close(): void {
    this.#request?.destroy();
  }

  #feed(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      let event = 'message';
      let id: string | undefined;
      let data: string | undefined;
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data = line.slice(6);
      }
      if (data !== undefined) this.events.push({ event, data: JSON.parse(data) as ServerMessage, ...(id !== undefined ? { id } : {}) });
    }
  }
}
