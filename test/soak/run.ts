import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import { pino } from 'pino';
import { startBridge } from '../../src/app/bridge.js';
import { resolveConfig, type ConfigLayer } from '../../src/app/config.js';
import { seededRandom } from '../../src/sim/random.js';
import { diff } from '../../src/state/delta.js';
import { BridgeProcess, type LogLine } from './bridge-process.js';
import { RawClient, SdkClient, type SoakClient } from './clients.js';
import { buildFeeds, FAULTS, SimClock, sourcesOf, wholeFileSymbols, type Fault, type Feed, type Random, type SoakFolders } from './feeds.js';
import { freePort } from '../helpers/ports.js';
import { RedisServer } from '../helpers/redis-server.js';

/**
 * The randomized soak (docs/reliability.md). Writers append, cut records short, truncate and
 * rewrite, replace by rename, delete and re-create, and write garbage into files of every
 * format; clients stall, drop, resume and switch transports; the bridge runs in its own
 * process and is killed once (a crash: new epoch) and stopped cleanly once (the persisted
 * journal: same epoch). At checkpoints the writers pause and every client's documents must
 * equal the bridge's HTTP snapshots, and those must equal what a second, fresh bridge reads
 * from the same files.
 *
 * With `redis`, the same runs through a real Redis: the bridge is the ingest node, two edge
 * nodes serve every client (split across both), and each edge is killed once (its clients
 * move to the other). Redis keeps the epoch and seq, so both restarts of the ingest keep the
 * epoch the clients see, with no snapshot. At checkpoints both edges must also serve the
 * ingest's documents, at one version.
 */

export interface SoakOptions {
  minutes: number;
  seed: number;
  /** Symbols written (12 or more covers every format). */
  symbols: number;
  /** File writes per second, all feeds together. */
  writesPerSecond: number;
  /** Share of writes that inject a fault. */
  faultShare: number;
  rawClients: number;
  sdkClients: number;
  /** Checkpoints before the final one. */
  checkpoints: number;
  /** RSS slope above which memory is not flat (MB per minute, over the second half). */
  rssSlopeLimitMbPerMin: number;
  /** Through a real Redis: the bridge as the ingest node, the clients on two edge nodes. */
  redis: boolean;
  /** Progress lines. */
  log: (line: string) => void;
}

export const SOAK_DEFAULTS: SoakOptions = {
  minutes: 10,
  seed: 1,
  symbols: 50,
  writesPerSecond: 80,
  faultShare: 0.08,
  rawClients: 6,
  sdkClients: 6,
  checkpoints: 5,
  rssSlopeLimitMbPerMin: 1,
  redis: false,
  log: () => undefined,
};

export interface Divergence {
  checkpoint: string;
  what: string;
  symbol: string;
  detail: string;
}

export interface SoakSummary {
  passed: boolean;
  seed: number;
  minutes: number;
  /** Run through Redis, with this many edges (0: a single node). */
  edges: number;
  wallSeconds: number;
  symbols: number;
  files: Record<string, number>;
  operations: { writes: number; faults: Record<string, number>; repairs: number; clientActions: Record<string, number>; checkpoints: number };
  divergences: { count: number; clientsVsBridge: number; edgesVsBridge: number; bridgeVsFiles: number; details: Divergence[] };
  /** What the clients took, all together: duplicates are repeats of a patch already applied (a resume overlapping traffic in flight). */
  delivered: { clients: number; patches: number; snapshots: number; duplicates: number };
  violations: { count: number; details: string[] };
  clients: Record<string, Record<string, number>>;
  restarts: RestartReport[];
  rss: {
    samples: number;
    firstMb: number;
    lastMb: number;
    maxMb: number;
    /** RSS every 30 s (MB). */
    timeline: number[];
    slopeMbPerMin: number | null;
    limitMbPerMin: number;
    flat: boolean | null;
    /** Patches the journals held at the end, and their size. */
    journal: { entries: number; mb: number } | null;
  };
  errors: { count: number; errorLines: LogLine[]; stderr: string[]; crashes: string[]; freshParse: string[] };
  warnings: { total: number; byMessage: Record<string, number> };
}

export interface RestartReport {
  /** The bridge (the ingest, through Redis) crashed or stopped cleanly, or an edge crashed. */
  kind: 'crash' | 'clean' | 'edge-crash';
  atSecond: number;
  /** The epoch the clients see was kept (an edge's: that of the other edge). */
  sameEpoch: boolean;
  /**
   * From the new bridge listening (an edge: from the kill) until every client held every
   * symbol of the new epoch (a crash of a single node) or was back at the versions served
   * (the others): max and median over clients.
   */
  resyncMs: { max: number; median: number } | null;
  /**
   * Snapshots the clients received on the way: none where the epoch is kept, but, when an edge
   * dies, those of the SDK (maybe on long polling, after a disruption shortly before).
   */
  snapshots: number;
  /** Those snapshots by client. */
  snapshotsBy: Record<string, number>;
  problem: string | null;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runSoak(given: Partial<SoakOptions> = {}): Promise<SoakSummary> {
  const options: SoakOptions = { ...SOAK_DEFAULTS, ...given };
  const { log } = options;
  const random = seededRandom(options.seed);
  const started = performance.now();
  const durationMs = options.minutes * 60_000;
  const root = await mkdtemp(join(tmpdir(), 'tapebridge-soak-'));
  const folders: SoakFolders = { sierra: join(root, 'sierra'), mt5: join(root, 'mt5'), ea: join(root, 'ea'), json: join(root, 'json') };
  for (const dir of Object.values(folders) as string[]) await mkdir(dir, { recursive: true });
  const stateDir = join(root, 'state');

  // Sim time runs fast enough to roll bars, and stays within the bar windows' history
  // (200 M1 bars) however long the run: a fresh parse then reads every file whole.
  const clock = new SimClock(Date.UTC(2026, 10, 20, 10), Math.min(3, (100 * 60_000) / Math.max(durationMs, 1)));
  const feeds = buildFeeds(folders, options.symbols, random, clock);
  for (const feed of feeds) await feed.create();
  const allSymbols = [...new Set(feeds.flatMap((feed) => feed.symbols))].sort();
  const barsNotInFiles = wholeFileSymbols(feeds);

  const redis = options.redis ? await RedisServer.start() : null;
  const cluster = redis ? { redis: redis.url, prefix: 'soak' } : null;
  const port = await freePort();
  const sources = sourcesOf(folders);
  const config: ConfigLayer = {
    host: '127.0.0.1',
    port,
    sources,
    watch: { safetyPollMs: 500 },
    // Journals fill within the first quarter of a 10-minute run (at about 1.3 patches a second
    // per symbol), so that the memory slope of the second half measures what grows without bound.
    journal: { size: 200, persistDir: stateDir },
    stream: { heartbeatMs: 1000, highWaterBytes: 65_536, lowWaterBytes: 16_384, slowCloseAfterMs: 10_000 },
    breaker: { retryBaseMs: 200, retryMaxMs: 1000, coolDownMs: 5000 },
    http: { rateLimit: { max: 100_000, windowMs: 1000 } },
    log: { level: 'info' },
    // A fixed node id: the restarted ingest holds its leases at once, as a service restarted under systemd does.
    ...(cluster ? { cluster: { ...cluster, nodeId: 'soak-ingest' } } : {}),
  };
  const configPath = join(root, 'bridge.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const bridge = new BridgeProcess(configPath, port);
  log(`soak: ${allSymbols.length} symbols in ${feeds.length} files, seed ${options.seed}, ${options.minutes} min; bridge on ${bridge.url}; files in ${root}`);
  await bridge.start();
  // The edges read no file and keep nothing of their own: everything comes from Redis.
  const edges: BridgeProcess[] = [];
  for (let i = 0; cluster && i < 2; i++) {
    const edgePort = await freePort();
    const edgeConfig: ConfigLayer = { ...config, port: edgePort, sources: [], journal: { size: 200 }, cluster: { ...cluster, nodeId: `soak-edge-${i}` } };
    const edgePath = join(root, `edge-${i}.json`);
    await writeFile(edgePath, JSON.stringify(edgeConfig, null, 2));
    const edge = new BridgeProcess(edgePath, edgePort);
    await edge.start();
    edges.push(edge);
    log(`soak: edge ${i} on ${edge.url}, redis ${cluster.redis}`);
  }
  /** Where the clients connect: the bridge, or the edges. */
  const serving = edges.length > 0 ? edges : [bridge];
  const servingUrls = serving.map((node) => node.url);

  const summary = emptySummary(options, allSymbols.length, feeds);
  const divergences = summary.divergences.details;
  const clients: SoakClient[] = [];
  /** Clients that stay with their edge when it dies (one that names it, a sticky session): they resume on its next process. */
  const pinned = new Set<SoakClient>();
  for (let i = 0; i < options.rawClients; i++) {
    const wants = i % 2 === 0 ? '*' : subset(allSymbols, random);
    // Split across the edges: each client starts on its own and fails over to the next, but one in four.
    const urls = servingUrls.map((_, k) => servingUrls[(i + k) % servingUrls.length] as string);
    const client = new RawClient(`raw${i}`, i % 4 === 2 ? urls.slice(0, 1) : urls, i % 3 === 2 ? 'sse' : 'ws', wants);
    if (i % 4 === 2) pinned.add(client);
    client.start();
    clients.push(client);
  }
  for (let i = 0; i < options.sdkClients; i++) {
    const client = await SdkClient.start(
      `sdk${i}`,
      servingUrls[i % servingUrls.length] as string,
      i === options.sdkClients - 1 ? subset(allSymbols, random) : '*',
    );
    if (Math.floor(i / 2) % 2 === 0) pinned.add(client);
    clients.push(client);
  }

  const rss: { second: number; bytes: number; process: number }[] = [];
  let processNumber = 0;
  const rssTimer = setInterval(() => {
    void bridge.rss().then((bytes) => {
      if (bytes !== null) rss.push({ second: (performance.now() - started) / 1000, bytes, process: processNumber });
    });
  }, 1000);

  // The writers and the clients' disruptions run in the background until paused.
  const writing = { paused: false, stopped: false, busy: Promise.resolve() };
  const repairDue = new Map<Feed, number>();
  let faultsInjected = 0;
  const writer = (async () => {
    while (!writing.stopped) {
      if (writing.paused) {
        await sleep(20);
        continue;
      }
      const op = (async () => {
        const now = performance.now();
        const due = [...repairDue].find(([, at]) => at <= now)?.[0];
        if (due) {
          repairDue.delete(due);
          await due.settle();
          summary.operations.repairs++;
          return;
        }
        let feed = feeds[Math.floor(random() * feeds.length)] as Feed;
        if (random() < options.faultShare) {
          // Every kind in turn, each on a file that can have it: even a short run injects them all.
          const fault = FAULTS[faultsInjected++ % FAULTS.length] as Fault;
          const able = feeds.filter((candidate) => candidate.faults.includes(fault));
          feed = able[Math.floor(random() * able.length)] as Feed;
          await feed.fault(fault);
          summary.operations.faults[fault] = (summary.operations.faults[fault] ?? 0) + 1;
          // What a fault breaks stays broken for a while, then is repaired (a writer finishing its job).
          if (feed.broken) repairDue.set(feed, now + 200 + random() * 1000);
        } else {
          await feed.step();
          if (!feed.broken) repairDue.delete(feed);
        }
        summary.operations.writes++;
      })();
      writing.busy = op;
      await op;
      await sleep(1000 / options.writesPerSecond);
    }
  })();
  const acting = { paused: false, stopped: false };
  const actor = (async () => {
    for (;;) {
      await sleep(200 + random() * (24_000 / Math.max(1, clients.length)));
      if (acting.stopped) break;
      if (acting.paused) continue;
      const client = clients[Math.floor(random() * clients.length)] as SoakClient;
      const action = await client.act(random);
      summary.operations.clientActions[action] = (summary.operations.clientActions[action] ?? 0) + 1;
    }
  })();

  const pauseWriters = async (): Promise<void> => {
    writing.paused = true;
    await writing.busy;
  };
  const calmClients = async (): Promise<void> => {
    acting.paused = true;
    await Promise.all(clients.map((client) => client.calm()));
  };

  const checkpoint = async (label: string): Promise<void> => {
    const at = performance.now();
    await pauseWriters();
    await calmClients();
    repairDue.clear();
    for (const feed of feeds) await feed.settle();
    summary.operations.checkpoints++;
    const versions = await quietVersions(bridge.url);
    if (!versions) {
      divergences.push({ checkpoint: label, what: 'bridge', symbol: '*', detail: 'the bridge did not become quiet within 30 s' });
      resume();
      return;
    }
    const missing = allSymbols.filter((symbol) => !versions.has(symbol));
    const extra = [...versions.keys()].filter((symbol) => !allSymbols.includes(symbol));
    for (const symbol of [...missing, ...extra])
      divergences.push({
        checkpoint: label,
        what: 'bridge vs files',
        symbol,
        detail: missing.includes(symbol) ? 'not published' : 'published, but no file feeds it',
      });
    const snapshots = await snapshotsOf(bridge.url, versions.keys());
    // Through Redis the clients are the edges': their versions are Redis's, their documents the ingest's.
    const reference = edges.length > 0 ? await edgesAgree(label, snapshots) : snapshots;

    for (const client of clients) {
      const wanted = [...reference.keys()].filter((symbol) => client.wants === '*' || client.wants.has(symbol));
      const caughtUp = await until(20_000, () => wanted.every((symbol) => sameVersion(client.held(symbol), reference.get(symbol))));
      for (const symbol of wanted) {
        const held = client.held(symbol);
        const snapshot = reference.get(symbol) as Snapshot;
        if (!sameVersion(held, snapshot)) {
          divergences.push({
            checkpoint: label,
            what: `client ${client.name}`,
            symbol,
            detail: `holds ${held ? `${held.epoch}:${held.seq}` : 'nothing'}, the bridge ${snapshot.epoch}:${snapshot.seq}${caughtUp ? '' : ' (did not catch up within 20 s)'}`,
          });
        } else if (!isDeepStrictEqual(held?.data, snapshot.data)) {
          divergences.push({ checkpoint: label, what: `client ${client.name}`, symbol, detail: describeDifference(held?.data, snapshot.data) });
        }
      }
    }
    summary.divergences.clientsVsBridge = divergences.filter((d) => d.what.startsWith('client')).length;
    summary.divergences.edgesVsBridge = divergences.filter((d) => d.what.startsWith('edge')).length;

    const fresh = await freshParse(sources, summary.errors.freshParse);
    for (const symbol of allSymbols) {
      const expected = fresh.get(symbol);
      const served = snapshots.get(symbol)?.data;
      if (expected === undefined || served === undefined) {
        if (expected === undefined)
          divergences.push({ checkpoint: label, what: 'bridge vs files', symbol, detail: 'a fresh parse of the files does not have it' });
        continue;
      }
      const [a, b] = barsNotInFiles.has(symbol) ? [withoutBars(served), withoutBars(expected)] : [served, expected];
      if (!isDeepStrictEqual(a, b)) divergences.push({ checkpoint: label, what: 'bridge vs files', symbol, detail: describeDifference(a, b) });
    }
    summary.divergences.bridgeVsFiles = divergences.filter((d) => d.what === 'bridge vs files').length;
    log(
      `soak: checkpoint ${label} at ${Math.round((at - started) / 1000)} s: ${snapshots.size} symbols, ${divergences.length} divergences so far (${Math.round(performance.now() - at)} ms)`,
    );
    resume();
  };
  /**
   * Waits (20 s at most) until both edges serve the ingest's documents at one version, and
   * gives the first edge's snapshots; what still differs then is a divergence.
   */
  const edgesAgree = async (label: string, truth: ReadonlyMap<string, Snapshot>): Promise<Map<string, Snapshot>> => {
    let views: Map<string, Snapshot>[] = [];
    const differences = (): Divergence[] => {
      const found: Divergence[] = [];
      const first = views[0] as Map<string, Snapshot>;
      views.forEach((view, i) => {
        for (const [symbol, expected] of truth) {
          const snapshot = view.get(symbol);
          if (snapshot?.data === undefined) found.push({ checkpoint: label, what: `edge ${i} vs bridge`, symbol, detail: 'not served' });
          else if (!isDeepStrictEqual(snapshot.data, expected.data))
            found.push({ checkpoint: label, what: `edge ${i} vs bridge`, symbol, detail: describeDifference(snapshot.data, expected.data) });
          else if (!sameVersion(snapshot, first.get(symbol)))
            found.push({
              checkpoint: label,
              what: `edge ${i} vs edge 0`,
              symbol,
              detail: `${snapshot.epoch}:${snapshot.seq} vs ${first.get(symbol)?.epoch}:${first.get(symbol)?.seq}`,
            });
        }
      });
      return found;
    };
    const deadline = performance.now() + 20_000;
    for (;;) {
      views = await Promise.all(edges.map((edge) => snapshotsOf(edge.url, truth.keys())));
      if (differences().length === 0 || performance.now() > deadline) break;
      await sleep(250);
    }
    divergences.push(...differences());
    return views[0] as Map<string, Snapshot>;
  };
  const resume = (): void => {
    writing.paused = false;
    acting.paused = false;
  };

  /** Calms the clients, and waits until a disruption just before (a switch to SSE takes snapshots) is over before counting them. */
  const quietClients = async (): Promise<number[]> => {
    await calmClients();
    for (let counts = '', deadline = performance.now() + 10_000; performance.now() < deadline;) {
      const now = JSON.stringify(clients.map(snapshotCount));
      if (now === counts) break;
      counts = now;
      await sleep(700);
    }
    return clients.map(snapshotCount);
  };

  /**
   * Waits (15 s at most) until every client holds every symbol it follows in `epoch`, at
   * `versions` or past them (a symbol absent from `versions`: at any seq); fills the report's
   * resync times from `since`, its snapshots from `snapshotsBefore`, and a problem when a client
   * did not get there or took a snapshot it should not have (`mayResnapshot` says which may).
   */
  const awaitClients = async (
    report: RestartReport,
    epoch: string,
    versions: ReadonlyMap<string, number>,
    since: number,
    snapshotsBefore: readonly number[],
    mayResnapshot: (client: SoakClient) => boolean,
  ): Promise<void> => {
    const back = (client: SoakClient): boolean =>
      [...versions.keys()]
        .filter((symbol) => client.wants === '*' || client.wants.has(symbol))
        .every((symbol) => {
          const held = client.held(symbol);
          return held?.epoch === epoch && held.seq >= (versions.get(symbol) as number);
        });
    const times: number[] = [];
    const waiting = new Set(clients);
    await until(15_000, () => {
      for (const client of waiting) {
        if (!back(client)) continue;
        times.push(performance.now() - since);
        waiting.delete(client);
      }
      return waiting.size === 0;
    });
    if (waiting.size > 0) report.problem = `${[...waiting].map((client) => client.name).join(', ')} did not get back within 15 s`;
    times.sort((a, b) => a - b);
    if (times.length > 0)
      report.resyncMs = { max: Math.round(times[times.length - 1] as number), median: Math.round(times[Math.floor(times.length / 2)] as number) };
    const received = clients.map((client, i) => [client, snapshotCount(client) - (snapshotsBefore[i] as number)] as const).filter(([, count]) => count > 0);
    report.snapshots = received.reduce((sum, [, count]) => sum + count, 0);
    report.snapshotsBy = Object.fromEntries(received.map(([client, count]) => [client.name, count]));
    const unexpected = received.filter(([client]) => !mayResnapshot(client));
    if (unexpected.length > 0)
      report.problem = `snapshots where clients should resume: ${unexpected.map(([client, count]) => `${client.name} ${count}`).join(', ')}`;
    summary.restarts.push(report);
    log(
      `soak: ${report.kind} at ${report.atSecond} s: ${report.sameEpoch ? 'same' : 'new'} epoch, clients back in ${report.resyncMs?.max ?? '?'} ms, ${report.snapshots} snapshots ${JSON.stringify(report.snapshotsBy)}${report.problem ? `; PROBLEM: ${report.problem}` : ''}`,
    );
    acting.paused = false;
  };

  /** Where the clients read the epoch: the bridge, or (through Redis, whose epoch outlives the ingest) the first edge up. */
  const epochOf = async (): Promise<string> => (await getJson<{ epoch: string }>(`${serving[0]?.url ?? bridge.url}/v1`)).epoch;

  const restart = async (kind: 'crash' | 'clean'): Promise<void> => {
    const snapshotsBefore = await quietClients();
    const before = await epochOf();
    const atSecond = Math.round((performance.now() - started) / 1000);
    const code = await bridge.stop(kind === 'crash' ? 'SIGKILL' : 'SIGTERM');
    processNumber++;
    const report: RestartReport = { kind, atSecond, sameEpoch: false, resyncMs: null, snapshots: 0, snapshotsBy: {}, problem: null };
    if (kind === 'clean' && code !== 0) report.problem = `a clean shutdown exited with ${code}`;
    const { listenedAt } = await bridge.start();
    const after = await epochOf();
    report.sameEpoch = after === before;
    // A single node keeps its epoch through a clean shutdown (the persisted journal); through Redis, through both.
    const keeps = kind === 'clean' || edges.length > 0;
    if (!keeps && report.sameEpoch) report.problem = 'the epoch was kept after a crash';
    if (keeps && !report.sameEpoch) report.problem = `the epoch changed after a ${kind === 'crash' ? 'crash of the ingest' : 'clean shutdown'}`;
    // Kept: back at (or past) the versions served once the bridge is up. Else: every document replaced by one of the new epoch.
    const served = await listVersions(serving[0]?.url ?? bridge.url);
    const versions = keeps ? served : new Map([...served.keys()].map((symbol) => [symbol, 1]));
    await awaitClients(report, after, versions, listenedAt, snapshotsBefore, () => !keeps);
  };

  /**
   * Kills edge `index` (SIGKILL) and starts it again: its clients move to the other edge (a
   * raw client on its own when refused, an SDK's proxy as a load balancer's health check
   * would), but the pinned ones, which wait for its next process. Either way they resume with
   * no snapshot: WebSocket from its resume points, SSE from its cursor (the dead process's log in Redis).
   */
  const killEdge = async (index: number): Promise<void> => {
    const doomed = edges[index] as BridgeProcess;
    const survivor = edges[(index + 1) % edges.length] as BridgeProcess;
    const snapshotsBefore = await quietClients();
    const before = await epochOf();
    const report: RestartReport = {
      kind: 'edge-crash',
      atSecond: Math.round((performance.now() - started) / 1000),
      sameEpoch: false,
      resyncMs: null,
      snapshots: 0,
      snapshotsBy: {},
      problem: null,
    };
    await doomed.stop('SIGKILL');
    const killedAt = performance.now();
    for (const client of clients) if (client instanceof SdkClient && client.target === doomed.url && !pinned.has(client)) client.moveTo(survivor.url);
    const after = (await getJson<{ epoch: string }>(`${survivor.url}/v1`)).epoch;
    report.sameEpoch = after === before;
    if (!report.sameEpoch) report.problem = 'the other edge is in another epoch';
    await doomed.start();
    // Held to no snapshot: every raw client, moved or pinned. The SDK may be on long polling
    // after a disruption shortly before, whose resume is per symbol and may need a snapshot.
    await awaitClients(report, after, await listVersions(survivor.url), killedAt, snapshotsBefore, (client) => !(client instanceof RawClient));
  };

  // The timeline: checkpoints spread over the run, a crash and a clean restart in its first
  // half (the second half measures the memory slope of one process), a checkpoint at the end.
  const events: { at: number; run: () => Promise<void> }[] = [
    { at: 0.2, run: () => restart('crash') },
    { at: 0.4, run: () => restart('clean') },
    // Through Redis, each edge is killed once, between and after the ingest's restarts.
    ...edges.map((_, i) => ({ at: 0.3 + 0.2 * i, run: () => killEdge(i) })),
  ];
  for (let i = 1; i <= options.checkpoints; i++) events.push({ at: i / (options.checkpoints + 1) + 0.01, run: () => checkpoint(`${i}`) });
  events.sort((a, b) => a.at - b.at);
  for (const event of events) {
    const wait = started + event.at * durationMs - performance.now();
    if (wait > 0) await sleep(wait);
    await event.run();
  }
  const end = started + durationMs - performance.now();
  if (end > 0) await sleep(end);
  await checkpoint('final');

  const { state } = await getJson<{ state: { journal: { entries: number; bytes: number } } }>(`${bridge.url}/v1/stats`);
  summary.rss.journal = { entries: state.journal.entries, mb: Math.round((state.journal.bytes / 1024 / 1024) * 10) / 10 };
  writing.stopped = true;
  acting.stopped = true;
  await Promise.all([writer, actor]);
  clearInterval(rssTimer);
  for (const client of clients) {
    summary.violations.details.push(...client.violations);
    summary.clients[client.name] = client.counts;
    await client.close();
  }
  for (const node of [...edges, bridge]) {
    const exitCode = await node.stop('SIGTERM');
    if (exitCode !== 0) node.trouble.crashes.push(`the final clean shutdown of ${node.url} exited with ${exitCode}`);
  }
  await redis?.close();
  for (const feed of feeds) await feed.close();
  await rm(root, { recursive: true, force: true });

  const named = new Map([[edges.length > 0 ? 'ingest' : 'bridge', bridge], ...edges.map((edge, i) => [`edge ${i}`, edge] as const)]);
  finish(summary, options, rss, processNumber, named, performance.now() - started);
  return summary;
}

function emptySummary(options: SoakOptions, symbols: number, feeds: readonly Feed[]): SoakSummary {
  const files: Record<string, number> = {};
  for (const feed of feeds) files[feed.format] = (files[feed.format] ?? 0) + 1;
  return {
    passed: false,
    seed: options.seed,
    minutes: options.minutes,
    edges: options.redis ? 2 : 0,
    wallSeconds: 0,
    symbols,
    files,
    operations: { writes: 0, faults: Object.fromEntries(FAULTS.map((fault) => [fault, 0])), repairs: 0, clientActions: {}, checkpoints: 0 },
    divergences: { count: 0, clientsVsBridge: 0, edgesVsBridge: 0, bridgeVsFiles: 0, details: [] },
    delivered: { clients: 0, patches: 0, snapshots: 0, duplicates: 0 },
    violations: { count: 0, details: [] },
    clients: {},
    restarts: [],
    rss: {
      samples: 0,
      firstMb: 0,
      lastMb: 0,
      maxMb: 0,
      timeline: [],
      slopeMbPerMin: null,
      limitMbPerMin: options.rssSlopeLimitMbPerMin,
      flat: null,
      journal: null,
    },
    errors: { count: 0, errorLines: [], stderr: [], crashes: [], freshParse: [] },
    warnings: { total: 0, byMessage: {} },
  };
}

function finish(
  summary: SoakSummary,
  options: SoakOptions,
  rss: { second: number; bytes: number; process: number }[],
  lastProcess: number,
  /** Every process by name: what each said is marked with it. */
  processes: ReadonlyMap<string, BridgeProcess>,
  wallMs: number,
): void {
  summary.wallSeconds = Math.round(wallMs / 1000);
  summary.divergences.count = summary.divergences.details.length;
  summary.violations.count = summary.violations.details.length;
  const named = [...processes];
  const errorLines = named.flatMap(([name, node]) => node.trouble.errorLines.map((line) => ({ ...line, process: name })));
  const stderr = named.flatMap(([name, node]) => node.trouble.stderr.map((line) => `${name}: ${line}`));
  const crashes = named.flatMap(([name, node]) => node.trouble.crashes.map((line) => `${name}: ${line}`));
  summary.errors = { ...summary.errors, errorLines, stderr, crashes };
  summary.errors.count = errorLines.length + stderr.length + crashes.length + summary.errors.freshParse.length;
  for (const [message, count] of named.flatMap(([, node]) => [...node.warnings])) {
    const key = message.replace(/"[^"]*"/g, '"…"').slice(0, 80);
    summary.warnings.byMessage[key] = (summary.warnings.byMessage[key] ?? 0) + count;
    summary.warnings.total += count;
  }
  // Raw clients count snapshots, patches and duplicates; the SDK's events are snapshot and patch (it drops duplicates itself).
  for (const counts of Object.values(summary.clients)) {
    summary.delivered.clients++;
    summary.delivered.patches += counts.patches ?? counts.patch ?? 0;
    summary.delivered.snapshots += counts.snapshots ?? counts.snapshot ?? 0;
    summary.delivered.duplicates += counts.duplicates ?? 0;
  }
  const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
  const half = (options.minutes * 60) / 2;
  const measured = rss.filter((sample) => sample.second >= half && sample.process === lastProcess);
  summary.rss.samples = rss.length;
  summary.rss.firstMb = mb(rss[0]?.bytes ?? 0);
  summary.rss.lastMb = mb(rss[rss.length - 1]?.bytes ?? 0);
  summary.rss.maxMb = mb(Math.max(0, ...rss.map((sample) => sample.bytes)));
  summary.rss.timeline = rss.filter((_, i) => i % 30 === 0).map((sample) => mb(sample.bytes));
  // Judged only over a second half long enough to show a trend (a few minutes).
  if (measured.length >= 120) {
    const slope = slopeOf(measured.map((sample) => [sample.second, sample.bytes]));
    summary.rss.slopeMbPerMin = Math.round((slope * 60 * 100) / 1024 / 1024) / 100;
    summary.rss.flat = summary.rss.slopeMbPerMin <= options.rssSlopeLimitMbPerMin;
  }
  const restartProblems = summary.restarts.filter((restart) => restart.problem !== null).length;
  summary.passed =
    summary.divergences.count === 0 && summary.violations.count === 0 && summary.errors.count === 0 && restartProblems === 0 && summary.rss.flat !== false;
}

/** Least-squares slope of y over x. */
function slopeOf(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function snapshotCount(client: SoakClient): number {
  return client.counts.snapshots ?? client.counts.snapshot ?? 0;
}

function subset(symbols: readonly string[], random: Random): Set<string> {
  return new Set(symbols.filter(() => random() < 0.35).concat(symbols[0] as string));
}

function sameVersion(held: { epoch: string; seq: number } | undefined, snapshot: { epoch: string; seq: number } | undefined): boolean {
  return held !== undefined && held.epoch === snapshot?.epoch && held.seq === snapshot.seq;
}

function withoutBars(document: unknown): unknown {
  const { bars: _bars, ...rest } = document as Record<string, unknown>;
  return rest;
}

/** The first operations that would turn `actual` into `expected`, for the report. */
function describeDifference(actual: unknown, expected: unknown): string {
  const ops = diff(actual, expected);
  return `${ops.length} ops apart: ${JSON.stringify(ops.slice(0, 3)).slice(0, 400)}`;
}

interface Snapshot {
  epoch: string;
  seq: number;
  data: unknown;
}

async function getJson<T = Snapshot>(url: string): Promise<T> {
  const response = await fetch(url);
  return (await response.json()) as T;
}

/** The HTTP snapshots of `symbols` (an absent symbol's has no data). */
async function snapshotsOf(url: string, symbols: Iterable<string>): Promise<Map<string, Snapshot>> {
  const out = new Map<string, Snapshot>();
  for (const symbol of symbols) out.set(symbol, await getJson(`${url}/v1/symbols/${encodeURIComponent(symbol)}`));
  return out;
}

async function listVersions(url: string): Promise<Map<string, number>> {
  const { symbols } = await getJson<{ symbols: { symbol: string; seq: number }[] }>(`${url}/v1/symbols`);
  return new Map(symbols.map(({ symbol, seq }) => [symbol, seq]));
}

/**
 * The symbols' versions once nothing has changed for 1.5 s, longer than the safety poll
 * and the breaker's longest retry, so that a late read has happened. Null after 30 s.
 */
async function quietVersions(url: string): Promise<Map<string, number> | null> {
  const deadline = performance.now() + 30_000;
  let last = await listVersions(url);
  let since = performance.now();
  while (performance.now() < deadline) {
    await sleep(250);
    const now = await listVersions(url);
    if (!isDeepStrictEqual(now, last)) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= 1500) {
      return now;
    }
  }
  return null;
}

async function until(timeoutMs: number, check: () => boolean): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** What a second bridge, started fresh on the same folders, makes of the files (document per symbol). */
async function freshParse(sources: Record<string, unknown>[], errors: string[]): Promise<Map<string, unknown>> {
  const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(line.trim()) });
  const fresh = await startBridge(resolveConfig({ port: 0, sources, watch: { safetyPollMs: 500 } }), { logger });
  try {
    await fresh.ready;
    let gseq = -1;
    while (gseq !== fresh.store.gseq) {
      gseq = fresh.store.gseq;
      await sleep(1200);
    }
    return new Map([...fresh.store.symbols()].map((state) => [state.symbol, JSON.parse(state.documentJson()) as unknown]));
  } finally {
    await fresh.close();
  }
}
