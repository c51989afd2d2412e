/**
 * The shared cache under polling consumers: the bridge in its own process, fed by the
 * simulator (two futures, two FX pairs, gold; 4 update rounds a second, 24 h of history);
 * 50 HTTP clients that each ask every second for the M5 indicators of each of the five
 * symbols (`GET /v1/symbols/:symbol/indicators?tf=M5`: what the seeds' alert engine and
 * execution bot ask, `get_indicators(symbol, "M5")`), at their own phase within the second.
 *
 * Reported: the cache's hit rate over the measured period (from /v1/stats), the response
 * times, and, from the `seq` each answer carries, what the hit rate would have been with the
 * document's seq in the key instead of the version of the M5 window.
 *
 *   npx tsx bench/cache-hit-rate.ts [--quick] [--seconds 60] [--clients 50]
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startSimulator } from '../src/sim/simulator.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, seconds: { type: 'string' }, clients: { type: 'string', default: '50' } },
});
const quick = values.quick;
const seconds = Number(values.seconds ?? (quick ? 15 : 60));
const clients = Number(values.clients);
const WARM_UP_MS = 3000;
const root = fileURLToPath(new URL('..', import.meta.url));

interface CacheSection {
  hits: number;
  misses: number;
  coalesced: number;
  entries: number;
  bytes: number;
  evictions: number;
  expirations: number;
}

const percentile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-'));
const simulator = await startSimulator({ dir, historyMinutes: 24 * 60 });
const bridge = spawn(process.execPath, ['dist/cli.js', '--watch', dir, '--port', '0', '--log-level', 'info'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise<string>((resolve) => {
  let out = '';
  bridge.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const line = out.split('\n').find((text) => text.includes('"msg":"listening"'));
    if (line) resolve((JSON.parse(line) as { url: string }).url);
  });
});
const stats = async (): Promise<{ cache: CacheSection; seqs: Record<string, number> }> => {
  const body = (await (await fetch(`${url}/v1/stats`)).json()) as { cache: CacheSection };
  const symbols = (await (await fetch(`${url}/v1/symbols`)).json()) as { symbols: { symbol: string; seq: number }[] };
  return { cache: body.cache, seqs: Object.fromEntries(symbols.symbols.map(({ symbol, seq }) => [symbol, seq])) };
};
// Every symbol read and published before the clients start.
for (;;) {
  const { seqs } = await stats();
  if (simulator.symbols.every((symbol) => seqs[symbol] !== undefined)) break;
  await new Promise((resolve) => setTimeout(resolve, 200));
}

let measuring = false;
let stopped = false;
const latencies: number[] = [];
const seen = new Set<string>();
let answers = 0;
let failures = 0;

async function client(index: number): Promise<void> {
  // Each client keeps its own phase within the second.
  await new Promise((resolve) => setTimeout(resolve, (index * 1000) / clients + Math.random() * 20));
  while (!stopped) {
    const round = performance.now();
    await Promise.all(
      simulator.symbols.map(async (symbol) => {
        const start = performance.now();
        const response = await fetch(`${url}/v1/symbols/${symbol}/indicators?tf=M5`);
        const body = (await response.json()) as { seq?: number };
        if (!measuring) return;
        latencies.push(performance.now() - start);
        if (response.status !== 200) failures++;
        answers++;
        seen.add(`${symbol}:${body.seq}`);
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (performance.now() - round))));
  }
}

const running = Array.from({ length: clients }, (_, i) => client(i));
await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
const before = await stats();
measuring = true;
const started = performance.now();
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
measuring = false;
const elapsed = (performance.now() - started) / 1000;
const after = await stats();
stopped = true;
await Promise.all(running);

const hits = after.cache.hits - before.cache.hits;
const misses = after.cache.misses - before.cache.misses;
latencies.sort((a, b) => a - b);
const result = {
  date: new Date().toISOString(),
  quick,
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  load: `load average ${loadavg()
    .map((value) => value.toFixed(1))
    .join(' ')} on ${cpus().length} cores at the end`,
  method: `bridge in its own process, simulator at 4 rounds/s with 24 h of history; ${clients} clients each GET /v1/symbols/:symbol/indicators?tf=M5 for the ${simulator.symbols.length} symbols once a second; ${WARM_UP_MS / 1000} s of warm-up, then ${seconds} s measured`,
  requests: answers,
  requestsPerSecond: Math.round(answers / elapsed),
  failures,
  cache: {
    hits,
    misses,
    coalesced: after.cache.coalesced - before.cache.coalesced,
    hitRate: Number((hits / (hits + misses)).toFixed(4)),
    entries: after.cache.entries,
    bytes: after.cache.bytes,
    evictions: after.cache.evictions,
  },
  ifKeyedByDocumentSeq: {
    what: 'distinct (symbol, seq) pairs among the answers: the computations a key with the document seq would have needed',
    misses: seen.size,
    hitRate: Number((1 - seen.size / answers).toFixed(4)),
  },
  commitsPerSecond: Object.fromEntries(
    simulator.symbols.map((symbol) => [symbol, Number((((after.seqs[symbol] ?? 0) - (before.seqs[symbol] ?? 0)) / elapsed).toFixed(1))]),
  ),
  responseMs: {
    p50: Number(percentile(latencies, 0.5).toFixed(2)),
    p90: Number(percentile(latencies, 0.9).toFixed(2)),
    p99: Number(percentile(latencies, 0.99).toFixed(2)),
  },
};
console.log(JSON.stringify(result, null, 2));
await mkdir(join(root, 'bench', 'results'), { recursive: true });
await writeFile(join(root, 'bench', 'results', `cache-hit-rate${quick ? '-quick' : ''}.json`), `${JSON.stringify(result, null, 2)}\n`);
bridge.kill('SIGTERM');
await new Promise((resolve) => bridge.once('exit', resolve));
await simulator.close();
await rm(dir, { recursive: true, force: true });
