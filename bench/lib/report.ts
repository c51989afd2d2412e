/**
 * What every scenario shares: its command line (`--quick`, `--out`), the machine it ran on
 * and how loaded that machine was, summary statistics, and the result file
 * `bench/results/<name>.json` (`<name>.quick.json` for a quick run).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every scenario (bench/<name>.ts), in the order `npm run bench` runs them: the long soak last. */
export const SCENARIOS = ['payload', 'parse', 'http', 'polling', 'idle', 'fanout', 'latency', 'cluster', 'memory'] as const;

export interface ScenarioArgs<K extends string> {
  /** Seconds-long version of the scenario: checks that it runs, proves nothing about speed. */
  quick: boolean;
  /** Where the result file goes. */
  out: string;
  /** The scenario's numeric parameters: its full or quick defaults, or `--<name> N`. */
  params: Record<K, number>;
}

/**
 * `--quick`, `--out DIR`, and a `--<name> N` for each parameter, whose defaults are given as
 * `[full, quick]`.
 */
export function scenarioArgs<K extends string>(defaults: Record<K, readonly [full: number, quick: number]>): ScenarioArgs<K> {
  const names = Object.keys(defaults) as K[];
  const options: Record<string, { type: 'string' } | { type: 'boolean' }> = { quick: { type: 'boolean' }, out: { type: 'string' } };
  for (const name of names) options[name] = { type: 'string' };
  const { values } = parseArgs({ options, strict: true });
  const quick = values.quick === true;
  const params = {} as Record<K, number>;
  for (const name of names) {
    const given = values[name];
    const value = typeof given === 'string' ? Number(given) : defaults[name][quick ? 1 : 0];
    if (!Number.isFinite(value)) throw new RangeError(`--${name} must be a number, got ${String(given)}`);
    params[name] = value;
  }
  const out = typeof values.out === 'string' ? values.out : join(ROOT, 'bench', 'results');
  return { quick, out, params };
}

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  platform: string;
}

function machine(): Machine {
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    // nproc is coreutils; os.cpus() stands in where it is missing.
  }
  return {
    nproc,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** The 1, 5 and 15 minute load averages, rounded. */
export function load(): [number, number, number] {
  return loadavg().map((value) => Math.round(value * 100) / 100) as [number, number, number];
}

/** One target of PRODUCT.md and whether this run met it. */
export interface TargetCheck {
  what: string;
  target: string;
  measured: string;
  met: boolean;
}

export interface ScenarioResult {
  scenario: string;
  /** What the scenario measures, in a sentence. */
  measures: string;
  params: Record<string, unknown>;
  /** Ours. */
  figures: Record<string, unknown>;
  /** The baseline of the same run. */
  baseline: Record<string, unknown> | null;
  /** Ours relative to the baseline (what the target is stated in). */
  ratio: Record<string, number> | null;
  targets: TargetCheck[];
  notes?: string[];
}

/** Writes the result with its date, machine and load, and prints it. Returns the path. */
export async function writeResult(args: ScenarioArgs<string>, loadBefore: [number, number, number], result: ScenarioResult): Promise<string> {
  const document = {
    scenario: result.scenario,
    measures: result.measures,
    date: new Date().toISOString(),
    mode: args.quick ? 'quick' : 'full',
    machine: machine(),
    load: { before: loadBefore, after: load() },
    params: result.params,
    figures: result.figures,
    baseline: result.baseline,
    ratio: result.ratio,
    targets: result.targets,
    ...(result.notes ? { notes: result.notes } : {}),
  };
  await mkdir(args.out, { recursive: true });
  const path = join(args.out, `${result.scenario}${args.quick ? '.quick' : ''}.json`);
  await writeFile(path, `${JSON.stringify(document, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return path;
}

/** Nearest-rank percentile of numbers sorted ascending. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** Rounds for reading: 3 significant decimals below 10, fewer above. */
export function round(value: number, decimals = 2): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
