/**
 * One write-to-client latency run (the latency and cluster scenarios): a folder of terminal
 * files written at a steady rate, served by whatever `serve` starts on it (a bridge, or an
 * ingest, Redis and an edge), clients in other processes, each write matched to every
 * receipt of the patch carrying it on the monotonic clock every process shares.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientPool, type SocketPlan } from './clients.js';
import { cpuSeconds, rssBytes } from './processes.js';
import { percentile, round, sleep } from './report.js';
import { TerminalWriter, writeAtRate, writesBySymbol } from './terminal-writer.js';

export interface LatencyLoad {
  symbols: number;
  /** Clients of `perClient` symbols each, and clients of `*`. */
  clients: number;
  wildcards: number;
  perClient: number;
  writesPerSecond: number;
  seconds: number;
  /** Client processes. */
  processes: number;
}

/** What `serve` started: the URL the clients connect to, the processes measured (by name), and how to stop them. */
export interface Served {
  url: string;
  pids: Record<string, number>;
  /** Called at the end of the window, before stopping: figures of the servers' own (GET /v1/stats, Redis INFO). */
  report?: () => Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export interface LatencyRun {
  writes: number;
  /** Write-to-receipt latencies measured (a write counts once per client that gets it). */
  samples: number;
  /** Deliveries expected: each write times the clients subscribed to its symbol. */
  expected: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** CPU (cores) and RSS (MB) of each process `serve` named, over the window. */
  cpu: Record<string, number>;
  rssMb: Record<string, number>;
  clientCpu: number;
  served: Record<string, unknown>;
}

/** Runs `load` against what `serve` starts on the folder; resolves once every server has stopped. */
export async function latencyRun(load: LatencyLoad, serve: (dir: string, symbols: readonly string[]) => Promise<Served>): Promise<LatencyRun> {
  const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-latency-'));
  const writer = new TerminalWriter(dir, load.symbols);
  writer.create();
  let served: Served | null = null;
  const pool = await ClientPool.start(Math.min(load.processes, load.clients + load.wildcards));
  try {
    served = await serve(dir, writer.symbols);
    const plans: SocketPlan[] = [];
    for (let i = 0; i < load.clients; i++) {
      const own = Array.from({ length: load.perClient }, (_, k) => writer.symbols[(i * load.perClient + k) % load.symbols] as string);
      plans.push({ symbols: own, expect: own.length });
    }
    for (let i = 0; i < load.wildcards; i++) plans.push({ symbols: ['*'], expect: load.symbols });
    await pool.connect(served.url, 'ws', plans, writer.symbols, true);
    await sleep(500);
    await pool.record(true);
    const pids = Object.entries(served.pids);
    const cpu0 = pids.map(([, pid]) => cpuSeconds(pid));
    const clientCpu0 = pool.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const startedAt = performance.now();
    const writes = await writeAtRate(writer, load.writesPerSecond, load.seconds);
    await sleep(1000);
    const elapsed = (performance.now() - startedAt) / 1000;
    const cpu = Object.fromEntries(pids.map(([name, pid], i) => [name, round((cpuSeconds(pid) - (cpu0[i] as number)) / elapsed)]));
    const rssMb = Object.fromEntries(pids.map(([name, pid]) => [name, round(rssBytes(pid) / 2 ** 20, 1)]));
    const clientCpu = (pool.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - clientCpu0) / elapsed;
    await pool.record(false);
    const report = served.report ? await served.report() : {};
    const { samples } = await pool.latencies(writesBySymbol(writes, load.symbols));
    samples.sort();
    const perSymbol = writer.symbols.map((symbol) => plans.filter((plan) => plan.symbols.includes('*') || plan.symbols.includes(symbol)).length);
    return {
      writes: writes.length,
      samples: samples.length,
      expected: writes.reduce((sum, write) => sum + (perSymbol[write.symbol] as number), 0),
      latencyMs: {
        p50: round(percentile(samples, 50)),
        p90: round(percentile(samples, 90)),
        p99: round(percentile(samples, 99)),
        max: round(samples[samples.length - 1] ?? Number.NaN),
      },
      cpu,
      rssMb,
      clientCpu: round(clientCpu),
      served: report,
    };
  } finally {
    await pool.stop();
    await served?.stop();
    writer.close();
    await rm(dir, { recursive: true, force: true });
  }
}
