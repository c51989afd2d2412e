/**
 * The latency scenario's hand-written baseline: the script a user would write instead of the
 * bridge. chokidar 5 with its default options watches the folder; on each event the new
 * bytes since the last offset are read, the whole `.scid` records among them decoded, and
 * the newest quote sent as JSON to every WebSocket client (`ws`). A client that connects gets
 * every symbol's last quote. Nothing else: no debounce, no trailing read, no safety poll, so
 * a write chokidar does not signal waits for the file's next event (or is never sent).
 *
 *   (forked by bench/latency.ts) hand-written.ts <folder>
 */
import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { watch } from 'chokidar';
import { WebSocketServer, type WebSocket } from 'ws';

const HEADER = 56;
const RECORD = 40;
/** Microseconds from Sierra's epoch (1899-12-30) to 1970-01-01. */
const EPOCH_US = 2_209_161_600_000_000n;

interface Quote {
  symbol: string;
  bid: number;
  ask: number;
  last: number;
  size: number;
  time: number;
}

const folder = process.argv[2] as string;
const offsets = new Map<string, number>();
const quotes = new Map<string, Quote>();
/** One read at a time per file, so that offsets stay right. */
const reading = new Map<string, Promise<void>>();

const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
server.on('connection', (socket: WebSocket) => {
  socket.on('error', () => undefined);
  for (const quote of quotes.values()) socket.send(JSON.stringify(quote));
});

async function readNew(path: string): Promise<void> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const offset = offsets.get(path) ?? HEADER;
    const length = Math.floor((size - offset) / RECORD) * RECORD;
    if (length <= 0) return;
    const bytes = Buffer.alloc(length);
    const { bytesRead } = await file.read(bytes, 0, length, offset);
    const records = Math.floor(bytesRead / RECORD);
    if (records === 0) return;
    offsets.set(path, offset + records * RECORD);
    const at = (records - 1) * RECORD;
    const symbol = basename(path, extname(path));
    const quote: Quote = {
      symbol,
      time: Number(bytes.readBigInt64LE(at) - EPOCH_US) / 1000,
      ask: bytes.readFloatLE(at + 12),
      bid: bytes.readFloatLE(at + 16),
      last: bytes.readFloatLE(at + 20),
      size: bytes.readUInt32LE(at + 28),
    };
    quotes.set(symbol, quote);
    const message = JSON.stringify(quote);
    for (const client of server.clients) client.send(message);
  } finally {
    await file.close();
  }
}

function onEvent(path: string): Promise<void> {
  if (extname(path) !== '.scid') return Promise.resolve();
  const next = (reading.get(path) ?? Promise.resolve()).then(() => readNew(path)).catch(() => undefined);
  reading.set(path, next);
  return next;
}

const watcher = watch(folder);
watcher.on('add', (path) => void onEvent(path));
watcher.on('change', (path) => void onEvent(path));
await new Promise<void>((resolve) => watcher.once('ready', resolve));
await Promise.all(reading.values());
await new Promise<void>((resolve) => (server.address() ? resolve() : server.once('listening', resolve)));
const address = server.address();
if (typeof address !== 'object' || address === null) throw new Error('the server does not listen');
process.send?.({ url: `http://127.0.0.1:${address.port}` });
process.on('disconnect', () => {
  void watcher.close();
  server.close();
  process.exit(0);
});
