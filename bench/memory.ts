/**
 * memory: the bridge process's RSS and heap with 50 symbols and 1,000 idle WebSocket clients
 * (in 4 other processes, 5 symbols each), with Node's defaults and with V8's young
 * generation capped (`--max-semi-space-size=4`); then, with the defaults, over a soak under
 * the latency scenario's write load (200 writes/s, clients receiving) with its slope. The
 * baseline, in the same run, is the same bridge with no files and no clients (its fixed
 * cost), and a bare Node process (the floor).
 *
 *   npx tsx bench/memory.ts [--quick] [--soakSeconds 600] [--clients 1000]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientPool, type SocketPlan } from './lib/clients.js';
import { rssBytes, startBridgeProcess, stopChild, type BridgeProcess } from './lib/processes.js';
import { load, round, scenarioArgs, slope, sleep, writeResult } from './lib/report.js';
import { TerminalWriter, writeAtRate } from './lib/terminal-writer.js';

const args = scenarioArgs({
  clients: [1000, 100],
  perClient: [5, 5],
  symbols: [50, 50],
  rate: [200, 200],
  soakSeconds: [600, 4],
  sampleSeconds: [10, 1],
  settleSeconds: [5, 1],
  processes: [4, 2],
});
const { clients, perClient, symbols, rate, soakSeconds, sampleSeconds, settleSeconds, processes } = args.params;
const loadBefore = load();
const MB = 2 ** 20;
/** Node flags of the variant measured idle besides the default. */
const SMALL_YOUNG_GENERATION = ['--max-semi-space-size=4'];

interface Memory {
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
}

async function memoryOf(bridge: BridgeProcess): Promise<Memory> {
  const { memory } = await bridge.json<{ memory: { heapUsedBytes: number; heapTotalBytes: number; externalBytes: number } }>('/v1/stats');
  return {
    rssMb: round(rssBytes(bridge.pid) / MB, 1),
    heapUsedMb: round(memory.heapUsedBytes / MB, 1),
    heapTotalMb: round(memory.heapTotalBytes / MB, 1),
    externalMb: round(memory.externalBytes / MB, 1),
  };
}

async function waitForSymbols(bridge: BridgeProcess, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await bridge.json<{ symbols: unknown[] }>('/v1/symbols')).symbols.length < count) {
    if (Date.now() > deadline) throw new Error(`the bridge did not publish ${count} symbols within 30 s`);
    await sleep(50);
  }
}

/** RSS of a Node process that loads nothing. */
async function bareNodeRssMb(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await sleep(1000);
  const rss = rssBytes(child.pid as number);
  await stopChild(child);
  return round(rss / MB, 1);
}

async function emptyBridge(): Promise<Memory> {
  const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-memory-'));
  const bridge = await startBridgeProcess({ sources: [{ path: dir }] });
  try {
    await sleep(settleSeconds * 1000);
    return await memoryOf(bridge);
  } finally {
    await bridge.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The idle figures: `bridge` once it publishes every symbol, then with the clients connected (and left connected). */
async function idle(bridge: BridgeProcess, pool: ClientPool, symbolNames: string[]): Promise<{ withSymbols: Memory; withClients: Memory }> {
  await waitForSymbols(bridge, symbols);
  await sleep(settleSeconds * 1000);
  const withSymbols = await memoryOf(bridge);
  const plans: SocketPlan[] = Array.from({ length: clients }, (_, i) => {
    const own = Array.from({ length: perClient }, (_, k) => symbolNames[(i * perClient + k) % symbols] as string);
    return { symbols: own, expect: own.length };
  });
  await pool.connect(bridge.url, 'ws', plans, symbolNames);
  await sleep(settleSeconds * 1000);
  return { withSymbols, withClients: await memoryOf(bridge) };
}

/** The idle figures of a bridge started with `nodeArgs` on `dir`. */
async function idleWith(dir: string, symbolNames: string[], nodeArgs: string[]): Promise<{ withSymbols: Memory; withClients: Memory }> {
  const bridge = await startBridgeProcess({ sources: [{ path: dir }] }, nodeArgs);
  const pool = await ClientPool.start(processes);
  try {
    return await idle(bridge, pool, symbolNames);
  } finally {
    await pool.stop();
    await bridge.stop();
  }
}

const floor = await bareNodeRssMb();
const empty = await emptyBridge();

const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-memory-'));
const writer = new TerminalWriter(dir, symbols);
writer.create();
try {
  // First the idle figures with V8's young generation capped: by default start-up's
  // allocations grow it to its maximum (16 MB semi-spaces), and it stays committed.
  const smallYoung = await idleWith(dir, writer.symbols, SMALL_YOUNG_GENERATION);
  const bridge = await startBridgeProcess({ sources: [{ path: dir }] });
  const pool = await ClientPool.start(processes);
  try {
    const { withSymbols, withClients } = await idle(bridge, pool, writer.symbols);

    const samples: ({ seconds: number } & Memory)[] = [];
    const startedAt = performance.now();
    const soaking = new AbortController();
    const sampler = (async () => {
      while (!soaking.signal.aborted) {
        samples.push({ seconds: round((performance.now() - startedAt) / 1000, 1), ...(await memoryOf(bridge)) });
        await sleep(sampleSeconds * 1000);
      }
    })();
    await writeAtRate(writer, rate, soakSeconds);
    soaking.abort();
    await sampler;
    const journal = (await bridge.json<{ state: { journal: { entries: number; bytes: number } } }>('/v1/stats')).state.journal;
    const end = await memoryOf(bridge);
    const counts = await pool.counts();

    const half = samples.filter((sample) => sample.seconds >= soakSeconds / 2);
    const perMinute = (key: keyof Memory, part: typeof samples): number =>
      round(
        slope(
          part.map((sample) => sample.seconds / 60),
          part.map((sample) => sample[key]),
        ),
        2,
      );
    const rssSlope = perMinute('rssMb', half);
    const peakRss = Math.max(withClients.rssMb, ...samples.map((sample) => sample.rssMb));

    await writeResult(args, loadBefore, {
      scenario: 'memory',
      measures: 'RSS and heap of the bridge process: 50 symbols, 1,000 idle WebSocket clients, then a soak at 200 writes/s',
      params: { symbols, clients, symbolsPerClient: perClient, writesPerSecond: rate, soakSeconds, sampleSeconds, clientProcesses: processes },
      figures: {
        withSymbols,
        withClients,
        perClientKb: round(((withClients.rssMb - withSymbols.rssMb) * 1024) / clients, 1),
        perSymbolKb: round(((withSymbols.rssMb - empty.rssMb) * 1024) / symbols, 1),
        youngGenerationCapped: { nodeArgs: SMALL_YOUNG_GENERATION.join(' '), ...smallYoung },
        soak: {
          end,
          peakRssMb: peakRss,
          slopeSecondHalfMbPerMinute: { rss: rssSlope, heapUsed: perMinute('heapUsedMb', half) },
          slopeWholeMbPerMinute: { rss: perMinute('rssMb', samples), heapUsed: perMinute('heapUsedMb', samples) },
          journal,
          patchesReceived: counts.patches,
          samples,
        },
      },
      baseline: { emptyBridge: empty, bareNodeRssMb: floor },
      ratio: { rssOverEmptyBridge: round(withClients.rssMb / empty.rssMb) },
      targets: [
        {
          what: 'RSS, 50 symbols and 1,000 connected clients',
          target: '<= 120 MB',
          measured: `${withClients.rssMb} MB (peak in the soak ${peakRss} MB; ${smallYoung.withClients.rssMb} MB with ${SMALL_YOUNG_GENERATION.join(' ')})`,
          met: withClients.rssMb <= 120,
        },
        {
          what: 'flat over the soak',
          target: 'RSS slope over its second half within ±1 MB/min',
          measured: `${rssSlope} MB/min over ${round(soakSeconds / 120, 1)} min`,
          met: Math.abs(rssSlope) <= 1,
        },
      ],
      notes: [
        `youngGenerationCapped: the same idle figures of a bridge started with \`node ${SMALL_YOUNG_GENERATION.join(' ')}\` (NODE_OPTIONS), measured before the default one.`,
        'Journals fill in the first minutes of the soak (1,000 patches per symbol at 4 writes/s per symbol: about 250 s), so the slope is taken over the second half.',
      ],
    });
  } finally {
    await pool.stop();
    await bridge.stop();
  }
} finally {
  writer.close();
  await rm(dir, { recursive: true, force: true });
}
