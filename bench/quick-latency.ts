/**
 * Quick latency run: the bridge in its own process watching a folder; this process writes
 * the files the way terminals do (.scid appends, MT5 UTF-16LE row appends, JSON rewrites
 * by rename) and is also the WebSocket client. Latency is from the writer's write()
 * returning to the client receiving the patch that carries that write's quote time.
 *
 *   npx tsx bench/quick-latency.ts [--seconds 10] [--rate 30]
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { writeJsonSnapshot } from '../src/sim/json-writer.js';
import { Mt5TickWriter } from '../src/sim/mt5-writer.js';
import { ScidWriter, scidTickRecord } from '../src/sim/scid-writer.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, rate: { type: 'string', default: '30' } } });
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const root = fileURLToPath(new URL('..', import.meta.url));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** The quote time a patch carries, whichever way the delta engine wrote it. */
function quoteTime(ops: { op: string; path: string; value?: unknown }[]): number | undefined {
  for (const op of ops) {
    if (op.path === '/quote/time') return op.value as number;
    if (op.path === '/quote' && typeof op.value === 'object' && op.value) return (op.value as { time?: number }).time;
  }
  return undefined;
}

const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-'));
const scid = new ScidWriter(join(dir, 'ESZ25_FUT_CME.scid'));
const mt5 = new Mt5TickWriter(join(dir, 'EURUSD_202611200000_202611202359.csv'), 'utf16le', 5);
await scid.create();
await mt5.create();
await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: 2650, ask: 2650.3, time: Date.now() }, 'rewrite');

const bridge = spawn(process.execPath, ['dist/cli.js', '--watch', dir, '--port', '0', '--log-level', 'info'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise<string>((resolve) => {
  let out = '';
  bridge.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const line = out.split('\n').find((text) => text.includes('"msg":"listening"'));
    if (line) resolve((JSON.parse(line) as { url: string }).url);
  });
});

const sent = new Map<string, number>();
const latencies: number[] = [];
const patchBytes: Record<string, number[]> = {};
const documentBytes: Record<string, number> = {};
const socket = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`);
socket.on('message', (data: Buffer) => {
  const received = performance.now();
  const message = JSON.parse(data.toString()) as { type: string; symbol: string; ops?: { op: string; path: string; value?: unknown }[]; data?: unknown };
  if (message.type === 'snapshot') documentBytes[message.symbol] = JSON.stringify(message.data).length;
  if (message.type !== 'patch' || !message.ops) return;
  (patchBytes[message.symbol] ??= []).push(JSON.stringify(message.ops).length);
  const time = quoteTime(message.ops);
  const key = `${message.symbol}:${Math.round((time ?? 0) * 1000)}`;
  const at = sent.get(key);
  if (at !== undefined) {
    latencies.push(received - at);
    sent.delete(key);
  }
});
await new Promise((resolve) => socket.once('open', resolve));
socket.send(JSON.stringify({ op: 'subscribe', symbols: ['*'] }));
await new Promise((resolve) => setTimeout(resolve, 500));

let price = 6000;
let fx = 1.08;
const total = seconds * rate;
for (let i = 0; i < total; i++) {
  const time = Date.now() + (i % 1000) / 1000;
  const kind = i % 3;
  price += (i * 7919) % 3 === 0 ? 0.25 : -0.25;
  fx += (i * 7919) % 2 === 0 ? 0.00001 : -0.00001;
  if (kind === 0) {
    await scid.append([scidTickRecord({ time, bid: price - 0.25, ask: price, last: price, size: 1 + (i % 4), side: 'buy' })]);
    sent.set(`ESZ25_FUT_CME:${Math.round(time * 1000)}`, performance.now());
  } else if (kind === 1) {
    const ms = Math.floor(time);
    await mt5.append([{ time: ms, bid: Number(fx.toFixed(5)), ask: Number((fx + 0.0001).toFixed(5)) }]);
    sent.set(`EURUSD:${ms * 1000}`, performance.now());
  } else {
    const ms = Math.floor(time);
    await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: price / 3, ask: price / 3 + 0.3, time: ms }, 'rename');
    sent.set(`XAUUSD:${ms * 1000}`, performance.now());
  }
  await new Promise((resolve) => setTimeout(resolve, 1000 / rate));
}
await new Promise((resolve) => setTimeout(resolve, 500));

latencies.sort((a, b) => a - b);
const medians = Object.fromEntries(
  Object.entries(patchBytes).map(([symbol, sizes]) => [symbol, percentile([...sizes].sort((a, b) => a - b), 50)]),
);
const result = {
  date: new Date().toISOString(),
  writes: total,
  measured: latencies.length,
  latencyMs: {
    p50: Number(percentile(latencies, 50).toFixed(2)),
    p90: Number(percentile(latencies, 90).toFixed(2)),
    p99: Number(percentile(latencies, 99).toFixed(2)),
    max: Number((latencies.at(-1) ?? Number.NaN).toFixed(2)),
  },
  medianPatchOpsBytes: medians,
  documentBytes,
};
console.log(JSON.stringify(result, null, 2));
await mkdir(join(root, 'bench', 'results'), { recursive: true });
await writeFile(join(root, 'bench', 'results', 'quick-latency.json'), `${JSON.stringify(result, null, 2)}\n`);
socket.close();
bridge.kill('SIGTERM');
await rm(dir, { recursive: true, force: true });
