/**
 * latency: time from a terminal's write() returning to a WebSocket client receiving the
 * patch that carries it, with 50 symbols written 200 times a second in all (`.scid` and MT5
 * appends, JSON rewrites) and 1,000 clients in 4 other processes, each subscribed to 5
 * symbols, plus 10 subscribed to `*`. Every process reads the same monotonic clock.
 *
 * The baseline, in the same run, is the same bridge and the same writes with a single `*`
 * client: what the pipeline costs unloaded, so that the ratio shows what 1,010 clients add.
 *
 *   npx tsx bench/latency.ts [--quick] [--seconds 60] [--clients 1000] [--rate 200]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientPool, type SocketPlan } from './lib/clients.js';
import { cpuSeconds, rssBytes, startBridgeProcess } from './lib/processes.js';
import { load, percentile, round, scenarioArgs, sleep, writeResult } from './lib/report.js';
import { TerminalWriter, writeAtRate, writesBySymbol } from './lib/terminal-writer.js';

const args = scenarioArgs({
  seconds: [60, 3],
  baselineSeconds: [20, 2],
  clients: [1000, 100],
  wildcards: [10, 2],
  perClient: [5, 5],
  symbols: [50, 50],
  rate: [200, 200],
  processes: [4, 2],
});
const { seconds, baselineSeconds, clients, wildcards, perClient, symbols, rate, processes } = args.params;
const loadBefore = load();

interface Figures {
  writes: number;
  /** Write-to-receipt latencies measured (a write counts once per client that gets it). */
  samples: number;
  /** Deliveries expected: each write times the clients subscribed to its symbol. */
  expected: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** The bridge's own view (GET /v1/stats): file mtime to hand-off, and read start to hand-off. */
  bridgeWriteToSendMs: unknown;
  bridgeReadToSendMs: unknown;
  bridgeCpu: number;
  bridgeRssMb: number;
  clientCpu: number;
}

async function measure(clientCount: number, wildcardCount: number, duration: number): Promise<Figures> {
  const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-latency-'));
  const writer = new TerminalWriter(dir, symbols);
  writer.create();
  const bridge = await startBridgeProcess({ sources: [{ path: dir }] });
  const pool = await ClientPool.start(Math.min(processes, clientCount + wildcardCount));
  try {
    await waitForSymbols(bridge.url, symbols);
    const plans: SocketPlan[] = [];
    for (let i = 0; i < clientCount; i++) {
      const own = Array.from({ length: perClient }, (_, k) => writer.symbols[(i * perClient + k) % symbols] as string);
      plans.push({ symbols: own, expect: own.length });
    }
    for (let i = 0; i < wildcardCount; i++) plans.push({ symbols: ['*'], expect: symbols });
    await pool.connect(bridge.url, 'ws', plans, writer.symbols, true);
    await sleep(500);
    await pool.record(true);
    const cpu0 = cpuSeconds(bridge.pid);
    const clientCpu0 = pool.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const startedAt = performance.now();
    const writes = await writeAtRate(writer, rate, duration);
    await sleep(1000);
    const elapsed = (performance.now() - startedAt) / 1000;
    const bridgeCpu = (cpuSeconds(bridge.pid) - cpu0) / elapsed;
    const clientCpu = (pool.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - clientCpu0) / elapsed;
    await pool.record(false);
    const stats = await bridge.json<{ latency: { writeToSendMs: unknown; readToSendMs: unknown } }>('/v1/stats');
    const { samples } = await pool.latencies(writesBySymbol(writes, symbols));
    samples.sort();
    const subscribers = (symbol: number): number =>
      plans.filter((plan) => plan.symbols.includes('*') || plan.symbols.includes(writer.symbols[symbol] as string)).length;
    const perSymbol = writer.symbols.map((_, symbol) => subscribers(symbol));
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
      bridgeWriteToSendMs: stats.latency.writeToSendMs,
      bridgeReadToSendMs: stats.latency.readToSendMs,
      bridgeCpu: round(bridgeCpu),
      bridgeRssMb: round(rssBytes(bridge.pid) / 2 ** 20, 1),
      clientCpu: round(clientCpu),
    };
  } finally {
    await pool.stop();
    await bridge.stop();
    writer.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Resolves once the bridge publishes every symbol (its first read of each file is done). */
async function waitForSymbols(url: string, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { symbols: listed } = (await (await fetch(`${url}/v1/symbols`)).json()) as { symbols: unknown[] };
    if (listed.length >= count) return;
    await sleep(50);
  }
  throw new Error(`the bridge did not publish ${count} symbols within 30 s`);
}

const baseline = await measure(0, 1, baselineSeconds);
const ours = await measure(clients, wildcards, seconds);
const p50 = ours.latencyMs.p50;
const p99 = ours.latencyMs.p99;

await writeResult(args, loadBefore, {
  scenario: 'latency',
  measures: "write() returning to the WebSocket client's receipt of the patch, 50 symbols, 200 writes/s, 1,010 clients in other processes",
  params: {
    seconds,
    clients,
    wildcardClients: wildcards,
    symbolsPerClient: perClient,
    symbols,
    writesPerSecond: rate,
    clientProcesses: processes,
    baselineSeconds,
  },
  figures: ours as unknown as Record<string, unknown>,
  baseline: { description: 'the same bridge and writes, one `*` client', ...baseline },
  ratio: { p50: round(p50 / baseline.latencyMs.p50), p99: round(p99 / baseline.latencyMs.p99) },
  targets: [
    { what: 'p50, write to WebSocket client', target: '<= 5 ms', measured: `${p50} ms`, met: p50 <= 5 },
    { what: 'p99, write to WebSocket client', target: '<= 20 ms', measured: `${p99} ms`, met: p99 <= 20 },
  ],
});
