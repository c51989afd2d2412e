import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../bench/lib/report.js';
import { tempDir } from './helpers/temp.js';

/**
 * Every benchmark scenario in its quick mode (seconds each, one after the other): it runs,
 * exits 0 and writes a result of the documented shape with sane numbers. No timing is
 * asserted: speed is what `npm run bench` measures, not the tests.
 */
const root = fileURLToPath(new URL('..', import.meta.url));

interface Result {
  scenario: string;
  mode: string;
  date: string;
  machine: { nproc: number; cpuModel: string; node: string };
  load: { before: number[]; after: number[] };
  params: Record<string, unknown>;
  figures: Record<string, unknown>;
  baseline: Record<string, unknown> | null;
  ratio: Record<string, number> | null;
  targets: { what: string; target: string; measured: string; met: boolean }[];
}

function runQuick(name: string, out: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    // dist/ is built by the global setup.
    const child = spawn(process.execPath, ['--import', 'tsx', join('bench', `${name}.ts`), '--quick', '--out', out], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, BENCH_DIST_BUILT: '1' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

/** A number, finite and above zero. */
function positive(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

const at = (value: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], value);

/** Figures each scenario must report as positive numbers. */
const SANE: Record<(typeof SCENARIOS)[number], string[]> = {
  payload: ['default', 'oneM1Window'].flatMap((shape) => [
    `figures.${shape}.tickUpdates.medianOpsBytes`,
    `figures.${shape}.tickUpdates.medianDocumentBytes`,
    `figures.${shape}.byKind.bar roll.medianOpsBytes`,
    `figures.${shape}.byKind.book update.medianOpsBytes`,
    `baseline.${shape}.genericDiffMedianBytes.bar roll`,
  ]),
  parse: [
    'figures.recordsPerSecond.memory',
    'figures.recordsPerSecond.disk',
    'baseline.recordsPerSecond.memory',
    'figures.startup.msToEverySnapshot',
    'baseline.startupEmptyFolderMs',
  ],
  http: ['figures.requestsPerSecond', 'figures.notModifiedPerSecond', 'baseline.requestsPerSecond', 'baseline.notModifiedPerSecond'],
  polling: ['figures.cpuSeconds', 'figures.readsPerChange', 'baseline.cpuSeconds', 'baseline.readsPerChange'],
  idle: ['baseline.cores', 'baseline.safetyPollFiles', 'figures.safetyPollFiles'],
  fanout: [
    'figures.deliveriesPerSecond',
    'baseline.wsSendPerMessage.deliveriesPerSecond',
    'baseline.wsBatchedPrebuiltFrames.deliveriesPerSecond',
    'figures.cli.atRate.deliveriesPerSecond',
    'figures.cli.atRate.serverCpu',
    'baseline.rawWsOneWritePerMessage.deliveriesPerSecond',
  ],
  latency: ['figures.latencyMs.p50', 'figures.latencyMs.p99', 'figures.samples', 'baseline.latencyMs.p50'],
  cluster: [
    'figures.latency.p50',
    'figures.latency.p99',
    'baseline.latency.p99',
    'figures.saturation.versionsPerSecond',
    'figures.saturation.redisCpuMsPer1000Commits',
    'figures.saturation.bytesPerCommit',
    'baseline.saturation.commitsPerSecond',
    'figures.fanout.oneEdge.deliveriesPerSecond',
    'figures.fanout.twoEdges.deliveriesPerSecond',
    'baseline.fanout.deliveriesPerSecond',
    'figures.failover.worstMs',
  ],
  memory: ['figures.withClients.rssMb', 'figures.withClients.heapUsedMb', 'figures.soak.end.rssMb', 'baseline.emptyBridge.rssMb', 'baseline.bareNodeRssMb'],
};

describe('benchmarks (quick mode)', () => {
  it('every scenario runs and writes a result with its machine, load, figures, baseline, ratio and targets', { timeout: 330_000 }, async () => {
    const out = await tempDir();
    for (const name of SCENARIOS) {
      const { code, stderr } = await runQuick(name, out);
      expect({ name, code, stderr: code === 0 ? '' : stderr }).toEqual({ name, code: 0, stderr: '' });
      const result = JSON.parse(await readFile(join(out, `${name}.quick.json`), 'utf8')) as Result;
      expect(result).toMatchObject({ scenario: name, mode: 'quick' });
      expect(Number.isNaN(Date.parse(result.date))).toBe(false);
      expect(Number.isInteger(result.machine.nproc)).toBe(true);
      expect(result.machine.nproc).toBeGreaterThanOrEqual(1);
      expect(result.machine.nproc).toBeLessThanOrEqual(cpus().length);
      expect(result.machine.node).toBe(process.version);
      expect(result.load.before).toHaveLength(3);
      expect(result.targets.length).toBeGreaterThan(0);
      for (const target of result.targets) {
        expect(target).toEqual({ what: expect.any(String), target: expect.any(String), measured: expect.any(String), met: expect.any(Boolean) });
      }
      for (const value of Object.values(result.ratio ?? {})) expect(positive(value)).toBe(true);
      for (const path of SANE[name]) expect({ name, path, sane: positive(at(result, path)) }).toEqual({ name, path, sane: true });
    }
    // The latency scenario matched writes to receipts: none were lost.
    const latency = JSON.parse(await readFile(join(out, 'latency.quick.json'), 'utf8')) as Result;
    expect(at(latency, 'figures.samples')).toBe(at(latency, 'figures.expected'));
    expect(at(latency, 'figures.latencyMs.p50') as number).toBeLessThanOrEqual(at(latency, 'figures.latencyMs.p99') as number);
    // Memory in MB of real processes: a bare Node below an empty bridge, the heap inside the RSS.
    const memory = JSON.parse(await readFile(join(out, 'memory.quick.json'), 'utf8')) as Result;
    expect(at(memory, 'baseline.bareNodeRssMb') as number).toBeLessThan(at(memory, 'baseline.emptyBridge.rssMb') as number);
    expect(at(memory, 'figures.withClients.heapUsedMb') as number).toBeLessThan(at(memory, 'figures.withClients.rssMb') as number);
    // The bridge read each change once, with data.
    const polling = JSON.parse(await readFile(join(out, 'polling.quick.json'), 'utf8')) as Result;
    expect(at(polling, 'figures.readsWithDataPerChange')).toBe(1);
  });
});
