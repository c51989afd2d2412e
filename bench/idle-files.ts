/**
 * Idle cost of many files: 10,000 small JSON files in a temp folder, the built bridge
 * (`node dist/cli.js`) watching it, process CPU (user + system, /proc) over 20 s of no
 * change, and how often /health changed status meanwhile. Linux only.
 * Run: npm run build && npx tsx bench/idle-files.ts [files] [seconds]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const files = Number(process.argv[2] ?? 10_000);
const seconds = Number(process.argv[3] ?? 20);
const dir = await mkdtemp(join(tmpdir(), 'tapebridge-idle-'));
const data = join(dir, 'data');
await import('node:fs/promises').then((fs) => fs.mkdir(data));
for (let i = 0; i < files; i += 500) {
  await Promise.all(Array.from({ length: Math.min(500, files - i) }, (_, k) => writeFile(join(data, `S${i + k}.json`), `{"bid": ${i + k}}`)));
}
const port = 20000 + Math.floor(Math.random() * 20000);
const configPath = join(dir, 'config.json');
await writeFile(configPath, JSON.stringify({ port, sources: [{ path: data }], watch: JSON.parse(process.env.IDLE_WATCH ?? '{}') as unknown, log: { level: 'warn' }, health: { intervalMs: 1000 } }));
const child = spawn(process.execPath, ['dist/cli.js', '--config', configPath, '--config-dir', '/nonexistent'], { stdio: ['ignore', 'pipe', 'inherit'] });
let healthChanges = 0;
await new Promise<void>((resolve) => {
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.includes('initial read done')) resolve();
    if (line.includes('"health') && line.includes('"to"')) healthChanges++;
  });
  setTimeout(resolve, 120_000);
});
const ticks = async (): Promise<number> => {
  const fields = (await readFile(`/proc/${child.pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
};
await new Promise((resolve) => setTimeout(resolve, 5000));
healthChanges = 0;
const before = await ticks();
const statuses = new Map<string, number>();
const started = Date.now();
while (Date.now() - started < seconds * 1000) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const status = await fetch(`http://127.0.0.1:${port}/health`)
    .then((r) => r.json() as Promise<{ status: string; components: Record<string, { status: string }> }>)
    .then((b) => [b.status, ...Object.entries(b.components).filter(([, c]) => c.status !== 'HEALTHY').map(([name]) => name.replace(/^source:.*/, 'source'))].join(' '), () => 'error');
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
}
const after = await ticks();
const core = (after - before) / 100 / seconds;
console.log(JSON.stringify({ files, seconds, cpuCores: Math.round(core * 1000) / 1000, healthSamples: Object.fromEntries(statuses), healthChangesLogged: healthChanges }));
child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
await rm(dir, { recursive: true, force: true });
