/**
 * latency: time from a terminal's write() returning to a WebSocket client receiving the
 * patch that carries it, with 50 symbols written 200 times a second in all (`.scid` and MT5
 * appends, JSON rewrites) and 1,000 clients in 4 other processes, each subscribed to 5
 * symbols, plus 10 subscribed to `*`. Every process reads the same monotonic clock.
 *
 * The baseline, in the same run, is the same bridge and the same writes with a single `*`
 * client: what the pipeline costs unloaded, so that the ratio shows what 1,010 clients add.
 *
 * Per change, against the script a user would write (bench/lib/hand-written.ts: chokidar 5
 * with its defaults, read the new bytes on each event, decode, send the quote to each client),
 * in the same run: 50 `.scid` symbols, 200 writes/s, 100 clients subscribed to every symbol,
 * medians of 3 rounds of 30 s, each round running the bridge (leading-edge reads), the bridge
 * with `watch.leadingEdge: false` (the trailing debounce it had before: today's CPU) and the
 * script, in turn. A second scenario writes each file every 25 ms (the same 200 writes/s over
 * 5 files), inside chokidar's 50 ms throttle: the writes each one delivered are counted.
 *
 *   npx tsx bench/latency.ts [--quick] [--seconds 60] [--clients 1000] [--rate 200]
 *     [--versusSeconds 30] [--versusRounds 3] [--versusClients 100] [--versusSymbols 50] [--fastIntervalMs 25]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientPool, type ClientKind, type SocketPlan } from './lib/clients.js';
import { latencyRun, type LatencyRun } from './lib/latency-run.js';
import { cpuSeconds, forkTs, startBridgeProcess, stopChild, waitForSymbols } from './lib/processes.js';
import { load, median, percentile, round, scenarioArgs, sleep, writeResult } from './lib/report.js';
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
  versusSeconds: [30, 2],
  versusRounds: [3, 1],
  versusClients: [100, 20],
  versusSymbols: [50, 10],
  versusRate: [200, 200],
  fastIntervalMs: [25, 25],
  versusProcesses: [2, 1],
});
const { seconds, baselineSeconds, clients, wildcards, perClient, symbols, rate, processes } = args.params;
const { versusSeconds, versusRounds, versusClients, versusSymbols, versusRate, fastIntervalMs, versusProcesses } = args.params;
const loadBefore = load();

interface Figures {
  writes: number;
  /** Write-to-receipt latencies measured (a write counts once per client that gets it). */
  samples: number;
  /** Deliveries expected: each write times the clients subscribed to its symbol. */
  expected: number;
  latencyMs: LatencyRun['latencyMs'];
  /** The bridge's own view (GET /v1/stats): file mtime to hand-off, and read start to hand-off. */
  bridgeWriteToSendMs: unknown;
  bridgeReadToSendMs: unknown;
  bridgeCpu: number;
  bridgeRssMb: number;
  clientCpu: number;
}

async function measure(clientCount: number, wildcardCount: number, duration: number): Promise<Figures> {
  const load = { symbols, clients: clientCount, wildcards: wildcardCount, perClient, writesPerSecond: rate, seconds: duration, processes };
  const run = await latencyRun(load, async (dir) => {
    const bridge = await startBridgeProcess({ sources: [{ path: dir }] });
    await waitForSymbols(bridge.url, symbols);
    return {
      url: bridge.url,
      pids: { bridge: bridge.pid },
      report: async () => (await bridge.json<{ latency: Record<string, unknown> }>('/v1/stats')).latency,
      stop: () => bridge.stop(),
    };
  });
  return {
    writes: run.writes,
    samples: run.samples,
    expected: run.expected,
    latencyMs: run.latencyMs,
    bridgeWriteToSendMs: run.served.writeToSendMs,
    bridgeReadToSendMs: run.served.readToSendMs,
    bridgeCpu: run.cpu.bridge as number,
    bridgeRssMb: run.rssMb.bridge as number,
    clientCpu: run.clientCpu,
  };
}

/** What answers the clients of a per-change run. */
const CONTENDERS = ['tapebridge', 'trailingDebounce', 'handWritten'] as const;
type Contender = (typeof CONTENDERS)[number];

interface Server {
  url: string;
  pid: number;
  kind: ClientKind;
  stop(): Promise<void>;
}

/** The hand-written script in its own process; resolves once it has read the files and listens. */
async function startHandWritten(dir: string): Promise<Server> {
  const child = forkTs('bench/lib/hand-written.ts', [dir]);
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { url: string }) => resolve(message.url));
    child.once('exit', (code) => reject(new Error(`the hand-written script exited with ${code}`)));
  });
  return { url, pid: child.pid as number, kind: 'plain', stop: () => stopChild(child) };
}

async function startContender(contender: Contender, dir: string, count: number): Promise<Server> {
  if (contender === 'handWritten') return startHandWritten(dir);
  const bridge = await startBridgeProcess({ sources: [{ path: dir }], watch: { leadingEdge: contender === 'tapebridge' } });
  await waitForSymbols(bridge.url, count);
  return { url: bridge.url, pid: bridge.pid, kind: 'ws', stop: () => bridge.stop() };
}

interface ChangeRun {
  writes: number;
  /** Writes received, over every client (a write counts once per client it reaches). */
  delivered: number;
  /** Writes times clients: every write to every client. */
  expected: number;
  p50: number;
  p99: number;
  serverCpu: number;
}

/** One run: `count` `.scid` files written `versusRate` times a second in all, `versusClients` clients of every symbol. */
async function perChange(contender: Contender, count: number): Promise<ChangeRun> {
  const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-latency-'));
  const writer = new TerminalWriter(dir, count, 200, 1);
  writer.create();
  const server = await startContender(contender, dir, count);
  const pool = await ClientPool.start(versusProcesses);
  try {
    const plans: SocketPlan[] = Array.from({ length: versusClients }, () => ({ symbols: ['*'], expect: count }));
    await pool.connect(server.url, server.kind, plans, writer.symbols, true);
    await sleep(500);
    await pool.record(true);
    const cpu0 = cpuSeconds(server.pid);
    const startedAt = performance.now();
    const writes = await writeAtRate(writer, versusRate, versusSeconds);
    await sleep(1000);
    const serverCpu = (cpuSeconds(server.pid) - cpu0) / ((performance.now() - startedAt) / 1000);
    await pool.record(false);
    const { samples } = await pool.latencies(writesBySymbol(writes, count));
    samples.sort();
    return {
      writes: writes.length,
      delivered: samples.length,
      expected: writes.length * versusClients,
      p50: round(percentile(samples, 50)),
      p99: round(percentile(samples, 99)),
      serverCpu: round(serverCpu, 3),
    };
  } finally {
    await pool.stop();
    await server.stop();
    writer.close();
    await rm(dir, { recursive: true, force: true });
  }
}

interface ChangeFigures {
  /** Medians over the rounds. */
  p50: number;
  p99: number;
  serverCpu: number;
  writes: number;
  delivered: number;
  expected: number;
  /** Writes each client did not get, summed over the rounds. */
  lostPerClient: number;
  rounds: ChangeRun[];
}

function summary(rounds: ChangeRun[]): ChangeFigures {
  const sum = (pick: (run: ChangeRun) => number) => rounds.reduce((total, run) => total + pick(run), 0);
  return {
    p50: median(rounds.map((run) => run.p50)),
    p99: median(rounds.map((run) => run.p99)),
    serverCpu: median(rounds.map((run) => run.serverCpu)),
    writes: sum((run) => run.writes),
    delivered: sum((run) => run.delivered),
    expected: sum((run) => run.expected),
    lostPerClient: round((sum((run) => run.expected) - sum((run) => run.delivered)) / versusClients, 1),
    rounds,
  };
}

/** Every contender on `count` files, `versusRounds` times, in a turning order so that no one always runs first. */
async function versus(count: number): Promise<Record<Contender, ChangeFigures>> {
  const runs: Record<Contender, ChangeRun[]> = { tapebridge: [], trailingDebounce: [], handWritten: [] };
  for (let round = 0; round < versusRounds; round++) {
    for (let i = 0; i < CONTENDERS.length; i++) {
      const contender = CONTENDERS[(round + i) % CONTENDERS.length] as Contender;
      runs[contender].push(await perChange(contender, count));
    }
  }
  return { tapebridge: summary(runs.tapebridge), trailingDebounce: summary(runs.trailingDebounce), handWritten: summary(runs.handWritten) };
}

const baseline = await measure(0, 1, baselineSeconds);
const ours = await measure(clients, wildcards, seconds);
const p50 = ours.latencyMs.p50;
const p99 = ours.latencyMs.p99;
const fastSymbols = Math.max(1, Math.round((versusRate * fastIntervalMs) / 1000));
const spread = await versus(versusSymbols);
const fast = await versus(fastSymbols);
const ms = (figures: ChangeFigures) => `${figures.p50} / ${figures.p99} ms`;

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
    perChange: {
      seconds: versusSeconds,
      rounds: versusRounds,
      clients: versusClients,
      symbols: versusSymbols,
      writesPerSecond: versusRate,
      clientProcesses: versusProcesses,
    },
    perChangeFast: { symbols: fastSymbols, writesPerSecond: versusRate, writeIntervalPerFileMs: fastIntervalMs },
  },
  figures: { ...ours, perChange: { spread, fast } },
  baseline: { description: 'the same bridge and writes, one `*` client', ...baseline },
  ratio: { p50: round(p50 / baseline.latencyMs.p50), p99: round(p99 / baseline.latencyMs.p99) },
  targets: [
    { what: 'p50, write to WebSocket client', target: '<= 5 ms', measured: `${p50} ms`, met: p50 <= 5 },
    { what: 'p99, write to WebSocket client', target: '<= 20 ms', measured: `${p99} ms`, met: p99 <= 20 },
    {
      what: `p50, write to client, ${versusSymbols} .scid, ${versusRate} writes/s, ${versusClients} clients`,
      target: `<= the hand-written script (${spread.handWritten.p50} ms)`,
      measured: `${spread.tapebridge.p50} ms`,
      met: spread.tapebridge.p50 <= spread.handWritten.p50,
    },
    {
      what: 'the same, p99',
      target: `<= the hand-written script (${spread.handWritten.p99} ms)`,
      measured: `${spread.tapebridge.p99} ms`,
      met: spread.tapebridge.p99 <= spread.handWritten.p99,
    },
    {
      what: 'the same, server CPU (cores)',
      target: `<= the trailing debounce of before (${spread.trailingDebounce.serverCpu})`,
      measured: String(spread.tapebridge.serverCpu),
      met: spread.tapebridge.serverCpu <= spread.trailingDebounce.serverCpu,
    },
    {
      what: `each file written every ${fastIntervalMs} ms: every write delivered, p50 / p99`,
      target: `every write; hand-written: ${fast.handWritten.lostPerClient} writes lost per client, ${ms(fast.handWritten)}`,
      measured: `${fast.tapebridge.lostPerClient} lost per client, ${ms(fast.tapebridge)}`,
      met: fast.tapebridge.delivered === fast.tapebridge.expected,
    },
  ],
});
