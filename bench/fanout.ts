/**
 * fan-out: the highest rate of patch deliveries (patches received by clients per second)
 * with 1,000 WebSocket clients in 4 other processes, every client subscribed to every
 * symbol, against raw `ws` sending the same pre-serialised messages with no logic: once
 * per message per client (`send()`), and pre-framed, one write per socket per batch. The
 * three servers run in turn, round after round, under the same pacing (bench/lib/fanout-server.ts).
 *
 *   npx tsx bench/fanout.ts [--quick] [--clients 1000] [--seconds 5] [--rounds 3] [--batch 16]
 */
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { ClientPool } from './lib/clients.js';
import type { FanoutCommand, FanoutMode, FanoutReport } from './lib/fanout-server.js';
import { cpuSeconds, forkTs, profileArgs, stopChild } from './lib/processes.js';
import { load, median, round, scenarioArgs, sleep, writeResult } from './lib/report.js';

const args = scenarioArgs({
  clients: [1000, 100],
  processes: [4, 2],
  symbols: [10, 5],
  batch: [16, 16],
  seconds: [5, 0.5],
  rounds: [3, 1],
  limitKb: [64, 64],
});
const { clients, processes, symbols, batch, seconds, rounds, limitKb } = args.params;
const loadBefore = load();
const MODES: FanoutMode[] = ['bridge', 'ws-send', 'ws-batched'];

interface Run {
  mode: FanoutMode;
  deliveriesPerSecond: number;
  /** CPU the server used per second of the measured window (1 = one core). */
  serverCpu: number;
  /** CPU the client processes used per second of the window, all of them. */
  clientCpu: number;
  messageBytes: number;
  connected: number;
}

function nextReport(child: ChildProcess): Promise<FanoutReport> {
  return once(child, 'message').then(([message]) => message as FanoutReport);
}

/** Resolves once the clients have had `expectedOthers` messages that are not patches (or after 30 s). */
async function settled(pool: ClientPool, expectedOthers: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await pool.counts()).others < expectedOthers && Date.now() < deadline) await sleep(100);
}

async function run(mode: FanoutMode): Promise<Run> {
  const server = forkTs('bench/lib/fanout-server.ts', [mode, String(symbols), String(batch)], profileArgs());
  const pool = await ClientPool.start(processes);
  try {
    const listening = await nextReport(server);
    if (listening.type !== 'listening') throw new Error(`fan-out server: ${listening.type}`);
    const plans = Array.from({ length: clients }, () => ({ symbols: ['*'], expect: 0 }));
    await pool.connect(listening.url, 'raw', plans, []);
    // The bridge greets each client and sends every symbol's snapshot first.
    await settled(pool, mode === 'bridge' ? clients * (1 + symbols) : 0);
    server.send({ type: 'drive', limitBytes: limitKb * 1024 * clients } satisfies FanoutCommand);
    await sleep(Math.min(1000, seconds * 300));
    const start = await pool.counts();
    const startedAt = performance.now();
    const serverCpu0 = cpuSeconds(server.pid as number);
    const clientCpu0 = pool.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    await sleep(seconds * 1000);
    const end = await pool.counts();
    const elapsed = (performance.now() - startedAt) / 1000;
    const serverCpu = (cpuSeconds(server.pid as number) - serverCpu0) / elapsed;
    const clientCpu = (pool.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - clientCpu0) / elapsed;
    const stopped = nextReport(server);
    server.send({ type: 'stop' } satisfies FanoutCommand);
    await stopped;
    if (end.closedEarly > 0 || end.open < clients) throw new Error(`${mode}: ${clients - end.open} clients lost their connection`);
    return {
      mode,
      deliveriesPerSecond: Math.round((end.patches - start.patches) / elapsed),
      serverCpu: round(serverCpu),
      clientCpu: round(clientCpu),
      messageBytes: listening.messageBytes,
      connected: end.open,
    };
  } finally {
    await pool.stop();
    await stopChild(server);
  }
}

const runs: Run[] = [];
for (let r = 0; r < rounds; r++) {
  // A different order each round, so that a drift in the machine's load is shared out.
  const order = MODES.map((_, i) => MODES[(i + r) % MODES.length] as FanoutMode);
  for (const mode of order) {
    const result = await run(mode);
    process.stderr.write(`round ${r + 1} ${mode}: ${result.deliveriesPerSecond} deliveries/s (server CPU ${result.serverCpu}, clients ${result.clientCpu})\n`);
    runs.push(result);
  }
}

const rate = (mode: FanoutMode): number => median(runs.filter((run) => run.mode === mode).map((run) => run.deliveriesPerSecond));
const ours = rate('bridge');
const send = rate('ws-send');
const batched = rate('ws-batched');
const vsSend = round(ours / send);
const vsBatched = round(ours / batched);

await writeResult(args, loadBefore, {
  scenario: 'fanout',
  measures: 'patch deliveries per second at saturation, 1,000 WebSocket clients in other processes, every message to every client',
  params: { clients, clientProcesses: processes, symbols, messagesPerBatch: batch, secondsPerRun: seconds, rounds, backlogLimitPerClientKb: limitKb },
  figures: {
    deliveriesPerSecond: ours,
    messageBytes: runs.find((run) => run.mode === 'bridge')?.messageBytes,
    runs: runs.filter((run) => run.mode === 'bridge'),
  },
  baseline: {
    wsSendPerMessage: { deliveriesPerSecond: send, runs: runs.filter((run) => run.mode === 'ws-send') },
    wsBatchedPrebuiltFrames: { deliveriesPerSecond: batched, runs: runs.filter((run) => run.mode === 'ws-batched') },
  },
  ratio: { vsWsSend: vsSend, vsWsBatched: vsBatched },
  targets: [
    { what: 'deliveries per second at saturation', target: '>= 1,000,000/s', measured: `${ours}/s`, met: ours >= 1_000_000 },
    { what: 'against raw ws send() per message per client', target: 'above it (ratio > 1)', measured: `${vsSend}x (${send}/s)`, met: vsSend > 1 },
    {
      what: 'against raw ws pre-built frames batched per socket',
      target: '>= 80%',
      measured: `${Math.round(vsBatched * 100)}% (${batched}/s)`,
      met: vsBatched >= 0.8,
    },
  ],
});
