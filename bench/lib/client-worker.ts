/**
 * A client process of the benchmarks: holds many WebSocket connections to one server and
 * answers its parent over IPC (see clients.ts for the messages). Two kinds of connection:
 *
 * - `ws`: the `ws` library's client, decoding every message; in `record` mode it notes, for
 *   every patch that moves a symbol's quote time, the time of receipt on the machine's
 *   monotonic clock (shared by every process), to be matched with the writer's writes.
 * - `raw`: CountingWebSocket, which only counts frames (delivery-rate runs);
 * - `nats`: NatsCountingWebSocket, the same against a NATS server (its MSGs counted);
 * - `plain`: the `ws` client of a server that sends each quote as a JSON object with its
 *   `symbol` and `time` (the hand-written baseline), recorded as `ws` records patches; the
 *   first quote of each symbol (sent on connection) stands for its snapshot.
 */
import WebSocket from 'ws';
import type { ToWorker, FromWorker, SocketPlan } from './clients.js';
import { CountingWebSocket } from './raw-ws.js';
import { NatsCountingWebSocket } from './nats-ws.js';
import { quoteTimeUs, type PatchOp } from './quote-time.js';

interface Patch {
  type: string;
  symbol: string;
  ops?: PatchOp[];
  data?: { quote?: { time?: number } };
}

/** Growable storage of receipt records: symbol index, previous and new quote time (µs), receipt (ms). */
class Receipts {
  data = new Float64Array(4 * 65_536);
  length = 0;

  push(symbol: number, previousUs: number, timeUs: number, receivedMs: number): void {
    if (this.length + 4 > this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = symbol;
    this.data[this.length++] = previousUs;
    this.data[this.length++] = timeUs;
    this.data[this.length++] = receivedMs;
  }
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

const wsClients: WebSocket[] = [];
const rawClients: (CountingWebSocket | NatsCountingWebSocket)[] = [];
const receipts = new Receipts();
let symbolIndex = new Map<string, number>();
let recording = false;
let patches = 0;
let snapshots = 0;
let errors = 0;
let closedEarly = 0;

function send(message: FromWorker): void {
  process.send?.(message);
}

async function connectWs(url: string, plans: SocketPlan[], record: boolean): Promise<void> {
  let pending = plans.length;
  await new Promise<void>((resolve) => {
    for (const plan of plans) {
      const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, { perMessageDeflate: false });
      wsClients.push(socket);
      let expected = plan.expect;
      const quoteTimes = new Map<number, number>();
      const settle = (): void => {
        if (--pending === 0) resolve();
      };
      socket.on('open', () => socket.send(subscribeFrame(plan)));
      socket.on('message', (data: Buffer) => {
        const receivedMs = nowMs();
        const message = JSON.parse(data.toString()) as Patch;
        if (message.type === 'patch') {
          patches++;
          if (!recording || !record || !message.ops) return;
          const index = symbolIndex.get(message.symbol);
          const timeUs = quoteTimeUs(message.ops);
          if (index === undefined || timeUs === undefined) return;
          const previous = quoteTimes.get(index);
          quoteTimes.set(index, timeUs);
          if (previous !== undefined) receipts.push(index, previous, timeUs, receivedMs);
        } else if (message.type === 'snapshot') {
          snapshots++;
          const index = symbolIndex.get(message.symbol);
          const time = message.data?.quote?.time;
          if (index !== undefined && time !== undefined) quoteTimes.set(index, Math.round(time * 1000));
          if (--expected === 0) settle();
        } else if (message.type === 'error') {
          errors++;
        }
      });
      socket.on('error', () => errors++);
      socket.on('close', () => {
        if (!closing) closedEarly++;
      });
      if (expected === 0) socket.once('open', settle);
    }
  });
}

async function connectPlain(url: string, plans: SocketPlan[], record: boolean): Promise<void> {
  await Promise.all(
    plans.map(
      (plan) =>
        new Promise<void>((resolve) => {
          const socket = new WebSocket(url.replace(/^http/, 'ws'), { perMessageDeflate: false });
          wsClients.push(socket);
          const quoteTimes = new Map<number, number>();
          socket.on('message', (data: Buffer) => {
            const receivedMs = nowMs();
            const quote = JSON.parse(data.toString()) as { symbol: string; time: number };
            const index = symbolIndex.get(quote.symbol);
            if (index === undefined) return;
            const timeUs = Math.round(quote.time * 1000);
            const previous = quoteTimes.get(index);
            quoteTimes.set(index, timeUs);
            if (previous === undefined) {
              snapshots++;
              if (quoteTimes.size === plan.expect) resolve();
              return;
            }
            patches++;
            if (recording && record) receipts.push(index, previous, timeUs, receivedMs);
          });
          socket.on('error', () => errors++);
          socket.on('close', () => {
            if (!closing) closedEarly++;
          });
        }),
    ),
  );
}

async function connectRaw(url: string, plans: SocketPlan[]): Promise<void> {
  const target = new URL('/v1/ws', url);
  // A few at a time: a thousand handshakes at once overflow the listen backlog.
  for (let i = 0; i < plans.length; i += 50) {
    const batch = plans.slice(i, i + 50);
    const opened = await Promise.all(batch.map((plan) => CountingWebSocket.open(target, subscribeFrame(plan))));
    rawClients.push(...opened);
  }
}

async function connectNats(url: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, () => NatsCountingWebSocket.open(new URL(url)));
    rawClients.push(...(await Promise.all(batch)));
  }
}

function rawCounts(): { patches: number; others: number; bytes: number; open: number } {
  const total = { patches: 0, others: 0, bytes: 0, open: 0 };
  for (const client of rawClients) {
    total.patches += client.counts.patches;
    total.others += client.counts.others;
    total.bytes += client.counts.bytes;
    if (client.open) total.open++;
  }
  return total;
}

/** Latencies of every write a receipt covers: writes of its symbol with previous < time <= new. */
function latencies(writes: { timesUs: Float64Array; atMs: Float64Array }[]): Float64Array {
  const out: number[] = [];
  const data = receipts.data;
  for (let i = 0; i < receipts.length; i += 4) {
    const symbol = writes[data[i] as number];
    if (!symbol) continue;
    const previous = data[i + 1] as number;
    const time = data[i + 2] as number;
    const received = data[i + 3] as number;
    const times = symbol.timesUs;
    // First write after `previous`.
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((times[mid] as number) <= previous) lo = mid + 1;
      else hi = mid;
    }
    for (let j = lo; j < times.length && (times[j] as number) <= time; j++) out.push(received - (symbol.atMs[j] as number));
  }
  return Float64Array.from(out);
}

let closing = false;

process.on('message', (message: ToWorker) => {
  void (async () => {
    switch (message.type) {
      case 'connect': {
        symbolIndex = new Map(message.symbols.map((symbol, index) => [symbol, index]));
        try {
          if (message.kind === 'raw') await connectRaw(message.url, message.plans);
          else if (message.kind === 'plain') await connectPlain(message.url, message.plans, message.record);
          else if (message.kind === 'nats') await connectNats(message.url, message.plans.length);
          else await connectWs(message.url, message.plans, message.record);
          send({ type: 'connected', sockets: message.plans.length });
        } catch (error) {
          send({ type: 'failed', message: (error as Error).message });
        }
        return;
      }
      case 'record':
        recording = message.on;
        send({ type: 'recording', on: recording });
        return;
      case 'counts': {
        const raw = rawCounts();
        send({
          type: 'counts',
          patches: patches + raw.patches,
          others: snapshots + raw.others,
          bytes: raw.bytes,
          errors,
          open: raw.open + wsClients.filter((socket) => socket.readyState === WebSocket.OPEN).length,
          closedEarly,
        });
        return;
      }
      case 'latencies':
        send({ type: 'latencies', samples: latencies(message.writes), receipts: receipts.length / 4 });
        return;
      case 'close':
        closing = true;
        for (const socket of wsClients) socket.terminate();
        for (const client of rawClients) client.close();
        send({ type: 'closed' });
        setTimeout(() => process.exit(0), 50);
        return;
    }
  })();
});

process.on('disconnect', () => process.exit(0));
send({ type: 'started' });

/** The subscribe frame of a plan: its symbols, and its view's parts when it has one. */
function subscribeFrame(plan: SocketPlan): string {
  return JSON.stringify({ op: 'subscribe', symbols: plan.symbols, ...(plan.parts ? { parts: plan.parts } : {}) });
}
