import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { runSoak, SOAK_DEFAULTS, type SoakSummary } from '../test/soak/run.js';

/**
 * `npm run soak -- --minutes N [--seed S] [--symbols N] [--redis] [--out FILE]`: the randomized
 * soak (docs/reliability.md); `--redis` runs it through a real Redis, the bridge as the ingest
 * node and the clients on two edge nodes. Prints a summary, writes it as JSON
 * (bench/results/soak.json by default, soak-redis.json with --redis) and exits 1 unless it
 * passed: zero divergence, zero violation, zero unhandled error, every restart as expected,
 * memory flat.
 */

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seed: { type: 'string' },
    symbols: { type: 'string' },
    'writes-per-second': { type: 'string' },
    redis: { type: 'boolean' },
    out: { type: 'string' },
  },
});
const number = (text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`not a positive number: ${text}`);
  return value;
};

const summary = await runSoak({
  minutes: number(values.minutes, SOAK_DEFAULTS.minutes),
  seed: number(values.seed, SOAK_DEFAULTS.seed),
  symbols: number(values.symbols, SOAK_DEFAULTS.symbols),
  writesPerSecond: number(values['writes-per-second'], SOAK_DEFAULTS.writesPerSecond),
  redis: values.redis ?? false,
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${format(summary)}\n`);
const out = values.out ?? (values.redis ? 'bench/results/soak-redis.json' : 'bench/results/soak.json');
await mkdir(dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...summary }, null, 2)}\n`);
process.exitCode = summary.passed ? 0 : 1;

function format(s: SoakSummary): string {
  const faults = Object.entries(s.operations.faults)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  const actions = Object.entries(s.operations.clientActions)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  const restarts = s.restarts.map(
    (r) =>
      `${r.kind === 'edge-crash' ? 'an edge killed' : r.kind} at ${r.atSecond} s: ${r.sameEpoch ? 'same' : 'new'} epoch, clients back in ${r.resyncMs?.max ?? '?'} ms (median ${r.resyncMs?.median ?? '?'}), ${r.snapshots} snapshots${r.problem ? `, PROBLEM ${r.problem}` : ''}`,
  );
  return [
    `soak ${s.passed ? 'PASSED' : 'FAILED'}: ${s.minutes} min (${s.wallSeconds} s wall)${s.edges > 0 ? `, through Redis with ${s.edges} edges` : ''}, seed ${s.seed}, ${s.symbols} symbols in ${Object.values(s.files).reduce((a, b) => a + b, 0)} files (${Object.entries(
      s.files,
    )
      .map(([f, n]) => `${f} ${n}`)
      .join(', ')})`,
    `  operations: ${s.operations.writes} writes, ${Object.values(s.operations.faults).reduce((a, b) => a + b, 0)} faults injected (${faults}), ${s.operations.repairs} repairs, ${s.operations.checkpoints} checkpoints`,
    `  client actions: ${actions}`,
    `  delivered: ${s.delivered.clients} clients took ${s.delivered.patches} patches and ${s.delivered.snapshots} snapshots (${s.delivered.duplicates} repeats of a patch already applied)`,
    `  divergences: ${s.divergences.count} (clients vs ${s.edges > 0 ? 'edges' : 'bridge'} ${s.divergences.clientsVsBridge}${s.edges > 0 ? `, edges vs ingest ${s.divergences.edgesVsBridge}` : ''}, bridge vs files ${s.divergences.bridgeVsFiles})`,
    ...s.divergences.details.slice(0, 10).map((d) => `    checkpoint ${d.checkpoint}, ${d.what}, ${d.symbol}: ${d.detail}`),
    `  violations (unannounced gaps, patches that do not apply): ${s.violations.count}`,
    ...s.violations.details.slice(0, 10).map((v) => `    ${v}`),
    `  restarts: ${restarts.join('; ')}`,
    `  memory: RSS ${s.rss.firstMb} → ${s.rss.lastMb} MB (max ${s.rss.maxMb}), slope over the second half ${s.rss.slopeMbPerMin ?? 'n/a'} MB/min (flat: ≤ ${s.rss.limitMbPerMin}) ${s.rss.flat === null ? '(run too short to judge)' : s.rss.flat ? 'flat' : 'NOT FLAT'}; every 30 s: ${s.rss.timeline.join(' ')} MB; journals at the end: ${s.rss.journal?.entries ?? '?'} patches, ${s.rss.journal?.mb ?? '?'} MB`,
    `  unhandled errors: ${s.errors.count} (error lines ${s.errors.errorLines.length}, stderr ${s.errors.stderr.length}, crashes ${s.errors.crashes.length}, fresh parse ${s.errors.freshParse.length})`,
    ...[...s.errors.errorLines.map((line) => JSON.stringify(line)), ...s.errors.stderr, ...s.errors.crashes]
      .slice(0, 10)
      .map((line) => `    ${line.slice(0, 300)}`),
    `  bad input the bridge reported (warnings): ${s.warnings.total}`,
  ].join('\n');
}
