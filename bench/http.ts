/**
 * http: requests per second of the snapshot route (`GET /v1/symbols/:symbol` of a symbol
 * with a full 200-bar window) measured with autocannon, against a bare fastify route
 * returning a JSON string of the same size (bench/lib/bare-server.ts), each server in its own
 * process, in turns; without and with If-None-Match (304). The bridge runs with its guards
 * (CORS, rate limit with a limit above the load, tokens off), as configured by default.
 *
 *   npx tsx bench/http.ts [--quick] [--seconds 5] [--rounds 3] [--connections 10]
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { cpuSeconds, forkTs, startBridgeProcess, stopChild } from './lib/processes.js';
import { load, median, round, scenarioArgs, sleep, writeResult } from './lib/report.js';
import { TerminalWriter } from './lib/terminal-writer.js';

const args = scenarioArgs({ seconds: [5, 1], rounds: [3, 1], connections: [10, 10] });
const { seconds, rounds, connections } = args.params;
const loadBefore = load();

interface Server {
  name: 'bridge' | 'bare';
  url: string;
  etag: string;
  pid: number;
}

interface Run {
  server: Server['name'];
  conditional: boolean;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  serverCpu: number;
  /** Requests per CPU second of the server: less sensitive than requests/s to what else the machine runs. */
  requestsPerCpuSecond: number;
  unexpected: number;
}

async function fire(server: Server, conditional: boolean): Promise<Run> {
  const cpu0 = cpuSeconds(server.pid);
  const result = await autocannon({
    url: `${server.url}/v1/symbols/S00_FUT_CME`,
    connections,
    duration: seconds,
    headers: conditional ? { 'if-none-match': server.etag } : {},
  });
  const serverCpu = (cpuSeconds(server.pid) - cpu0) / result.duration;
  const expected = conditional ? result['3xx'] : result['2xx'];
  return {
    server: server.name,
    conditional,
    requestsPerSecond: Math.round(expected / result.duration),
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    serverCpu: round(serverCpu),
    requestsPerCpuSecond: Math.round(expected / result.duration / serverCpu),
    unexpected: result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'] + result.errors - expected,
  };
}

const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-http-'));
const writer = new TerminalWriter(dir, 3);
writer.create();
const bridgeProcess = await startBridgeProcess({ sources: [{ path: dir }], http: { rateLimit: { max: 1_000_000_000, windowMs: 1000 } } });
let bare: ReturnType<typeof forkTs> | null = null;
try {
  let snapshot: Response | null = null;
  for (let i = 0; i < 200 && snapshot?.status !== 200; i++) {
    if (i > 0) await sleep(50);
    snapshot = await fetch(`${bridgeProcess.url}/v1/symbols/S00_FUT_CME`);
  }
  if (snapshot?.status !== 200) throw new Error('the bridge did not serve the snapshot');
  const snapshotBytes = (await snapshot.arrayBuffer()).byteLength;
  const bridge: Server = { name: 'bridge', url: bridgeProcess.url, etag: snapshot.headers.get('etag') as string, pid: bridgeProcess.pid };
  bare = forkTs('bench/lib/bare-server.ts', [String(snapshotBytes)]);
  const [info] = (await once(bare, 'message')) as [{ url: string; etag: string; bytes: number }];
  const baseline: Server = { name: 'bare', url: info.url, etag: info.etag, pid: bare.pid as number };

  const runs: Run[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const conditional of [false, true]) {
      // Alternate which goes first, so that a drift in the machine's load is shared out.
      const order = r % 2 === 0 ? [bridge, baseline] : [baseline, bridge];
      for (const server of order) {
        const run = await fire(server, conditional);
        process.stderr.write(`round ${r + 1} ${server.name}${conditional ? ' If-None-Match' : ''}: ${run.requestsPerSecond} req/s\n`);
        runs.push(run);
      }
    }
  }
  const rate = (name: Server['name'], conditional: boolean): number =>
    median(runs.filter((run) => run.server === name && run.conditional === conditional).map((run) => run.requestsPerSecond));
  const plain = { ours: rate('bridge', false), bare: rate('bare', false) };
  const conditional = { ours: rate('bridge', true), bare: rate('bare', true) };
  const plainRatio = round(plain.ours / plain.bare);
  const conditionalRatio = round(conditional.ours / conditional.bare);

  await writeResult(args, loadBefore, {
    scenario: 'http',
    measures: 'requests/s of the snapshot route against a bare fastify route of the same size, with and without If-None-Match',
    params: { seconds, rounds, connections, snapshotBytes, bareBytes: info.bytes },
    figures: {
      requestsPerSecond: plain.ours,
      notModifiedPerSecond: conditional.ours,
      runs: runs.filter((run) => run.server === 'bridge'),
    },
    baseline: {
      requestsPerSecond: plain.bare,
      notModifiedPerSecond: conditional.bare,
      runs: runs.filter((run) => run.server === 'bare'),
    },
    ratio: { plain: plainRatio, ifNoneMatch: conditionalRatio },
    targets: [
      {
        what: 'snapshot route, against a bare fastify route',
        target: '>= 70%',
        measured: `${Math.round(plainRatio * 100)}% (${plain.ours} vs ${plain.bare} req/s)`,
        met: plainRatio >= 0.7,
      },
      {
        what: 'the same with If-None-Match (304)',
        target: '>= 70%',
        measured: `${Math.round(conditionalRatio * 100)}% (${conditional.ours} vs ${conditional.bare} req/s)`,
        met: conditionalRatio >= 0.7,
      },
    ],
  });
} finally {
  if (bare) await stopChild(bare);
  await bridgeProcess.stop();
  writer.close();
  await rm(dir, { recursive: true, force: true });
}
