/**
 * cluster: scale-out through Redis (issue 16), each figure beside the single node in the
 * same run, against a redis-server this scenario starts (a child on a free port, a temporary
 * folder, no persistence: test/helpers/redis-server.ts).
 *
 * - latency: the latency scenario's load (50 symbols, 200 writes/s, 1,000 clients in other
 *   processes, 5 symbols each, plus 10 on `*`) through ingest → Redis → edge, the clients on
 *   the edge; the single node with the same load in turns, round after round. Redis CPU and
 *   bytes per version published are taken over the same window (INFO cpu; the ingest's
 *   tapebridge_cluster_published_total and _bytes_total).
 * - saturation: in this process, a Store fed by TickDriver (every symbol committing once per
 *   event-loop turn, as fast as the loop turns) with a ClusterPublisher attached, as an
 *   ingest runs it: versions written to Redis per second (its published counter), this
 *   process's and Redis's CPU; beside it, in turns, the same loop without a publisher.
 *   Then the bytes each version takes in Redis (MEMORY USAGE of the streams and documents).
 * - fan-out: `.scid` appends at 2,000 writes/s over 50 files of a quote-only document,
 *   1,000 counting clients on `*`: on the single node, on one edge, and split over two
 *   edges (500 each), all on the same 2 cores: the split, not a speed-up.
 * - failover: two ingests on the same folder (default lease), an edge, a client of the edge;
 *   the active ingest SIGKILLed while the files change: time to the first patch the client
 *   gets that carries a write made after the kill (only the standby can have published it).
 *
 *   npx tsx bench/cluster.ts [--quick] [--seconds 15] [--rounds 4] [--saturationSymbols 100] [--fanoutRate 2000] [--failovers 3] [--leaseMs 5000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { publisherOptionsOf } from '../src/app/cluster.js';
import { resolveConfig } from '../src/app/config.js';
import { openRedis } from '../src/cluster/connect.js';
import { clusterCounters } from '../src/cluster/counters.js';
import { ClusterKeys } from '../src/cluster/keys.js';
import { ClusterPublisher } from '../src/cluster/publisher.js';
import { createLogger } from '../src/core/logger.js';
import { Store } from '../src/state/store.js';
import { RedisServer } from '../test/helpers/redis-server.js';
import { ClientPool, monotonicMs, type Counts } from './lib/clients.js';
import { latencyRun, type LatencyLoad, type LatencyRun, type Served } from './lib/latency-run.js';
import { TickDriver } from './lib/market.js';
import { cpuSeconds, startBridgeProcess, waitForSymbols, type BridgeProcess } from './lib/processes.js';
import { quoteTimeUs, type PatchOp } from './lib/quote-time.js';
import { load, median, round, scenarioArgs, sleep, writeResult } from './lib/report.js';
import { QUOTE_ONLY, ScidFolder, atRate } from './lib/scid-folder.js';
import type { Write } from './lib/terminal-writer.js';

const args = scenarioArgs({
  seconds: [15, 2],
  rounds: [4, 1],
  clients: [1000, 100],
  wildcards: [10, 2],
  perClient: [5, 5],
  symbols: [50, 50],
  rate: [200, 200],
  processes: [4, 2],
  saturationSeconds: [5, 1],
  saturationRounds: [3, 1],
  saturationSymbols: [100, 50],
  historyMinutes: [60, 10],
  fanoutFiles: [50, 10],
  fanoutRate: [2000, 200],
  fanoutSeconds: [10, 0.5],
  fanoutClients: [1000, 100],
  failovers: [3, 1],
  failoverFiles: [10, 5],
  leaseMs: [5000, 1000],
});
const p = args.params;
const loadBefore = load();
const DEFAULTS = resolveConfig({ port: 0, sources: [] });

const redis = await RedisServer.start();
const admin = new Redis(redis.url);
let namespaces = 0;

/** A fresh namespace in an empty Redis: each run's Redis figures are its own. */
async function freshPrefix(): Promise<string> {
  await admin.flushall();
  return `bench${++namespaces}`;
}

function redisPid(): number {
  if (redis.pid === undefined) throw new Error('redis-server is not running');
  return redis.pid;
}

/** Redis's CPU seconds (user + system, every thread), from INFO cpu. */
async function redisCpuSeconds(): Promise<number> {
  const info = await admin.info('cpu');
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return field('used_cpu_sys') + field('used_cpu_user');
}

/** A counter of the bridge's /metrics. */
async function metric(bridge: BridgeProcess, name: string): Promise<number> {
  const text = await (await fetch(`${bridge.url}/metrics`)).text();
  return Number(new RegExp(`^${name} ([\\d.e+]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
}

const cluster = (prefix: string, nodeId: string, leaseMs = DEFAULTS.cluster.leaseMs) => ({ redis: redis.url, prefix, nodeId, leaseMs });

// ---------------------------------------------------------------- latency

const latencyLoad: LatencyLoad = {
  symbols: p.symbols,
  clients: p.clients,
  wildcards: p.wildcards,
  perClient: p.perClient,
  writesPerSecond: p.rate,
  seconds: p.seconds,
  processes: p.processes,
};

async function single(dir: string): Promise<Served> {
  const bridge = await startBridgeProcess({ sources: [{ path: dir }] });
  await waitForSymbols(bridge.url, p.symbols);
  return { url: bridge.url, pids: { bridge: bridge.pid }, stop: () => bridge.stop() };
}

async function throughRedis(dir: string): Promise<Served> {
  const prefix = await freshPrefix();
  // The edge needs nothing of the ingest to start: it reads what is published once it is.
  const [ingest, edge] = await Promise.all([
    startBridgeProcess({ sources: [{ path: dir }], cluster: cluster(prefix, 'ingest-1') }),
    startBridgeProcess({ sources: [], cluster: cluster(prefix, 'edge-1') }),
  ]);
  await waitForSymbols(ingest.url, p.symbols);
  await waitForSymbols(edge.url, p.symbols);
  const at = async () => ({
    cpu: await redisCpuSeconds(),
    published: await metric(ingest, 'tapebridge_cluster_published_total'),
    bytes: await metric(ingest, 'tapebridge_cluster_published_bytes_total'),
  });
  const start = await at();
  return {
    url: edge.url,
    pids: { ingest: ingest.pid, edge: edge.pid, redis: redisPid() },
    report: async () => {
      const end = await at();
      const published = end.published - start.published;
      return {
        versionsPublished: published,
        redisCpuMsPer1000Commits: round(((end.cpu - start.cpu) / published) * 1e6),
        bytesPerCommit: round((end.bytes - start.bytes) / published, 1),
      };
    },
    stop: async () => {
      await edge.stop();
      await ingest.stop();
    },
  };
}

const latencyRuns: { single: LatencyRun[]; cluster: LatencyRun[] } = { single: [], cluster: [] };
for (let r = 0; r < p.rounds; r++) {
  for (const kind of r % 2 === 0 ? (['single', 'cluster'] as const) : (['cluster', 'single'] as const)) {
    const run = await latencyRun(latencyLoad, kind === 'single' ? single : throughRedis);
    process.stderr.write(`latency round ${r + 1} ${kind}: p50 ${run.latencyMs.p50} ms, p99 ${run.latencyMs.p99} ms, ${run.samples} of ${run.expected}\n`);
    latencyRuns[kind].push(run);
  }
}

const latencySummary = (runs: LatencyRun[]) => ({
  p50: median(runs.map((run) => run.latencyMs.p50)),
  p90: median(runs.map((run) => run.latencyMs.p90)),
  p99: median(runs.map((run) => run.latencyMs.p99)),
  samples: runs.reduce((sum, run) => sum + run.samples, 0),
  expected: runs.reduce((sum, run) => sum + run.expected, 0),
  rounds: runs,
});
const latencySingle = latencySummary(latencyRuns.single);
const latencyCluster = latencySummary(latencyRuns.cluster);
const atRateRedis = {
  redisCpuMsPer1000Commits: median(latencyRuns.cluster.map((run) => run.served.redisCpuMsPer1000Commits as number)),
  bytesPerCommit: median(latencyRuns.cluster.map((run) => run.served.bytesPerCommit as number)),
};

// ---------------------------------------------------------------- saturation

interface SaturationRun {
  publisher: boolean;
  commitsPerSecond: number;
  /** Versions written to Redis per second (ClusterPublisher's published counter); 0 without a publisher. */
  versionsPerSecond: number;
  /** This process (store, publisher, ioredis) and Redis, cores. */
  ingestCpu: number;
  redisCpu: number;
  redisCpuMsPer1000Commits: number;
  bytesPerCommit: number;
  publishErrors: number;
  /** What the versions take in Redis at the end of the run (publisher runs). */
  memory?: { streamBytesPerEntry: number; documentBytes: number; perSymbolBytes: number };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Every symbol committing once per turn for `seconds`; the counts of the last `seconds` after a warm-up of 0.5 s. */
async function saturation(withPublisher: boolean): Promise<SaturationRun> {
  const prefix = await freshPrefix();
  const store = new Store({ journalSize: DEFAULTS.journal.size });
  const driver = new TickDriver(store, p.saturationSymbols, { historyMinutes: p.historyMinutes, stepMs: 7 });
  const counters = clusterCounters();
  const connection = withPublisher ? openRedis(redis.url, 'bench-ingest') : null;
  connection?.on('error', () => undefined);
  const keys = new ClusterKeys(prefix);
  const publisher = connection
    ? new ClusterPublisher(connection, keys, store, createLogger('warn'), publisherOptionsOf(DEFAULTS, 'bench-ingest'), counters)
    : null;
  try {
    await publisher?.synced;
    let commits = 0;
    const drive = async (until: number): Promise<void> => {
      while (performance.now() < until) {
        for (let i = 0; i < p.saturationSymbols; i++) driver.step();
        commits += p.saturationSymbols;
        await turn();
      }
    };
    await drive(performance.now() + 500);
    const commits0 = commits;
    const published0 = counters.published.value;
    const bytes0 = counters.publishedBytes.value;
    const cpu0 = process.cpuUsage();
    const redis0 = await redisCpuSeconds();
    const startedAt = performance.now();
    await drive(startedAt + p.saturationSeconds * 1000);
    const elapsed = (performance.now() - startedAt) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const redisCpu = (await redisCpuSeconds()) - redis0;
    const published = counters.published.value - published0;
    const run: SaturationRun = {
      publisher: withPublisher,
      commitsPerSecond: Math.round((commits - commits0) / elapsed),
      versionsPerSecond: Math.round(published / elapsed),
      ingestCpu: round((cpu.user + cpu.system) / 1e6 / elapsed),
      redisCpu: round(redisCpu / elapsed),
      redisCpuMsPer1000Commits: published > 0 ? round((redisCpu / published) * 1e6) : 0,
      bytesPerCommit: published > 0 ? round((counters.publishedBytes.value - bytes0) / published, 1) : 0,
      publishErrors: counters.publishErrors.value,
    };
    if (withPublisher) {
      await publisher?.close();
      run.memory = await memoryOf(keys, driver.symbols);
    }
    return run;
  } finally {
    await publisher?.close();
    await connection?.quit().catch(() => connection.disconnect());
  }
}

/** What the symbols' keys take in Redis: bytes per stream entry, per stored document, and all of a symbol's keys. */
async function memoryOf(keys: ClusterKeys, symbols: readonly string[]): Promise<NonNullable<SaturationRun['memory']>> {
  let streamBytes = 0;
  let entries = 0;
  let documentBytes = 0;
  let all = 0;
  for (const symbol of symbols) {
    const [log, doc, meta, lease] = await Promise.all(
      [keys.log(symbol), keys.doc(symbol), keys.meta(symbol), keys.lease(symbol)].map(async (key) => Number(await admin.memory('USAGE', key, 'SAMPLES', 0))),
    );
    streamBytes += log ?? 0;
    entries += await admin.xlen(keys.log(symbol));
    documentBytes += doc ?? 0;
    all += (log ?? 0) + (doc ?? 0) + (meta ?? 0) + (lease ?? 0);
  }
  return {
    streamBytesPerEntry: round(streamBytes / entries, 1),
    documentBytes: Math.round(documentBytes / symbols.length),
    perSymbolBytes: Math.round(all / symbols.length),
  };
}

const saturationRuns: SaturationRun[] = [];
for (let r = 0; r < p.saturationRounds; r++) {
  for (const withPublisher of r % 2 === 0 ? [false, true] : [true, false]) {
    const run = await saturation(withPublisher);
    process.stderr.write(
      `saturation round ${r + 1} ${withPublisher ? 'publisher' : 'store alone'}: ${run.commitsPerSecond} commits/s, ${run.versionsPerSecond} versions/s to Redis, CPU ${run.ingestCpu} + Redis ${run.redisCpu}\n`,
    );
    saturationRuns.push(run);
  }
}
const published = saturationRuns.filter((run) => run.publisher);
const storeAlone = saturationRuns.filter((run) => !run.publisher);
const pick = (runs: SaturationRun[], value: (run: SaturationRun) => number) => median(runs.map(value));
const storeAloneCommits = pick(storeAlone, (run) => run.commitsPerSecond);
/** The Store's CPU per commit (the runs without a publisher), and what is left of the publisher runs' CPU per version once their commits are paid for. */
const storeUsPerCommit = round(
  pick(storeAlone, (run) => (run.ingestCpu / run.commitsPerSecond) * 1e6),
  1,
);
const publisherUsPerVersion = round(
  pick(published, (run) => ((run.ingestCpu - (run.commitsPerSecond * storeUsPerCommit) / 1e6) / run.versionsPerSecond) * 1e6),
  1,
);
const saturationFigures = {
  versionsPerSecond: pick(published, (run) => run.versionsPerSecond),
  commitsPerSecond: pick(published, (run) => run.commitsPerSecond),
  ingestCpu: pick(published, (run) => run.ingestCpu),
  redisCpu: pick(published, (run) => run.redisCpu),
  redisCpuMsPer1000Commits: pick(published, (run) => run.redisCpuMsPer1000Commits),
  bytesPerCommit: pick(published, (run) => run.bytesPerCommit),
  streamBytesPerEntry: pick(published, (run) => run.memory?.streamBytesPerEntry ?? Number.NaN),
  documentBytes: pick(published, (run) => run.memory?.documentBytes ?? Number.NaN),
  perSymbolBytes: pick(published, (run) => run.memory?.perSymbolBytes ?? Number.NaN),
  publisherUsPerVersion,
  publishErrors: published.reduce((sum, run) => sum + run.publishErrors, 0),
  rounds: saturationRuns,
};

// ---------------------------------------------------------------- fan-out

type FanoutKind = 'single' | 'oneEdge' | 'twoEdges';

interface FanoutRun {
  kind: FanoutKind;
  writesPerSecond: number;
  deliveriesPerSecond: number;
  /** Every write to every client. */
  expectedPerSecond: number;
  /** Deliveries per second by the server the clients are on (the bridge, or each edge). */
  byServer: number[];
  /** Cores, per process. */
  cpu: Record<string, number>;
  clientCpu: number;
}

async function fanout(kind: FanoutKind): Promise<FanoutRun> {
  const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-cluster-'));
  const folder = new ScidFolder(dir, p.fanoutFiles);
  folder.create();
  const source = { sources: [{ path: dir, format: 'sierra-scid' }], document: QUOTE_ONLY };
  const started: BridgeProcess[] = [];
  const pools: ClientPool[] = [];
  try {
    const pids: Record<string, number> = {};
    let servers: BridgeProcess[];
    if (kind === 'single') {
      const bridge = await startBridgeProcess(source);
      started.push(bridge);
      pids.bridge = bridge.pid;
      servers = [bridge];
    } else {
      const prefix = await freshPrefix();
      const edges = kind === 'oneEdge' ? [1] : [1, 2];
      const [ingest, ...rest] = await Promise.all([
        startBridgeProcess({ ...source, cluster: cluster(prefix, 'ingest-1') }),
        ...edges.map((i) => startBridgeProcess({ sources: [], cluster: cluster(prefix, `edge-${i}`) })),
      ]);
      started.push(ingest, ...rest);
      servers = rest;
      rest.forEach((edge, i) => (pids[`edge${i + 1}`] = edge.pid));
      pids.ingest = ingest.pid;
      pids.redis = redisPid();
    }
    const share = Math.round(p.fanoutClients / servers.length);
    for (const server of servers) {
      await waitForSymbols(server.url, p.fanoutFiles);
      const pool = await ClientPool.start(Math.max(1, Math.round(p.processes / servers.length)));
      pools.push(pool);
      await pool.connect(
        server.url,
        'raw',
        Array.from({ length: share }, () => ({ symbols: ['*'], expect: 0 })),
        [],
      );
      await pool.settle(share * (1 + p.fanoutFiles), kind);
    }
    await atRate(p.fanoutRate, 0.5, () => folder.write());
    const counts = (): Promise<Counts[]> => Promise.all(pools.map((pool) => pool.counts()));
    const clientPids = pools.flatMap((pool) => pool.pids);
    const start = await counts();
    const cpu0 = Object.values(pids).map(cpuSeconds);
    const clientCpu0 = clientPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const startedAt = performance.now();
    await atRate(p.fanoutRate, p.fanoutSeconds, () => folder.write());
    const end = await counts();
    const elapsed = (performance.now() - startedAt) / 1000;
    const cpu = Object.fromEntries(Object.entries(pids).map(([name, pid], i) => [name, round((cpuSeconds(pid) - (cpu0[i] as number)) / elapsed)]));
    const clientCpu = round((clientPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - clientCpu0) / elapsed);
    const lost = end.reduce((sum, count) => sum + count.closedEarly, 0);
    if (lost > 0) throw new Error(`${kind}: ${lost} clients lost their connection`);
    const byServer = end.map((count, i) => Math.round((count.patches - (start[i] as Counts).patches) / elapsed));
    return {
      kind,
      writesPerSecond: p.fanoutRate,
      deliveriesPerSecond: byServer.reduce((sum, rate) => sum + rate, 0),
      expectedPerSecond: p.fanoutRate * share * servers.length,
      byServer,
      cpu,
      clientCpu,
    };
  } finally {
    await Promise.all(pools.map((pool) => pool.stop()));
    for (const server of started.reverse()) await server.stop();
    folder.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const fanoutRuns: Record<FanoutKind, FanoutRun> = {} as Record<FanoutKind, FanoutRun>;
for (const kind of ['single', 'oneEdge', 'twoEdges'] as const) {
  const run = await fanout(kind);
  process.stderr.write(`fan-out ${kind}: ${run.deliveriesPerSecond} deliveries/s (${run.byServer.join(' + ')}), CPU ${JSON.stringify(run.cpu)}\n`);
  fanoutRuns[kind] = run;
}

// ---------------------------------------------------------------- failover

interface FailoverRun {
  leaseMs: number;
  /** From the SIGKILL to the first patch at the edge's client carrying a write made after it. */
  msToFirstPatch: number;
  /** From the SIGKILL to the standby's log line saying it took a lease over (as this process read it). */
  msToLeaseTaken: number | null;
  /** Snapshots the client got after the kill (a takeover should make none). */
  snapshotsAfterKill: number;
}

/** A client of `url` on `*`: resolves once it holds `count` snapshots; `onPatch` sees every patch with its receipt time. */
async function watcher(url: string, symbols: readonly string[], count: number, onPatch: (symbol: number, timeUs: number, atMs: number) => void) {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, { perMessageDeflate: false });
  const index = new Map(symbols.map((symbol, i) => [symbol, i]));
  let snapshots = 0;
  await new Promise<void>((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ op: 'subscribe', symbols: ['*'] })));
    socket.on('error', reject);
    socket.on('message', (data: Buffer) => {
      const atMs = monotonicMs();
      const message = JSON.parse(data.toString()) as { type: string; symbol: string; ops?: PatchOp[] };
      if (message.type === 'snapshot' && ++snapshots === count) resolve();
      const symbol = index.get(message.symbol);
      const timeUs = message.ops ? quoteTimeUs(message.ops) : undefined;
      if (message.type === 'patch' && symbol !== undefined && timeUs !== undefined) onPatch(symbol, timeUs, atMs);
    });
  });
  return { snapshots: () => snapshots, close: () => socket.terminate() };
}

async function failover(): Promise<FailoverRun> {
  const prefix = await freshPrefix();
  const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-cluster-'));
  const folder = new ScidFolder(dir, p.failoverFiles);
  folder.create();
  const source = { sources: [{ path: dir, format: 'sierra-scid' }] };
  const started: BridgeProcess[] = [];
  let writing: NodeJS.Timeout | undefined;
  let client: Awaited<ReturnType<typeof watcher>> | undefined;
  try {
    const active = await startBridgeProcess({ ...source, cluster: cluster(prefix, 'ingest-a', p.leaseMs) });
    started.push(active);
    await waitForSymbols(active.url, p.failoverFiles);
    const [standby, edge] = await Promise.all([
      startBridgeProcess({ ...source, cluster: cluster(prefix, 'ingest-b', p.leaseMs) }),
      startBridgeProcess({ sources: [], cluster: cluster(prefix, 'edge-1') }),
    ]);
    started.push(standby, edge);
    await waitForSymbols(edge.url, p.failoverFiles);
    const deadline = Date.now() + 30_000;
    while ((await standby.json<{ components: { cluster?: { standby?: number } } }>('/health')).components.cluster?.standby !== p.failoverFiles) {
      if (Date.now() > deadline) throw new Error('the standby ingest did not stand by for every symbol within 30 s');
      await sleep(100);
    }
    const leaseTaken: { atMs: number | null } = { atMs: null };
    standby.child.stdout?.on('data', (chunk: Buffer) => {
      if (leaseTaken.atMs === null && chunk.toString().includes('"cluster_lease_taken"')) leaseTaken.atMs = monotonicMs();
    });
    let killedAt = Number.POSITIVE_INFINITY;
    /** Per symbol, the quote time of its first write after the kill. */
    const firstAfterKill = new Map<number, number>();
    let resolveSeen: (atMs: number) => void = () => undefined;
    const seen = new Promise<number>((resolve) => (resolveSeen = resolve));
    client = await watcher(edge.url, folder.symbols, p.failoverFiles, (symbol, timeUs, atMs) => {
      const first = firstAfterKill.get(symbol);
      if (first !== undefined && timeUs >= first) resolveSeen(atMs);
    });
    const snapshotsBefore = client.snapshots();
    writing = setInterval(() => {
      const write: Write = folder.write();
      if (write.atMs > killedAt && !firstAfterKill.has(write.symbol)) firstAfterKill.set(write.symbol, write.timeUs);
    }, 5);
    await sleep(1000);
    killedAt = monotonicMs();
    active.child.kill('SIGKILL');
    const firstPatchAt = await Promise.race([seen, sleep(4 * p.leaseMs + 5000).then(() => Number.NaN)]);
    if (Number.isNaN(firstPatchAt)) throw new Error(`the edge's client got no patch from the standby within ${4 * p.leaseMs + 5000} ms of the kill`);
    return {
      leaseMs: p.leaseMs,
      msToFirstPatch: round(firstPatchAt - killedAt),
      msToLeaseTaken: leaseTaken.atMs === null ? null : round(leaseTaken.atMs - killedAt),
      snapshotsAfterKill: client.snapshots() - snapshotsBefore,
    };
  } finally {
    clearInterval(writing);
    client?.close();
    for (const server of started.reverse()) await server.stop();
    folder.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const failovers: FailoverRun[] = [];
for (let r = 0; r < p.failovers; r++) {
  const run = await failover();
  process.stderr.write(`failover ${r + 1}: first patch from the standby ${run.msToFirstPatch} ms after the kill (lease taken at ${run.msToLeaseTaken} ms)\n`);
  failovers.push(run);
}
const worstFailover = Math.max(...failovers.map((run) => run.msToFirstPatch));

await admin.quit();
await redis.close();

// ---------------------------------------------------------------- result

const p99Allowed = round(latencySingle.p99 + 2);
const commitsTarget = 20_000;
const failoverAllowed = p.leaseMs + 1000;
const split = fanoutRuns.twoEdges.byServer;

await writeResult(args, loadBefore, {
  scenario: 'cluster',
  measures:
    'the single node against ingest → Redis → edge in the same run: write-to-client latency, versions one ingest writes to Redis at saturation, Redis CPU and bytes per version, fan-out on one and two edges, failover of the active ingest',
  params: {
    latency: { ...latencyLoad, rounds: p.rounds },
    saturation: {
      what: `in-process: Store + TickDriver (M1 window, ${p.historyMinutes} minutes of history) with a ClusterPublisher on a real redis-server; every symbol commits once per event-loop turn`,
      symbols: p.saturationSymbols,
      seconds: p.saturationSeconds,
      rounds: p.saturationRounds,
      documentEvery: DEFAULTS.cluster.documentEvery,
      streamLength: Math.max(DEFAULTS.journal.size, 2 * DEFAULTS.cluster.documentEvery),
    },
    fanout: { files: p.fanoutFiles, writesPerSecond: p.fanoutRate, seconds: p.fanoutSeconds, clients: p.fanoutClients, clientProcesses: p.processes },
    failover: { rounds: p.failovers, leaseMs: p.leaseMs, files: p.failoverFiles, writeEveryMs: 5 },
    redis: 'redis-server (Debian), no persistence, 127.0.0.1, the same 2 cores',
  },
  figures: {
    latency: latencyCluster,
    atRate: atRateRedis,
    saturation: saturationFigures,
    fanout: { oneEdge: fanoutRuns.oneEdge, twoEdges: fanoutRuns.twoEdges },
    failover: {
      worstMs: worstFailover,
      medianMs: median(failovers.map((run) => run.msToFirstPatch)),
      bound: `the standby retries every min(leaseMs / 3, 1 s) and the lease was renewed at most that long before the kill: takeover between ${p.leaseMs - renewMs(p.leaseMs)} and ${p.leaseMs + renewMs(p.leaseMs)} ms after it, plus a read of Redis and a diff`,
      rounds: failovers,
    },
  },
  baseline: {
    description: 'the single node (no --redis), same load, same run',
    latency: latencySingle,
    saturation: { commitsPerSecond: storeAloneCommits, usPerCommit: storeUsPerCommit, what: 'the same loop without a publisher: the Store alone' },
    fanout: fanoutRuns.single,
  },
  ratio: {
    latencyP50: round(latencyCluster.p50 / latencySingle.p50),
    latencyP99: round(latencyCluster.p99 / latencySingle.p99),
    saturationCommitsVsStoreAlone: round(saturationFigures.commitsPerSecond / storeAloneCommits),
    oneEdgeVsSingle: round(fanoutRuns.oneEdge.deliveriesPerSecond / fanoutRuns.single.deliveriesPerSecond),
    twoEdgesVsOne: round(fanoutRuns.twoEdges.deliveriesPerSecond / fanoutRuns.oneEdge.deliveriesPerSecond),
  },
  targets: [
    {
      what: `p99, write to client through ingest → Redis → edge, ${p.symbols} symbols, ${p.rate} writes/s, ${p.clients} clients`,
      target: `<= single node + 2 ms (${p99Allowed} ms)`,
      measured: `${latencyCluster.p99} ms (p50 ${latencyCluster.p50} ms; single node ${latencySingle.p99} / ${latencySingle.p50} ms)`,
      met: latencyCluster.p99 <= p99Allowed,
    },
    {
      what: 'commits one ingest publishes to Redis per second at saturation',
      target: `>= ${commitsTarget.toLocaleString('en-US')}`,
      measured: `${saturationFigures.commitsPerSecond.toLocaleString('en-US')}/s in ${saturationFigures.versionsPerSecond.toLocaleString('en-US')} versions/s (the Store alone ${storeAloneCommits.toLocaleString('en-US')} commits/s)`,
      met: saturationFigures.commitsPerSecond >= commitsTarget,
    },
    {
      what: 'Redis CPU per 1,000 commits; bytes per commit',
      target: 'report',
      measured: `${saturationFigures.redisCpuMsPer1000Commits} ms at saturation, ${atRateRedis.redisCpuMsPer1000Commits} ms at ${p.rate} writes/s; ${saturationFigures.bytesPerCommit} B written, ${saturationFigures.streamBytesPerEntry} B per stream entry held`,
      met: Number.isFinite(saturationFigures.redisCpuMsPer1000Commits) && Number.isFinite(saturationFigures.bytesPerCommit),
    },
    {
      what: `deliveries/s, 1 edge vs 2 edges (${p.fanoutClients} clients, ${p.fanoutRate} writes/s, the same 2 cores)`,
      target: 'report the split',
      measured: `1 edge ${fanoutRuns.oneEdge.deliveriesPerSecond.toLocaleString('en-US')}/s; 2 edges ${split.map((rate) => rate.toLocaleString('en-US')).join(' + ')}/s; single node ${fanoutRuns.single.deliveriesPerSecond.toLocaleString('en-US')}/s`,
      met: split.every((rate) => rate > 0),
    },
    {
      what: 'failover: active ingest SIGKILLed → first patch from the standby at an edge client',
      target: `<= lease + 1 s (${failoverAllowed} ms)`,
      measured: `${worstFailover} ms worst of ${p.failovers} (median ${median(failovers.map((run) => run.msToFirstPatch))} ms)`,
      met: worstFailover <= failoverAllowed,
    },
  ],
  notes: [
    'Every process (clients, bridge or ingest and edges, redis-server, this one) shares the same 2 cores: the cluster figures pay for the extra processes, and 2 edges split the cores rather than add any.',
    'Saturation is measured in this process, not through files: files cannot change fast enough to saturate the publisher. Commits of one symbol made while a pipeline is in flight become one version (their ops in order, up to 8, else a diff), so versions/s is what Redis takes.',
  ],
});

/** How often the publisher renews its leases (src/cluster/publisher.ts). */
function renewMs(leaseMs: number): number {
  return Math.max(100, Math.min(1000, Math.floor(leaseMs / 3)));
}
