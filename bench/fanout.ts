/**
 * fan-out: the highest rate of patch deliveries (patches received by clients per second)
 * with 1,000 WebSocket clients in 4 other processes, every client subscribed to every
 * symbol, against raw `ws` sending the same pre-serialised messages with no logic: once
 * per message per client (`send()`), and pre-framed, one write per socket per batch. The
 * three servers run in turn, round after round, under the same pacing (bench/lib/fanout-server.ts).
 *
 * Then the same through the CLI: the bridge as users run it (`node dist/cli.js`), `.scid`
 * records appended to 50 files at 300 writes/s (and at 2,000), 1,000 counting clients and
 * 10 decoding ones (write-to-client latency) subscribed to every symbol of a quote-only
 * document, at each flush window (`stream.flushWindowMs`); beside it, at the same message
 * rate, raw `ws` writing each message to each socket in its own write (the floor without
 * joining) and a NATS server's WebSocket fan-out (when `nats-server` is installed).
 *
 *   npx tsx bench/fanout.ts [--quick] [--clients 1000] [--seconds 5] [--rounds 3] [--batch 16]
 *                           [--files 50] [--rate 300] [--fastRate 2000] [--cliSeconds 10]
 */
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../src/app/config.js';
import { ClientPool, type Counts } from './lib/clients.js';
import type { FanoutCommand, FanoutMode, FanoutReport } from './lib/fanout-server.js';
import { natsPublisher, natsServerBinary, startNatsServer } from './lib/nats-ws.js';
import { cpuSeconds, forkTs, profileArgs, startBridgeProcess, stopChild } from './lib/processes.js';
import { load, median, percentile, round, scenarioArgs, sleep, writeResult } from './lib/report.js';
import { QUOTE_ONLY, ScidFolder, atRate } from './lib/scid-folder.js';
import { writesBySymbol } from './lib/terminal-writer.js';

const args = scenarioArgs({
  clients: [1000, 100],
  processes: [4, 2],
  symbols: [10, 5],
  batch: [16, 16],
  seconds: [5, 0.5],
  rounds: [3, 1],
  limitKb: [64, 64],
  files: [50, 10],
  rate: [300, 100],
  fastRate: [2000, 200],
  cliSeconds: [10, 1],
  watchers: [10, 2],
});
const { clients, processes, symbols, batch, seconds, rounds, limitKb, files, rate, fastRate, cliSeconds, watchers } = args.params;
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

/** Ten distinct views that each change on every tick (each holds the quote), for the views runs. */
const TEN_VIEWS: string[][] = [
  ['/quote'],
  ['/quote', '/bars/M1'],
  ['/quote', '/bars/M5'],
  ['/quote', '/bars/M15'],
  ['/quote', '/bars/H1'],
  ['/quote', '/indicators/M5'],
  ['/quote', '/indicators/M15'],
  ['/quote', '/indicators/H1'],
  ['/quote', '/fields'],
  ['/quote', '/book'],
];

/** `views`: the clients split round robin over these views (PROTOCOL.md §8); the whole document when absent. */
async function run(mode: FanoutMode, views?: string[][]): Promise<Run> {
  const server = forkTs('bench/lib/fanout-server.ts', [mode, String(symbols), String(batch)], profileArgs());
  const pool = await ClientPool.start(processes);
  try {
    const listening = await nextReport(server);
    if (listening.type !== 'listening') throw new Error(`fan-out server: ${listening.type}`);
    const plans = Array.from({ length: clients }, (_, i) => ({ symbols: ['*'], expect: 0, ...(views ? { parts: views[i % views.length] } : {}) }));
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

// Views: every client on one view, then the clients split over ten, in turn, round after round.
const viewRuns: { one: Run[]; ten: Run[] } = { one: [], ten: [] };
for (let r = 0; r < rounds; r++) {
  for (const key of r % 2 === 0 ? (['one', 'ten'] as const) : (['ten', 'one'] as const)) {
    const result = await run('bridge', key === 'one' ? [['/quote']] : TEN_VIEWS);
    process.stderr.write(`round ${r + 1} ${key} view(s): ${result.deliveriesPerSecond} deliveries/s (server CPU ${result.serverCpu})\n`);
    viewRuns[key].push(result);
  }
}
const oneView = median(viewRuns.one.map((one) => one.deliveriesPerSecond));
const tenViews = median(viewRuns.ten.map((ten) => ten.deliveriesPerSecond));
const tenOverOne = round(tenViews / oneView);
/**
 * The whole-document figure of the last committed run, before this one overwrites it, as a share of raw ws batched in
 * that run: against this run's share, a regression shows whatever the machine's speed that day.
 */
const previousWhole = ((): { deliveriesPerSecond: number; vsWsBatched: number } | null => {
  try {
    const previous = JSON.parse(readFileSync('bench/results/fanout.json', 'utf8')) as {
      figures?: { deliveriesPerSecond?: number };
      ratio?: { vsWsBatched?: number };
    };
    const deliveriesPerSecond = previous.figures?.deliveriesPerSecond;
    const vsWsBatched = previous.ratio?.vsWsBatched;
    return deliveriesPerSecond === undefined || vsWsBatched === undefined ? null : { deliveriesPerSecond, vsWsBatched };
  } catch {
    return null;
  }
})();

const rateOf = (mode: FanoutMode): number => median(runs.filter((run) => run.mode === mode).map((run) => run.deliveriesPerSecond));
const ours = rateOf('bridge');
const send = rateOf('ws-send');
const batched = rateOf('ws-batched');
const vsSend = round(ours / send);
const vsBatched = round(ours / batched);
const stateLayerCpu = median(runs.filter((run) => run.mode === 'bridge').map((run) => run.serverCpu));

const DEFAULT_WINDOW_MS = resolveConfig({ port: 0, sources: [] }).stream.flushWindowMs;
/** The flush windows compared at the paced rate (ms); 0 is one write per socket per turn. A quick run tries the default alone. */
const WINDOWS = [...new Set(args.quick ? [DEFAULT_WINDOW_MS] : [0, 1, 2, 5, 10, DEFAULT_WINDOW_MS])].sort((a, b) => a - b);

/** One paced run: deliveries and server CPU per second of the window. */
interface PacedRun {
  server: string;
  windowMs?: number;
  writesPerSecond: number;
  deliveriesPerSecond: number;
  /** Deliveries expected: every message to every counting client. */
  expectedPerSecond: number;
  serverCpu: number;
  /** Server CPU per delivery, µs (0 without deliveries). */
  cpuPerDeliveryUs: number;
  /** Server CPU per message written (per file write, for the CLI), ms. */
  cpuPerMessageMs: number;
  clientCpu: number;
  /** Bytes per delivery on the wire, frame header included. */
  bytesPerDelivery: number;
  /** The server's write system calls (write, writev: /proc/<pid>/io syscw) per message and client: 1 is one write per socket per message. */
  writesPerDelivery: number;
  latencyMs?: { samples: number; p50: number; p90: number; p99: number; max: number };
}

const countingPlans = (count: number): { symbols: string[]; expect: number }[] => Array.from({ length: count }, () => ({ symbols: ['*'], expect: 0 }));

/** Write system calls a process has made (write, writev, sendmsg), from /proc/<pid>/io. */
function writeSyscalls(pid: number): number {
  return Number(/syscw:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? Number.NaN);
}

/** Measures the server and the pool while `work` runs; deliveries counted by `pool`. */
async function measured(
  serverPid: number,
  pool: ClientPool,
  work: () => Promise<unknown>,
): Promise<{ elapsed: number; serverCpu: number; clientCpu: number; writes: number; start: Counts; end: Counts }> {
  const start = await pool.counts();
  const writes0 = writeSyscalls(serverPid);
  const startedAt = performance.now();
  const serverCpu0 = cpuSeconds(serverPid);
  const clientCpu0 = pool.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  await work();
  const end = await pool.counts();
  const elapsed = (performance.now() - startedAt) / 1000;
  const serverCpu = (cpuSeconds(serverPid) - serverCpu0) / elapsed;
  const clientCpu = (pool.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - clientCpu0) / elapsed;
  return { elapsed, serverCpu, clientCpu, writes: writeSyscalls(serverPid) - writes0, start, end };
}

function pacedFigures(server: string, writesPerSecond: number, m: Awaited<ReturnType<typeof measured>>, receivers = clients): PacedRun {
  const deliveries = m.end.patches - m.start.patches;
  const deliveriesPerSecond = Math.round(deliveries / m.elapsed);
  return {
    server,
    writesPerSecond,
    deliveriesPerSecond,
    expectedPerSecond: writesPerSecond * receivers,
    serverCpu: round(m.serverCpu),
    cpuPerDeliveryUs: deliveriesPerSecond > 0 ? round((m.serverCpu / deliveriesPerSecond) * 1e6) : 0,
    cpuPerMessageMs: round((m.serverCpu / writesPerSecond) * 1000, 3),
    clientCpu: round(m.clientCpu),
    bytesPerDelivery: round((m.end.bytes - m.start.bytes) / Math.max(1, deliveries), 1),
    writesPerDelivery: round(m.writes / Math.max(1, deliveries), 3),
  };
}

/** The bridge through the CLI, `.scid` appends at `writesPerSecond`, flush window `windowMs`. */
async function cliRun(windowMs: number, writesPerSecond: number, counting = clients): Promise<PacedRun> {
  const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-fanout-'));
  const folder = new ScidFolder(dir, files);
  folder.create();
  const bridge = await startBridgeProcess({ sources: [{ path: dir, format: 'sierra-scid' }], document: QUOTE_ONLY, stream: { flushWindowMs: windowMs } });
  const pool = await ClientPool.start(processes);
  const decoding = await ClientPool.start(1);
  try {
    const deadline = Date.now() + 30_000;
    while ((await bridge.json<{ symbols: unknown[] }>('/v1/symbols')).symbols.length < files) {
      if (Date.now() > deadline) throw new Error(`the bridge did not publish ${files} symbols within 30 s`);
      await sleep(50);
    }
    await pool.connect(bridge.url, 'raw', countingPlans(counting), []);
    await pool.settle(counting * (1 + files), 'bridge');
    await decoding.connect(
      bridge.url,
      'ws',
      Array.from({ length: watchers }, () => ({ symbols: ['*'], expect: files })),
      folder.symbols,
      true,
    );
    await atRate(writesPerSecond, 0.5, () => folder.write());
    await decoding.record(true);
    let writes: ReturnType<ScidFolder['write']>[] = [];
    const m = await measured(bridge.pid, pool, async () => {
      writes = await atRate(writesPerSecond, cliSeconds, () => folder.write());
    });
    await sleep(300);
    await decoding.record(false);
    const { samples } = await decoding.latencies(writesBySymbol(writes, files));
    samples.sort();
    const end = await pool.counts();
    if (end.closedEarly > 0 || end.open < counting) throw new Error(`cli: ${counting - end.open} clients lost their connection`);
    return {
      ...pacedFigures(counting === clients ? 'cli' : `cli, ${counting} counting clients`, writesPerSecond, m, counting),
      windowMs,
      latencyMs: {
        samples: samples.length,
        p50: round(percentile(samples, 50)),
        p90: round(percentile(samples, 90)),
        p99: round(percentile(samples, 99)),
        max: round(samples[samples.length - 1] ?? Number.NaN),
      },
    };
  } finally {
    await decoding.stop();
    await pool.stop();
    await bridge.stop();
    folder.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Raw `ws`, one pre-built frame per message written to each socket in its own write, `messagesPerSecond` in separate turns. */
async function floorRun(messagesPerSecond: number): Promise<PacedRun> {
  const server = forkTs('bench/lib/fanout-server.ts', ['ws-batched', String(symbols), '1'], profileArgs());
  const pool = await ClientPool.start(processes);
  try {
    const listening = await nextReport(server);
    if (listening.type !== 'listening') throw new Error(`fan-out server: ${listening.type}`);
    await pool.connect(listening.url, 'raw', countingPlans(clients), []);
    server.send({ type: 'pace', rate: messagesPerSecond } satisfies FanoutCommand);
    await sleep(500);
    const m = await measured(server.pid as number, pool, () => sleep(cliSeconds * 1000));
    const stopped = nextReport(server);
    server.send({ type: 'stop' } satisfies FanoutCommand);
    await stopped;
    return pacedFigures('raw-ws-floor', messagesPerSecond, m);
  } finally {
    await pool.stop();
    await stopChild(server);
  }
}

/** nats-server: `messagesPerSecond` messages of `payloadBytes` published, every client subscribed to them. */
async function natsRun(messagesPerSecond: number, payloadBytes: number): Promise<PacedRun> {
  const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-nats-'));
  const nats = await startNatsServer(dir);
  const pool = await ClientPool.start(processes);
  const publisher = await natsPublisher(nats.port);
  try {
    await pool.connect(nats.wsUrl, 'nats', countingPlans(clients), []);
    // INFO, then the PONG to the PING sent after SUB: every client is subscribed.
    await pool.settle(clients * 2, 'nats');
    const payload = Buffer.from(`{"type":"patch","symbol":"F00_FUT_CME","seq":1,"ops":[],"pad":"${'x'.repeat(Math.max(0, payloadBytes - 60))}"}`);
    await atRate(messagesPerSecond, 0.5, () => publisher.publish(payload));
    const m = await measured(nats.pid, pool, () => atRate(messagesPerSecond, cliSeconds, () => publisher.publish(payload)));
    const end = await pool.counts();
    if (end.open < clients) throw new Error(`nats: ${clients - end.open} clients lost their connection`);
    return pacedFigures('nats', messagesPerSecond, m);
  } finally {
    publisher.close();
    await pool.stop();
    await stopChild(nats.child);
    await rm(dir, { recursive: true, force: true });
  }
}

const report = (run: PacedRun): void => {
  const latency = run.latencyMs ? `, p50 ${run.latencyMs.p50} ms p99 ${run.latencyMs.p99} ms` : '';
  const window = run.windowMs === undefined ? '' : ` window ${run.windowMs} ms`;
  process.stderr.write(
    `${run.server}${window} at ${run.writesPerSecond}/s: ${run.deliveriesPerSecond} deliveries/s, server CPU ${run.serverCpu} (${run.cpuPerDeliveryUs} µs/delivery, ${run.writesPerDelivery} writes/delivery)${latency}\n`,
  );
};

const cliRuns: PacedRun[] = [];
for (const windowMs of WINDOWS) {
  const run = await cliRun(windowMs, rate);
  report(run);
  cliRuns.push(run);
}
const fastRuns: PacedRun[] = [];
for (const windowMs of [...new Set(args.quick ? [DEFAULT_WINDOW_MS] : [0, DEFAULT_WINDOW_MS])]) {
  const run = await cliRun(windowMs, fastRate);
  report(run);
  fastRuns.push(run);
}
// What a change costs before any client: the read, the decode, the commit (and the decoding clients).
const unwatched = await cliRun(DEFAULT_WINDOW_MS, rate, 0);
report(unwatched);
const floor = await floorRun(rate);
report(floor);
const natsBinary = natsServerBinary();
const cliDefault = cliRuns.find((run) => run.windowMs === DEFAULT_WINDOW_MS) as PacedRun;
const fastDefault = fastRuns.find((run) => run.windowMs === DEFAULT_WINDOW_MS) as PacedRun;
let nats: PacedRun | null = null;
let natsFast: PacedRun | null = null;
if (natsBinary) {
  const payloadBytes = Math.round(cliDefault.bytesPerDelivery - 2);
  nats = await natsRun(rate, payloadBytes);
  report(nats);
  natsFast = await natsRun(fastRate, payloadBytes);
  report(natsFast);
} else {
  process.stderr.write('nats-server is not installed (apt-get install -y nats-server): the NATS peer is skipped\n');
}

const windowZero = cliRuns.find((run) => run.windowMs === 0);
const cliVsStateLayer = round(fastDefault.deliveriesPerSecond / ours);
const latencyP99 = cliDefault.latencyMs?.p99 ?? Number.NaN;
const latencyP50 = cliDefault.latencyMs?.p50 ?? Number.NaN;

await writeResult(args, loadBefore, {
  scenario: 'fanout',
  measures: 'patch deliveries per second at saturation, 1,000 WebSocket clients in other processes, every message to every client',
  params: {
    clients,
    clientProcesses: processes,
    symbols,
    messagesPerBatch: batch,
    secondsPerRun: seconds,
    rounds,
    backlogLimitPerClientKb: limitKb,
    cliFiles: files,
    cliWritesPerSecond: rate,
    cliFastWritesPerSecond: fastRate,
    cliSecondsPerRun: cliSeconds,
    cliDecodingClients: watchers,
    defaultFlushWindowMs: DEFAULT_WINDOW_MS,
  },
  figures: {
    deliveriesPerSecond: ours,
    serverCpu: stateLayerCpu,
    messageBytes: runs.find((run) => run.mode === 'bridge')?.messageBytes,
    runs: runs.filter((run) => run.mode === 'bridge'),
    cli: {
      description:
        'node dist/cli.js, .scid appends spread over the files, every counting client and the decoding ones subscribed to * of a quote-only document',
      atRate: cliDefault,
      atFastRate: fastDefault,
      byWindow: cliRuns,
      fastByWindow: fastRuns,
      withoutCountingClients: unwatched,
      vsStateLayer: cliVsStateLayer,
    },
    views: {
      description: 'the state-layer scenario with every client on one view (/quote), then the clients split over ten views that each hold the quote',
      oneView: { deliveriesPerSecond: oneView, runs: viewRuns.one },
      tenViews: { deliveriesPerSecond: tenViews, views: TEN_VIEWS, runs: viewRuns.ten },
      tenOverOne,
    },
  },
  baseline: {
    wsSendPerMessage: { deliveriesPerSecond: send, runs: runs.filter((run) => run.mode === 'ws-send') },
    wsBatchedPrebuiltFrames: { deliveriesPerSecond: batched, runs: runs.filter((run) => run.mode === 'ws-batched') },
    rawWsOneWritePerMessage: floor,
    previousWholeDocument: previousWhole,
    nats: natsBinary ? { version: natsBinary.version, atRate: nats, atFastRate: natsFast } : { skipped: 'nats-server is not installed' },
  },
  ratio: {
    vsWsSend: vsSend,
    vsWsBatched: vsBatched,
    cliVsStateLayer,
    cliCpuVsFloor: round(cliDefault.serverCpu / floor.serverCpu),
    ...(nats ? { cliPerDeliveryVsNats: round(cliDefault.cpuPerDeliveryUs / nats.cpuPerDeliveryUs) } : {}),
  },
  targets: [
    { what: 'deliveries per second at saturation', target: '>= 1,000,000/s', measured: `${ours}/s`, met: ours >= 1_000_000 },
    { what: 'against raw ws send() per message per client', target: 'above it (ratio > 1)', measured: `${vsSend}x (${send}/s)`, met: vsSend > 1 },
    {
      what: 'against raw ws pre-built frames batched per socket',
      target: '>= 80%',
      measured: `${Math.round(vsBatched * 100)}% (${batched}/s)`,
      met: vsBatched >= 0.8,
    },
    {
      what: `server CPU through the CLI, ${rate} writes/s, ${clients} clients`,
      target: '<= 0.5 core',
      measured: `${cliDefault.serverCpu} core (window ${DEFAULT_WINDOW_MS} ms${windowZero ? `; window 0: ${windowZero.serverCpu}` : ''}; raw ws one write per socket per message: ${floor.serverCpu})`,
      met: cliDefault.serverCpu <= 0.5,
    },
    {
      what: 'deliveries/s through the CLI against the state layer, same run',
      target: '>= 0.8x',
      measured: `${cliVsStateLayer}x (${fastDefault.deliveriesPerSecond}/s at ${fastRate} writes/s, state layer ${ours}/s)`,
      met: cliVsStateLayer >= 0.8,
    },
    {
      what: 'server CPU per delivery through the CLI against a NATS server over WebSocket',
      target: 'at or below NATS',
      measured: nats
        ? `${cliDefault.cpuPerDeliveryUs} µs against ${nats.cpuPerDeliveryUs} µs at ${rate}/s; ${fastDefault.cpuPerDeliveryUs} µs against ${natsFast?.cpuPerDeliveryUs} µs at ${fastRate}/s`
        : 'not measured: nats-server is not installed',
      met: nats !== null && cliDefault.cpuPerDeliveryUs <= nats.cpuPerDeliveryUs,
    },
    {
      what: `write to client through the CLI at ${rate} writes/s, ${clients} clients, p99`,
      target: '<= 20 ms (p50 <= 5 ms)',
      measured: `p99 ${latencyP99} ms, p50 ${latencyP50} ms${windowZero ? ` (window 0: p99 ${windowZero.latencyMs?.p99} ms, p50 ${windowZero.latencyMs?.p50} ms)` : ''}`,
      met: latencyP99 <= 20 && latencyP50 <= 5,
    },
    {
      what: `fan-out, ${clients} clients split over ${TEN_VIEWS.length} distinct views, against every client on one view, same run`,
      target: '>= 80%',
      measured: `${Math.round(tenOverOne * 100)}% (${tenViews}/s against ${oneView}/s)`,
      met: tenOverOne >= 0.8,
    },
    {
      what: 'fan-out, whole document, the same scenario as before views',
      target: 'no regression: a share of raw ws batched (same run) at least that of the last committed run, less 5 points of noise',
      measured: `${Math.round(vsBatched * 100)}% of raw ws batched (${ours}/s)${previousWhole === null ? '' : `; the last committed run: ${Math.round(previousWhole.vsWsBatched * 100)}% (${previousWhole.deliveriesPerSecond}/s)`}`,
      met: previousWhole === null || vsBatched >= previousWhole.vsWsBatched - 0.05,
    },
  ],
});
