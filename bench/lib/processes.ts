/**
 * Child processes of a scenario: the bridge as users run it (`node dist/cli.js`), other
 * servers and client workers (TypeScript, through tsx), and what the kernel says about them
 * (CPU time and RSS from /proc), so that each process is measured from outside.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, sleep } from './report.js';

let built = false;

/**
 * Builds dist/ (incrementally) once per process, unless the caller already did
 * (BENCH_DIST_BUILT=1, set by `npm run bench` and the smoke test).
 */
export function ensureBuilt(): void {
  if (built || process.env.BENCH_DIST_BUILT === '1') return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  built = true;
}

const CLK_TCK = 100;

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident set size in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

export interface BridgeProcess {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** GET a JSON route of the bridge. */
  json<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

/**
 * The bridge in its own process, with `config` as its config file (over the defaults).
 * Resolves once it listens; its log goes to stderr at the level given (warn by default).
 */
export async function startBridgeProcess(config: Record<string, unknown>, nodeArgs: string[] = []): Promise<BridgeProcess> {
  ensureBuilt();
  const dir = await mkdtemp(join(tmpdir(), 'tapebridge-bench-config-'));
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ port: 0, log: { level: 'warn' }, ...config }));
  const child = spawn(process.execPath, [...profileArgs(), ...nodeArgs, 'dist/cli.js', '--config', file, '--log-level', 'info'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: bridgeEnv(),
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const line = out.split('\n').find((text) => text.includes('"msg":"listening"'));
      if (line) {
        child.stdout.off('data', onData);
        // Keep draining the log so that the bridge never blocks on a full pipe.
        child.stdout.resume();
        resolve((JSON.parse(line) as { url: string }).url);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`bridge exited with ${code} before listening:\n${out}`)));
  });
  return {
    url,
    pid: child.pid as number,
    child,
    json: async <T>(path: string): Promise<T> => {
      const response = await fetch(`${url}${path}`);
      return (await response.json()) as T;
    },
    stop: async () => {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once the server at `url` lists `count` symbols (an ingest has read each file once, an edge has mirrored them). */
export async function waitForSymbols(url: string, count: number, withinMs = 30_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const { symbols: listed } = (await (await fetch(`${url}/v1/symbols`)).json()) as { symbols: unknown[] };
    if (listed.length >= count) return;
    await sleep(50);
  }
  throw new Error(`${url} did not list ${count} symbols within ${withinMs / 1000} s`);
}

/** This environment without what would change the bridge's config (NODE_ENV, TAPEBRIDGE_*). */
function bridgeEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_ENV' && !name.startsWith('TAPEBRIDGE_')));
}

/**
 * `--cpu-prof` into $BENCH_CPU_PROF for the servers a scenario measures (not its clients),
 * when that variable names a folder: `BENCH_CPU_PROF=/tmp/prof npx tsx bench/fanout.ts`.
 */
export function profileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return [...(dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : []), ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
}

/** A TypeScript module of bench/ in its own Node process (through tsx), with an IPC channel. */
export function forkTs(module: string, args: string[] = [], nodeArgs: string[] = []): ChildProcess {
  return fork(join(ROOT, module), args, {
    cwd: ROOT,
    execArgv: ['--import', 'tsx', ...nodeArgs],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
