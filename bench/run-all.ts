/**
 * Every scenario, one after the other, each in its own process (`npm run bench`; `npm run
 * bench:smoke` for the quick versions). Each writes bench/results/<name>.json (quick runs:
 * <name>.quick.json); at the end the targets are printed as a Markdown table.
 *
 *   npx tsx bench/run-all.ts [--quick] [--only latency,fanout] [--out DIR]
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBuilt } from './lib/processes.js';
import { ROOT, SCENARIOS, type TargetCheck } from './lib/report.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' } } });
const out = values.out ?? join(ROOT, 'bench', 'results');
const chosen = values.only ? values.only.split(',') : [...SCENARIOS];
const unknown = chosen.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; there are ${SCENARIOS.join(', ')}`);

ensureBuilt();
const rows: string[] = [];
let failed = 0;
for (const name of chosen) {
  process.stderr.write(`\n== ${name}\n`);
  const started = Date.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join('bench', `${name}.ts`), ...(values.quick ? ['--quick'] : []), '--out', out], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, BENCH_DIST_BUILT: '1' },
    });
    child.once('exit', resolve);
  });
  process.stderr.write(`== ${name}: exit ${code} after ${Math.round((Date.now() - started) / 1000)} s\n`);
  if (code !== 0) {
    failed++;
    continue;
  }
  const result = JSON.parse(await readFile(join(out, `${name}${values.quick ? '.quick' : ''}.json`), 'utf8')) as { targets: TargetCheck[]; load: { before: number[] } };
  for (const target of result.targets) rows.push(`| ${name} | ${target.what} | ${target.target} | ${target.measured} | ${target.met ? 'met' : 'not met'} |`);
}
process.stdout.write(`\n| scenario | what | target | measured | |\n|---|---|---|---|---|\n${rows.join('\n')}\n`);
if (failed > 0) process.exitCode = 1;
