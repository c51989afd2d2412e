/**
 * Start-up of the bridge on a folder, seen from outside: spawn to every symbol's quote
 * served, to every snapshot served and to every window full (/v1/stats `warmup` done; where
 * a bridge has no such section, it reads everything before serving, so serving is being
 * done), the bytes it read and its RSS. One round (`startupRound`) runs, on the same files:
 *
 * 1. a cold start with a fresh state dir, 100 WebSocket clients subscribed to every symbol
 *    as soon as snapshots are served, and an external probe (probe-worker.ts) timing an HTTP
 *    GET every 5 ms over the back-fill; it waits past a periodic checkpoint and is SIGTERMed;
 * 2. a warm restart on that state dir; records are appended, a periodic checkpoint taken,
 *    more records appended, and it is SIGKILLed;
 * 3. the restart after the crash, whose documents are kept;
 * 4. a cold full read (no state dir), whose documents those of 3. must equal.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { SCID_RECORD_SIZE } from '../../src/formats/scid.js';
import { RandomMarket } from '../../src/sim/random.js';
import { encodeScidRecords, scidTickRecord } from '../../src/sim/scid-writer.js';
import { ClientPool, monotonicMs } from './clients.js';
import { forkTs, startBridgeProcess, stopChild, type BridgeProcess } from './processes.js';
import type { FromProbe, ToProbe } from './probe-worker.js';
import { percentile, sleep } from './report.js';

/** The /v1/stats `warmup` section (absent from bridges that read everything before serving). */
interface Warmup {
  done: boolean;
  filesDone: number;
  filesLeft: number;
  bytesLeft: number;
  tookMs: number | null;
  files: { path: string; bytesLeft: number; bytesTotal: number }[];
}

interface Stats {
  sources: { folders: { bytesRead: number }[] };
  state: { gseq: number };
  checkpoint: { last: { at: string; gseq: number } | null };
  memory: { rssBytes: number };
  eventLoop?: { maxMs: number };
  warmup?: Warmup;
}

const TIMEOUT_MS = 180_000;
export const CLIENTS = 100;
const PROBE_INTERVAL_MS = 5;
/** The cheapest route: no symbol, no document, a few components' status. */
const PROBE_PATH = '/health';
/**
 * A benchmark's polling is no flood: the default 1000 requests/s per address would answer
 * some of the snapshot polls with 429 and so delay what is timed.
 */
const BENCH_CONFIG = { http: { rateLimit: { max: 1_000_000, windowMs: 1000 } } };

/** Milliseconds since spawn of each stage of one start, and what the bridge said at them. */
interface StartTimes {
  /** Every symbol's snapshot has a quote. */
  quoteMs: number;
  /** Every symbol's snapshot is served. */
  snapshotMs: number;
  /** Every window is full: warm-up done (or, with no warm-up section, every snapshot served). */
  fullMs: number;
  /** Whether /v1/stats had a `warmup` section. */
  warmupReported: boolean;
  /** Warm-up's own `tookMs`, when it reports one. */
  warmupTookMs: number | null;
  rssServedBytes: number;
  rssFullBytes: number;
  bytesRead: number;
  /** The largest /v1/stats `eventLoop.maxMs` seen while polling, null where there is none. */
  eventLoopMaxMs: number | null;
  /** Monotonic times (clients.ts monotonicMs) of spawn, listening, served and full. */
  at: { spawn: number; listening: number; served: number; full: number };
}

export const symbolsOf = (count: number): string[] => Array.from({ length: count }, (_, i) => `F${String(i).padStart(2, '0')}_FUT_CME`);

/** The bridge on `folder`, with `stateDir` as its journal.persistDir (the CLI's --state-dir) when given. */
async function launchBridge(folder: string, stateDir: string | null): Promise<{ bridge: BridgeProcess; spawn: number; listening: number }> {
  const spawn = monotonicMs();
  const bridge = await startBridgeProcess({ ...BENCH_CONFIG, sources: [{ path: folder }], ...(stateDir ? { journal: { persistDir: stateDir } } : {}) });
  return { bridge, spawn, listening: monotonicMs() };
}

const statsOf = (bridge: BridgeProcess): Promise<Stats> => bridge.json<Stats>('/v1/stats');
const bytesReadOf = (stats: Stats): number => stats.sources.folders.reduce((sum, folder) => sum + folder.bytesRead, 0);

/** Whether /v1/symbols lists every one of `symbols`. */
async function listsEvery(bridge: BridgeProcess, symbols: readonly string[]): Promise<boolean> {
  const response = await fetch(`${bridge.url}/v1/symbols`);
  if (!response.ok) {
    await response.arrayBuffer();
    return false;
  }
  const listed = new Set(((await response.json()) as { symbols: { symbol: string }[] }).symbols.map((entry) => entry.symbol));
  return symbols.every((symbol) => listed.has(symbol));
}

/** Polls until every symbol's quote, every snapshot and every window is served; `onServed` is called once snapshots are. */
async function watchStart(
  started: { bridge: BridgeProcess; spawn: number; listening: number },
  symbols: readonly string[],
  onServed?: () => void,
): Promise<StartTimes> {
  const { bridge, spawn } = started;
  const noQuote = new Set(symbols);
  const notServed = new Set(symbols);
  let quoteAt = symbols.length === 0 ? monotonicMs() : Number.NaN;
  let servedAt = Number.NaN;
  let rssServedBytes = Number.NaN;
  let eventLoopMaxMs: number | null = null;
  const deadline = spawn + TIMEOUT_MS;
  for (;;) {
    // The symbol list first (one small answer): polling every snapshot every 5 ms would load the start it times.
    if (Number.isNaN(servedAt) && (await listsEvery(bridge, symbols))) {
      await Promise.all(
        [...noQuote].map(async (symbol) => {
          const response = await fetch(`${bridge.url}/v1/symbols/${symbol}`);
          if (response.status !== 200) {
            await response.arrayBuffer();
            return;
          }
          notServed.delete(symbol);
          const { data } = (await response.json()) as { data?: { quote?: object } };
          if (data?.quote && Object.keys(data.quote).length > 0) noQuote.delete(symbol);
        }),
      );
      if (noQuote.size === 0 && Number.isNaN(quoteAt)) quoteAt = monotonicMs();
      // With no symbol, served is the symbol list answering; a symbol whose file holds no quote is served without one.
      const served =
        symbols.length === 0
          ? await fetch(`${bridge.url}/v1/symbols`).then(async (response) => (await response.arrayBuffer(), response.ok))
          : notServed.size === 0;
      if (served) {
        servedAt = monotonicMs();
        onServed?.();
        rssServedBytes = (await statsOf(bridge)).memory.rssBytes;
      }
    }
    if (!Number.isNaN(servedAt)) {
      const stats = await statsOf(bridge);
      if (stats.eventLoop) eventLoopMaxMs = Math.max(eventLoopMaxMs ?? 0, stats.eventLoop.maxMs);
      if (noQuote.size > 0) {
        for (const symbol of [...noQuote]) {
          const { data } = await bridge.json<{ data?: { quote?: object } }>(`/v1/symbols/${symbol}`);
          if (data?.quote && Object.keys(data.quote).length > 0) noQuote.delete(symbol);
        }
        if (noQuote.size === 0) quoteAt = monotonicMs();
      }
      if ((stats.warmup === undefined || stats.warmup.done) && noQuote.size === 0) {
        const fullAt = stats.warmup === undefined ? servedAt : monotonicMs();
        return {
          quoteMs: quoteAt - spawn,
          snapshotMs: servedAt - spawn,
          fullMs: fullAt - spawn,
          warmupReported: stats.warmup !== undefined,
          warmupTookMs: stats.warmup?.tookMs ?? null,
          rssServedBytes,
          rssFullBytes: stats.memory.rssBytes,
          bytesRead: bytesReadOf(stats),
          eventLoopMaxMs,
          at: { spawn, listening: started.listening, served: servedAt, full: fullAt },
        };
      }
    }
    if (monotonicMs() > deadline)
      throw new Error(`start not done within ${TIMEOUT_MS / 1000} s: ${notServed.size} not served, ${noQuote.size} without a quote`);
    await sleep(Number.isNaN(servedAt) ? 5 : 20);
  }
}

/** The probe process: GETs PROBE_PATH every PROBE_INTERVAL_MS from `start` to `stop`. */
class Probe {
  readonly #child: ChildProcess;
  readonly #waiting: ((message: FromProbe) => void)[] = [];

  private constructor() {
    this.#child = forkTs('bench/lib/probe-worker.ts');
    this.#child.on('message', (message: FromProbe) => this.#waiting.shift()?.(message));
  }

  static async open(): Promise<Probe> {
    const probe = new Probe();
    await probe.#next();
    return probe;
  }

  #next(): Promise<FromProbe> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async #ask(message: ToProbe): Promise<FromProbe> {
    const reply = this.#next();
    this.#child.send(message);
    return reply;
  }

  async start(url: string): Promise<void> {
    await this.#ask({ type: 'start', url: `${url}${PROBE_PATH}`, intervalMs: PROBE_INTERVAL_MS });
  }

  async stop(): Promise<{ sentMs: Float64Array; latencyMs: Float64Array; failures: number }> {
    const reply = await this.#ask({ type: 'stop' });
    await stopChild(this.#child);
    if (reply.type !== 'samples') throw new Error(`probe answered ${reply.type}`);
    return reply;
  }
}

/** Largest, 99th percentile and count of the probe's latencies of requests sent in [from, to). */
function stall(samples: { sentMs: Float64Array; latencyMs: Float64Array }, from: number, to: number): { maxMs: number; p99Ms: number; samples: number } {
  const within: number[] = [];
  samples.sentMs.forEach((at, i) => {
    if (at >= from && at < to) within.push(samples.latencyMs[i] as number);
  });
  within.sort((a, b) => a - b);
  return { maxMs: within[within.length - 1] ?? Number.NaN, p99Ms: percentile(within, 99), samples: within.length };
}

/** Sends `signal` and resolves with how the process ended and how long it took. */
function ended(child: ChildProcess, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const at = monotonicMs();
  return new Promise((resolve) => {
    child.once('exit', (code, by) => resolve({ code, signal: by, ms: monotonicMs() - at }));
    child.kill(signal);
  });
}

/** Waits until the last checkpoint is newer than `after` (its `at`; null: none yet) and covers the store's gseq of now. */
async function checkpointAfter(bridge: BridgeProcess, after: string | null, timeoutMs: number): Promise<void> {
  const deadline = monotonicMs() + timeoutMs;
  const { gseq } = (await statsOf(bridge)).state;
  for (;;) {
    const { last } = (await statsOf(bridge)).checkpoint;
    if (last && last.at !== after && last.gseq >= gseq) return;
    if (monotonicMs() > deadline) throw new Error(`no checkpoint within ${timeoutMs} ms (journal.checkpointMs)`);
    await sleep(50);
  }
}

/** Waits until the store's gseq has not moved for 300 ms (everything the files hold is committed). */
async function quiet(bridge: BridgeProcess): Promise<void> {
  let previous = -1;
  for (;;) {
    const { gseq } = (await statsOf(bridge)).state;
    if (gseq === previous) return;
    previous = gseq;
    await sleep(300);
  }
}

/** Fields that say when or in which run, not what: left out of the comparison. */
const RUN_FIELDS = new Set(['epoch', 'seq', 'version', 'updatedAt', 'receivedAt']);

function withoutRunFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutRunFields);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !RUN_FIELDS.has(key))
      .map(([key, inner]) => [key, withoutRunFields(inner)]),
  );
}

async function documents(bridge: BridgeProcess, symbols: readonly string[]): Promise<Record<string, unknown>> {
  const entries = await Promise.all(symbols.map(async (symbol) => [symbol, withoutRunFields(await bridge.json<unknown>(`/v1/symbols/${symbol}`))] as const));
  return Object.fromEntries(entries);
}

/** The time (ms) of the last record of a `.scid` file. */
async function lastRecordMs(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const { buffer } = await handle.read(Buffer.alloc(8), 0, 8, size - SCID_RECORD_SIZE);
    return Number(buffer.readBigInt64LE(0) - SC_EPOCH_OFFSET_US) / 1000;
  } finally {
    await handle.close();
  }
}

/** SCDateTime (µs since 1899-12-30) minus Unix time in µs. */
const SC_EPOCH_OFFSET_US = 2_209_161_600_000_000n;

/**
 * Appends `count` ticks a second apart to each of the first `files` files of `folder`, going
 * on from its last record as the terminal would (ticks timed from the clock could jump hours
 * past the synthetic history, and a full read would then reach less far back than the
 * windows a restart kept).
 */
async function appendTicks(folder: string, symbols: readonly string[], files: number, count: number, seed: number): Promise<number> {
  let bytes = 0;
  for (const [i, symbol] of symbols.slice(0, files).entries()) {
    const path = join(folder, `${symbol}.scid`);
    const market = new RandomMarket({ start: 6012.25, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.8, seed: seed + i });
    const last = await lastRecordMs(path);
    const encoded = encodeScidRecords(Array.from({ length: count }, (_, n) => scidTickRecord(market.next(last + (n + 1) * 1000))));
    await appendFile(path, encoded);
    bytes += encoded.length;
  }
  return bytes;
}

export interface RoundFigures {
  cold: StartTimes;
  /**
   * The probe over the back-fill: from listening to every window full, the part of it from the clients connecting (their
   * snapshots' burst included), and the part once every client held every snapshot (the back-fill alone, clients subscribed).
   */
  stall: {
    backfill: { maxMs: number; p99Ms: number; samples: number };
    withClients: { maxMs: number; p99Ms: number; samples: number };
    subscribed: { maxMs: number; p99Ms: number; samples: number };
    failures: number;
  };
  /** When the 100 clients had every snapshot, ms after spawn; whether that was before warm-up was done. */
  clients: { syncedMs: number; duringBackfill: boolean };
  sigterm: { code: number | null; ms: number };
  warm: StartTimes;
  appendedBytes: { beforeCheckpoint: number; afterCheckpoint: number };
  sigkill: { signal: NodeJS.Signals | null };
  crash: StartTimes;
  fullRead: StartTimes;
  documentsEqual: boolean;
  differingSymbols: string[];
  /** Where the differing documents were written (after the crash, and of the full read), null when none differ. */
  differencesFile: string | null;
}

/** One round of cold, warm, crash and full-read starts on `folder` (see the module's comment). */
export async function startupRound(folder: string, symbols: readonly string[], checkpointMs: number): Promise<RoundFigures> {
  const state = await mkdtemp(join(tmpdir(), 'tapebridge-bench-state-'));
  const checkpointWait = checkpointMs * 3 + 30_000;
  // Every bridge of the round, stopped at the end whatever happened (stop() of one that exited returns at once).
  const bridges: BridgeProcess[] = [];
  const launch = async (stateDir: string | null) => {
    const started = await launchBridge(folder, stateDir);
    bridges.push(started.bridge);
    return started;
  };
  try {
    // 1. Cold, clients and probe.
    const probe = await Probe.open();
    const pool = await ClientPool.start(1);
    // Set once every snapshot is served (an array: the callback's assignment is not seen by the narrowing).
    const synced: Promise<number>[] = [];
    const coldStart = await launch(state);
    await probe.start(coldStart.bridge.url);
    const cold = await watchStart(coldStart, symbols, () => {
      const plans = Array.from({ length: CLIENTS }, () => ({ symbols: ['*'], expect: symbols.length }));
      synced[0] = pool.connect(coldStart.bridge.url, 'ws', plans, [...symbols]).then(() => monotonicMs());
    });
    const samples = await probe.stop();
    const syncedAt = await (synced[0] ?? Promise.resolve(Number.NaN));
    await pool.stop();
    await checkpointAfter(coldStart.bridge, null, checkpointWait);
    const sigterm = await ended(coldStart.bridge.child, 'SIGTERM');
    await coldStart.bridge.stop();

    // 2. Warm restart, then a crash after a periodic checkpoint.
    const warmStart = await launch(state);
    const warm = await watchStart(warmStart, symbols);
    const before = (await statsOf(warmStart.bridge)).checkpoint.last?.at ?? null;
    const beforeCheckpoint = await appendTicks(folder, symbols, Math.min(3, symbols.length), 20, 100);
    await quiet(warmStart.bridge);
    await checkpointAfter(warmStart.bridge, before, checkpointWait);
    const afterCheckpoint = await appendTicks(folder, symbols, Math.min(3, symbols.length), 20, 200);
    const sigkill = await ended(warmStart.bridge.child, 'SIGKILL');
    await warmStart.bridge.stop();

    // 3. Restart after the crash.
    const crashStart = await launch(state);
    const crash = await watchStart(crashStart, symbols);
    await quiet(crashStart.bridge);
    const afterCrash = await documents(crashStart.bridge, symbols);
    await crashStart.bridge.stop();

    // 4. A cold full read of the same files.
    const fullStart = await launch(null);
    const fullRead = await watchStart(fullStart, symbols);
    await quiet(fullStart.bridge);
    const whole = await documents(fullStart.bridge, symbols);
    await fullStart.bridge.stop();

    const differingSymbols = symbols.filter((symbol) => !isDeepStrictEqual(afterCrash[symbol], whole[symbol]));
    // Kept for a look at what differs: the folder and state dir are gone by then.
    const differencesFile = differingSymbols.length === 0 ? null : join(tmpdir(), `tapebridge-bench-documents-${Date.now()}.json`);
    if (differencesFile) {
      const pick = (all: Record<string, unknown>) => Object.fromEntries(differingSymbols.map((symbol) => [symbol, all[symbol]]));
      await writeFile(differencesFile, JSON.stringify({ afterCrash: pick(afterCrash), fullRead: pick(whole) }));
    }
    return {
      cold,
      stall: {
        backfill: stall(samples, cold.at.listening, cold.at.full),
        withClients: stall(samples, cold.at.served, cold.at.full),
        subscribed: stall(samples, syncedAt, cold.at.full),
        failures: samples.failures,
      },
      clients: { syncedMs: syncedAt - cold.at.spawn, duringBackfill: syncedAt < cold.at.full },
      sigterm: { code: sigterm.code, ms: sigterm.ms },
      warm,
      appendedBytes: { beforeCheckpoint, afterCheckpoint },
      sigkill: { signal: sigkill.signal },
      crash,
      fullRead,
      documentsEqual: differingSymbols.length === 0,
      differingSymbols,
      differencesFile,
    };
  } finally {
    await Promise.all(bridges.map((bridge) => bridge.stop()));
    await rm(state, { recursive: true, force: true });
  }
}

/** Spawn to the bridge answering /v1/symbols on an empty folder: the baseline of every start. */
export async function emptyStart(folder: string): Promise<number> {
  const started = await launchBridge(folder, null);
  try {
    return (await watchStart(started, [])).snapshotMs;
  } finally {
    await started.bridge.stop();
  }
}
