/**
 * Every scenario, one after the other, each in its own process (`npm run bench`; `npm run
 * bench:smoke` for the quick versions). Each writes bench/results/<name>.json (quick runs:
 * <name>.quick.json); at the end the targets are printed as a Markdown table. A full run
 * first lets the machine's load settle before each scenario (up to 150 s).
 *
 *   npx tsx bench/run-all.ts [--quick] [--only latency,fanout] [--out DIR]
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBuilt } from './lib/processes.js';
import { load, ROOT, SCENARIOS, sleep, type TargetCheck } from './lib/report.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' } } });
const out = values.out ?? join(ROOT, 'bench', 'results');
const chosen = values.only ? values.only.split(',') : [...SCENARIOS];
const unknown = chosen.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; there are ${SCENARIOS.join(', ')}`);

/** A full run waits this long at most, before each scenario, for the machine's 1-minute load to fall to SETTLED_LOAD. */
const SETTLE_MS = 150_000;
const SETTLED_LOAD = 1.5;

/**
 * Waits for the load of the previous scenario (or of other work) to pass, so that each
 * scenario's recorded load says what else the machine was doing; gives up after SETTLE_MS.
 */
async function settle(): Promise<void> {
  const started = Date.now();
  while (load()[0] > SETTLED_LOAD && Date.now() - started < SETTLE_MS) await sleep(5000);
  process.stderr.write(`load average ${load().join(' ')} after ${Math.round((Date.now() - started) / 1000)} s of waiting\n`);
}

ensureBuilt();
const rows: string[] = [];
let failed = 0;
for (const name of chosen) {
  process.stderr.write(`\n== ${name}\n`);
  if (!values.quick) await settle();
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
  const result = JSON.parse(await readFile(join(out, `${name}${values.quick ? '.quick' : ''}.json`), 'utf8')) as {
    targets: TargetCheck[];
    load: { before: number[] };
  };
  for (const target of result.targets) rows.push(`| ${name} | ${target.what} | ${target.target} | ${target.measured} | ${target.met ? 'met' : 'not met'} |`);
}
process.stdout.write(`\n| scenario | what | target | measured | |\n|---|---|---|---|---|\n${rows.join('\n')}\n`);
if (failed > 0) process.exitCode = 1;
