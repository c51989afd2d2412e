/**
 * The server process of the fan-out scenario, in one of three modes:
 *
 * - `bridge`: the bridge (startBridge: its real hub and WebSocket transport) with ticks
 *   committed through its state layer as fast as the clients take them;
 * - `ws-send`: raw `ws`, the bridge's own patch messages pre-serialised, `send()` once per
 *   message per client;
 * - `ws-batched`: raw `ws` connections, the same messages pre-framed, and each batch written
 *   to every socket in one write.
 *
 * All three are paced alike: a batch of `batch` messages per turn of the event loop while
 * the clients' unsent bytes stay under `--limit` bytes per client (`drive`), or `rate`
 * batches a second, each in its own timer turn (`pace`: with a batch of 1 and `ws-batched`,
 * one write per socket per message, the floor of a server that does not join messages).
 *
 *   (forked by bench/fanout.ts) fanout-server.ts <mode> <symbols> <batch>
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { startBridge } from '../../src/app/bridge.js';
import { resolveConfig } from '../../src/app/config.js';
import { createLogger } from '../../src/core/logger.js';
import { Store } from '../../src/state/store.js';
import { TickDriver } from './market.js';

export type FanoutMode = 'bridge' | 'ws-send' | 'ws-batched';

export type FanoutCommand = { type: 'drive'; limitBytes: number } | { type: 'pace'; rate: number } | { type: 'stop' };

export type FanoutReport =
  { type: 'listening'; url: string; messageBytes: number } | { type: 'stopped'; messages: number; cpuSeconds: number; clients: number };

const [mode, symbolCount, batchText] = process.argv.slice(2) as [FanoutMode, string, string];
const batch = Number(batchText);
const symbols = Number(symbolCount);

function report(message: FanoutReport, then: () => void = () => undefined): void {
  process.send?.(message, () => then());
}

/** A WebSocket text frame as a server sends it (RFC 6455 §5.2: unmasked). */
function textFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (length < 126) frame[1] = length;
  else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, header);
  return frame;
}

interface Server {
  url: string;
  messageBytes: number;
  /** One batch: `batch` messages to every client. */
  step(): void;
  backlogBytes(): number;
  clients(): number;
}

async function bridgeServer(): Promise<Server> {
  const config = resolveConfig({ port: 0, sources: [], log: { level: 'warn' } });
  const bridge = await startBridge(config, { logger: createLogger('warn') });
  const driver = new TickDriver(bridge.store, symbols);
  let bytes = 0;
  let count = 0;
  bridge.store.onCommit(({ entry }) => {
    if (entry && count < 1000) {
      bytes += entry.messageJson.length;
      count++;
    }
  });
  for (let i = 0; i < 1000; i++) driver.step();
  return {
    url: bridge.url,
    messageBytes: Math.round(bytes / count),
    step: () => {
      for (let i = 0; i < batch; i++) driver.step();
    },
    backlogBytes: () => bridge.hub.backlogBytes(),
    clients: () => bridge.hub.connections,
  };
}

/** The bridge's own patch messages, made by the same driver, serialised once up front. */
function prebuiltMessages(count: number): Buffer[] {
  const store = new Store({ journalSize: 0, epoch: 'baseline' });
  const messages: Buffer[] = [];
  store.onCommit(({ entry }) => {
    if (entry) messages.push(Buffer.from(entry.messageJson));
  });
  const driver = new TickDriver(store, symbols);
  while (messages.length < count) driver.step();
  return messages;
}

async function rawServer(batched: boolean): Promise<Server> {
  const messages = prebuiltMessages(20_000);
  const frames = messages.map(textFrame);
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const clients: { ws: WebSocket; socket: Duplex }[] = [];
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      const client = { ws, socket };
      clients.push(client);
      ws.on('close', () => clients.splice(clients.indexOf(client), 1));
      ws.on('error', () => undefined);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  let next = 0;
  const take = (): number => {
    const index = next;
    next = (next + 1) % messages.length;
    return index;
  };
  const sendOptions = { binary: false } as const;
  return {
    url: `http://127.0.0.1:${port}`,
    messageBytes: Math.round(messages.reduce((sum, message) => sum + message.length, 0) / messages.length),
    step: batched
      ? () => {
          const parts: Buffer[] = [];
          for (let i = 0; i < batch; i++) parts.push(frames[take()] as Buffer);
          const data = Buffer.concat(parts);
          for (const client of clients) client.socket.write(data);
        }
      : () => {
          for (let i = 0; i < batch; i++) {
            const message = messages[take()] as Buffer;
            for (const client of clients) client.ws.send(message, sendOptions);
          }
        },
    backlogBytes: () => {
      let bytes = 0;
      for (const client of clients) bytes += client.ws.bufferedAmount;
      return bytes;
    },
    clients: () => clients.length,
  };
}

const server = mode === 'bridge' ? await bridgeServer() : await rawServer(mode === 'ws-batched');
let driving = false;
let batches = 0;
let cpuAtStart = process.cpuUsage();

function loop(limitBytes: number): void {
  if (!driving) return;
  if (server.backlogBytes() < limitBytes) {
    server.step();
    batches++;
    setImmediate(loop, limitBytes);
  } else {
    setTimeout(loop, 1, limitBytes);
  }
}

/** `rate` batches a second, evenly, each in a timer turn of its own. */
function pace(rate: number): void {
  const start = performance.now();
  const tick = (): void => {
    if (!driving) return;
    const due = Math.floor(((performance.now() - start) / 1000) * rate) + 1;
    if (batches < due) {
      server.step();
      batches++;
    }
    setTimeout(tick, Math.max(0, start + (batches / rate) * 1000 - performance.now()));
  };
  tick();
}

process.on('message', (command: FanoutCommand) => {
  if (command.type === 'pace') {
    driving = true;
    batches = 0;
    cpuAtStart = process.cpuUsage();
    pace(command.rate);
  } else if (command.type === 'drive') {
    driving = true;
    batches = 0;
    cpuAtStart = process.cpuUsage();
    loop(command.limitBytes);
  } else {
    driving = false;
    const cpu = process.cpuUsage(cpuAtStart);
    // Exits at once (a profile, if asked for, is written on exit): the parent closes the clients.
    report({ type: 'stopped', messages: batches * batch, cpuSeconds: (cpu.user + cpu.system) / 1e6, clients: server.clients() }, () => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
report({ type: 'listening', url: server.url, messageBytes: server.messageBytes });
