/**
 * Client processes seen from the scenario: a pool of client-worker.ts processes, each
 * holding a share of the connections, driven over IPC.
 */
import type { ChildProcess } from 'node:child_process';
import { forkTs, stopChild } from './processes.js';

/**
 * `ws`: decoding clients of the bridge (latency); `raw`: counting clients of the bridge or raw ws;
 * `nats`: counting clients of a NATS server; `plain`: quotes as JSON objects (bench/lib/hand-written.ts).
 */
export type ClientKind = 'ws' | 'raw' | 'nats' | 'plain';

/** One connection: what it subscribes to, and how many snapshots mean it is in sync. */
export interface SocketPlan {
  symbols: string[];
  expect: number;
  /** A view (PROTOCOL.md §8): the parts it subscribes with; the whole document when absent. */
  parts?: string[];
}

export type ToWorker =
  | { type: 'connect'; url: string; kind: ClientKind; plans: SocketPlan[]; symbols: string[]; record: boolean }
  | { type: 'record'; on: boolean }
  | { type: 'counts' }
  | { type: 'latencies'; writes: { timesUs: Float64Array; atMs: Float64Array }[] }
  | { type: 'close' };

export interface Counts {
  patches: number;
  others: number;
  bytes: number;
  errors: number;
  open: number;
  closedEarly: number;
}

export type FromWorker =
  | { type: 'started' }
  | { type: 'connected'; sockets: number }
  | { type: 'failed'; message: string }
  | { type: 'recording'; on: boolean }
  | ({ type: 'counts' } & Counts)
  | { type: 'latencies'; samples: Float64Array; receipts: number }
  | { type: 'closed' };

class Worker {
  readonly #child: ChildProcess;
  readonly #waiting: ((message: FromWorker) => void)[] = [];
  readonly started: Promise<void>;

  constructor() {
    this.#child = forkTs('bench/lib/client-worker.ts');
    this.#child.on('message', (message: FromWorker) => this.#waiting.shift()?.(message));
    this.started = this.#next().then(() => undefined);
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  /** Sends a command and resolves with the worker's answer to it. */
  async ask<T extends FromWorker['type']>(message: ToWorker, answer: T): Promise<Extract<FromWorker, { type: T }>> {
    const reply = this.#next();
    this.#child.send(message);
    const got = await reply;
    if (got.type === 'failed') throw new Error(`client worker: ${got.message}`);
    if (got.type !== answer) throw new Error(`client worker answered ${got.type}, expected ${answer}`);
    return got as Extract<FromWorker, { type: T }>;
  }

  #next(): Promise<FromWorker> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async stop(): Promise<void> {
    if (this.#child.connected) await this.ask({ type: 'close' }, 'closed').catch(() => undefined);
    await stopChild(this.#child);
  }
}

/** `processes` client processes sharing the connections of `plans` round-robin. */
export class ClientPool {
  readonly #workers: Worker[];

  private constructor(workers: Worker[]) {
    this.#workers = workers;
  }

  static async start(processes: number): Promise<ClientPool> {
    const workers = Array.from({ length: processes }, () => new Worker());
    await Promise.all(workers.map((worker) => worker.started));
    return new ClientPool(workers);
  }

  get pids(): number[] {
    return this.#workers.map((worker) => worker.pid);
  }

  /** Opens every connection (resolves once each has the snapshots it expects). */
  async connect(url: string, kind: ClientKind, plans: SocketPlan[], symbols: string[], record = false): Promise<void> {
    const shares = this.#workers.map((): SocketPlan[] => []);
    plans.forEach((plan, i) => shares[i % shares.length]?.push(plan));
    await Promise.all(this.#workers.map((worker, i) => worker.ask({ type: 'connect', url, kind, plans: shares[i] ?? [], symbols, record }, 'connected')));
  }

  /** Resolves once the clients have had `others` frames that are not patches (hello, snapshots); throws after `withinMs`. */
  async settle(others: number, what: string, withinMs = 60_000): Promise<void> {
    const deadline = Date.now() + withinMs;
    while ((await this.counts()).others < others) {
      if (Date.now() > deadline) throw new Error(`${what}: the clients did not get their first frames within ${withinMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async record(on: boolean): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.ask({ type: 'record', on }, 'recording')));
  }

  /** Frames received so far, all processes. */
  async counts(): Promise<Counts> {
    const all = await Promise.all(this.#workers.map((worker) => worker.ask({ type: 'counts' }, 'counts')));
    const total: Counts = { patches: 0, others: 0, bytes: 0, errors: 0, open: 0, closedEarly: 0 };
    for (const counts of all) {
      for (const key of Object.keys(total) as (keyof Counts)[]) total[key] += counts[key];
    }
    return total;
  }

  /** Every write-to-receipt latency (ms), given each symbol's writes (quote time µs, write time ms). */
  async latencies(writes: { timesUs: Float64Array; atMs: Float64Array }[]): Promise<{ samples: Float64Array; receipts: number }> {
    const parts = await Promise.all(this.#workers.map((worker) => worker.ask({ type: 'latencies', writes }, 'latencies')));
    const samples = new Float64Array(parts.reduce((sum, part) => sum + part.samples.length, 0));
    let at = 0;
    for (const part of parts) {
      samples.set(part.samples, at);
      at += part.samples.length;
    }
    return { samples, receipts: parts.reduce((sum, part) => sum + part.receipts, 0) };
  }

  async stop(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.stop()));
  }
}

/** The monotonic clock every process of the machine shares, in ms. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
