/**
 * polling: the seeds' "before" against the bridge, in the same run. Before: 100 clients each
 * poll an HTTP endpoint 4 times a second, and the endpoint reads and parses the symbol's file
 * on every request (bench/lib/polling-server.ts). After: 100 WebSocket subscribers of the
 * bridge watching the same folder. The files (JSON snapshots of a quote and a 200-bar M1
 * window, some 16 KB) change at the same rate in both, replaced by rename. Measured: CPU
 * seconds of the server process, and file reads per change (the bridge also with 10
 * subscribers, to show that its reads do not depend on them).
 *
 *   npx tsx bench/polling.ts [--quick] [--seconds 30] [--clients 100]
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RandomMarket } from '../src/sim/random.js';
import type { Bar } from '../src/model/document.js';
import { ClientPool } from './lib/clients.js';
import { cpuSeconds, forkTs, startBridgeProcess, stopChild } from './lib/processes.js';
import { load, median, round, scenarioArgs, sleep, writeResult } from './lib/report.js';

const args = scenarioArgs({ clients: [100, 20], pollsPerSecond: [4, 4], symbols: [10, 5], changesPerSecond: [10, 10], seconds: [30, 2], rounds: [2, 1] });
const { clients, pollsPerSecond, symbols, changesPerSecond, seconds, rounds } = args.params;
const loadBefore = load();
/** Between connecting and measuring. */
const settleMs = args.quick ? 300 : 1000;
const names = Array.from({ length: symbols }, (_, i) => `Q${String(i).padStart(2, '0')}`);

/** JSON snapshots of each symbol, rewritten (by rename) round-robin at `changesPerSecond` in all. */
class SnapshotFiles {
  readonly #markets = names.map((_, i) => new RandomMarket({ start: 2650.1 + i, tickSize: 0.01, spreadTicks: 30, tradeShare: 1, seed: i + 1 }));
  readonly #bars: Bar[][];
  #next = 0;

  constructor(readonly dir: string) {
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 199 * 60_000;
    this.#bars = names.map((_, i) =>
      Array.from({ length: 200 }, (_, k) => {
        const price = 2650 + i + (k % 7) * 0.1;
        return { t: start + k * 60_000, o: price, h: price + 0.5, l: price - 0.4, c: price + 0.1, v: 100 + k };
      }),
    );
    for (let i = 0; i < symbols; i++) this.#write(i);
  }

  /** Changes the next file; returns how many changes were made so far. */
  change(): void {
    this.#write(this.#next);
    this.#next = (this.#next + 1) % symbols;
  }

  #write(i: number): void {
    const tick = (this.#markets[i] as RandomMarket).next(Date.now());
    const bars = this.#bars[i] as Bar[];
    const minute = Math.floor(tick.time / 60_000) * 60_000;
    const last = bars[bars.length - 1] as Bar;
    const price = tick.last ?? tick.bid;
    if (last.t === minute) bars[bars.length - 1] = { ...last, h: Math.max(last.h, price), l: Math.min(last.l, price), c: price, v: last.v + (tick.size ?? 1) };
    else bars.splice(0, bars.length - 199, { t: minute, o: price, h: price, l: price, c: price, v: tick.size ?? 1 });
    const path = join(this.dir, `${names[i]}.json`);
    writeFileSync(
      `${path}.tmp`,
      JSON.stringify({ quote: { bid: tick.bid, ask: tick.ask, last: price, lastSize: tick.size, time: tick.time }, bars: { M1: bars } }),
    );
    renameSync(`${path}.tmp`, path);
  }
}

/** Changes files (`rate` a second in all) for `seconds` while measuring `pid`'s CPU; returns CPU seconds and changes made. */
async function changeFor(files: SnapshotFiles, pid: number, rate = changesPerSecond): Promise<{ cpuSeconds: number; changes: number; elapsed: number }> {
  const cpu0 = cpuSeconds(pid);
  const started = performance.now();
  let changes = 0;
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (changes < due) {
      files.change();
      changes++;
    }
    await sleep(5);
  }
  await sleep(300);
  return { cpuSeconds: round(cpuSeconds(pid) - cpu0, 2), changes, elapsed: round((performance.now() - started) / 1000, 1) };
}

interface Run {
  server: 'polling' | 'bridge';
  clients: number;
  changesPerSecond: number;
  cpuSeconds: number;
  changes: number;
  reads: number;
  readsPerChange: number;
  /** Bridge: reads that found a change (the others are follow-ups and the safety poll, which read nothing). */
  readsWithData?: number;
  requests?: number;
  patchesReceived?: number;
}

async function polling(dir: string, files: SnapshotFiles): Promise<Run> {
  const server = forkTs('bench/lib/polling-server.ts', [dir]);
  const [{ url }] = (await once(server, 'message')) as [{ url: string }];
  const pollers = forkTs('bench/lib/poll-clients.ts', [url, String(clients), String(pollsPerSecond), names.join(',')]);
  try {
    await sleep(settleMs);
    const readsBefore = await ask<{ reads: number }>(server);
    const window = await changeFor(files, server.pid as number);
    const { reads } = await ask<{ reads: number }>(server);
    const { requests, errors } = await ask<{ requests: number; errors: number }>(pollers);
    if (errors > 0) throw new Error(`${errors} polls failed`);
    const made = reads - readsBefore.reads;
    return {
      server: 'polling',
      clients,
      changesPerSecond,
      cpuSeconds: window.cpuSeconds,
      changes: window.changes,
      reads: made,
      readsPerChange: round(made / window.changes),
      requests,
    };
  } finally {
    await stopChild(pollers);
    await stopChild(server);
  }
}

async function ask<T>(child: ReturnType<typeof forkTs>): Promise<T> {
  const answer = once(child, 'message');
  child.send({});
  return ((await answer) as [T])[0];
}

interface Reads {
  sources: { folders: { reads: Record<string, number> }[] };
}

async function bridge(dir: string, files: SnapshotFiles, subscribers: number, rate = changesPerSecond): Promise<Run> {
  const bridgeProcess = await startBridgeProcess({ sources: [{ path: dir }] });
  const pool = await ClientPool.start(1);
  try {
    const plans = Array.from({ length: subscribers }, (_, i) => ({ symbols: [names[i % symbols] as string], expect: 1 }));
    await pool.connect(bridgeProcess.url, 'ws', plans, names);
    await sleep(settleMs);
    const readsOf = async (): Promise<{ all: number; changed: number }> => {
      const stats = await bridgeProcess.json<Reads>('/v1/stats');
      const reads = stats.sources.folders[0]?.reads ?? {};
      return { all: Object.values(reads).reduce((sum, count) => sum + count, 0), changed: reads.changed ?? 0 };
    };
    const before = await readsOf();
    const patchesBefore = (await pool.counts()).patches;
    const window = await changeFor(files, bridgeProcess.pid, rate);
    const after = await readsOf();
    const patches = (await pool.counts()).patches - patchesBefore;
    const reads = after.all - before.all;
    return {
      server: 'bridge',
      clients: subscribers,
      changesPerSecond: rate,
      cpuSeconds: window.cpuSeconds,
      changes: window.changes,
      reads,
      readsPerChange: round(reads / window.changes),
      readsWithData: after.changed - before.changed,
      patchesReceived: patches,
    };
  } finally {
    await pool.stop();
    await bridgeProcess.stop();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-polling-'));
try {
  const files = new SnapshotFiles(dir);
  const runs: Run[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const run of r % 2 === 0
      ? [() => polling(dir, files), () => bridge(dir, files, clients)]
      : [() => bridge(dir, files, clients), () => polling(dir, files)]) {
      const result = await run();
      process.stderr.write(`round ${r + 1} ${result.server}: ${result.cpuSeconds} CPU s, ${result.readsPerChange} reads per change\n`);
      runs.push(result);
    }
  }
  const few = await bridge(dir, files, Math.max(1, Math.round(clients / 10)));
  // The same with data changing as often as the pollers poll: what the ratio depends on.
  const busy = await bridge(dir, files, clients, symbols * pollsPerSecond);
  const cpu = (server: Run['server']): number =>
    median(runs.filter((run) => run.server === server && run.clients === clients && run.changesPerSecond === changesPerSecond).map((run) => run.cpuSeconds));
  const perChange = (server: Run['server']): number => median(runs.filter((run) => run.server === server).map((run) => run.readsPerChange));
  const withData = median(runs.filter((run) => run.server === 'bridge').map((run) => (run.readsWithData ?? 0) / run.changes));
  const lessCpu = round(cpu('polling') / cpu('bridge'), 1);

  await writeResult(args, loadBefore, {
    scenario: 'polling',
    measures:
      'CPU seconds of the server and file reads per change: 100 clients polling a file-reading endpoint 4x/s against 100 WebSocket subscribers of the bridge',
    params: { clients, pollsPerSecond, symbols, changesPerSecond, seconds, rounds, fileBytes: 'about 16 KB (a quote and a 200-bar window)' },
    figures: {
      cpuSeconds: cpu('bridge'),
      readsPerChange: perChange('bridge'),
      readsWithDataPerChange: round(withData),
      withFewerSubscribers: few,
      withDataChangingAsOftenAsPolled: { ...busy, cpuRatioAgainstPolling: round(cpu('polling') / busy.cpuSeconds, 1) },
      runs: runs.filter((run) => run.server === 'bridge'),
    },
    baseline: { cpuSeconds: cpu('polling'), readsPerChange: perChange('polling'), runs: runs.filter((run) => run.server === 'polling') },
    ratio: {
      cpuPollingOverBridge: lessCpu,
      cpuPollingOverBridgeWhenDataChangesAsOftenAsPolled: round(cpu('polling') / busy.cpuSeconds, 1),
      readsPollingOverBridge: round(perChange('polling') / perChange('bridge'), 1),
    },
    targets: [
      {
        what: `CPU against polling, ${clients} clients`,
        target: '>= 10x less',
        measured: `${lessCpu}x less (${cpu('bridge')} s against ${cpu('polling')} s over ${seconds} s)`,
        met: lessCpu >= 10,
      },
      {
        what: 'each change read once whatever the number of clients',
        target: '1 read with data per change',
        measured: `${round(withData)} with data (${perChange('bridge')} reads in all, follow-ups included) at ${clients} subscribers, ${round((few.readsWithData ?? 0) / few.changes)} at ${few.clients}; polling: ${perChange('polling')}`,
        met: Math.abs(withData - 1) <= 0.05 && Math.abs((few.readsWithData ?? 0) / few.changes - 1) <= 0.05,
      },
    ],
    notes: [
      `Each symbol's file changes ${changesPerSecond / symbols} times a second and each client polls it ${pollsPerSecond} times a second; the ratio falls as the data changes more often (withDataChangingAsOftenAsPolled), while the polling server's cost stays.`,
      "The bridge's extra reads are its trailing re-check after a change and its safety poll: a stat each, that finds nothing changed.",
    ],
  });
} finally {
  await rm(dir, { recursive: true, force: true });
}
