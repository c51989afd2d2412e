import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { writeJsonSnapshot } from '../src/sim/json-writer.js';
import { getJson, WsClient } from './helpers/clients.js';
import { tempDir } from './helpers/temp.js';
import { waitFor } from './helpers/wait.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** The URL from the bridge's `listening` log line. */
async function listeningUrl(process: Run): Promise<string> {
  return waitFor(
    'the listening log line',
    () => {
      const line = process.stdout().split('\n').find((text) => text.includes('"msg":"listening"'));
      return line ? (JSON.parse(line) as { url: string }).url : undefined;
    },
    15_000,
  );
}

describe('tapebridge command line', () => {
  it('prints usage with --help and exits 0', async () => {
    const help = run(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toMatch(/tapebridge --watch DIR \[--watch DIR \.\.\.\] \[--port N\] \[--host H\] \[--config FILE\]/);
  });

  it('rejects an unknown option with exit 2 and the usage', async () => {
    const bad = run(['--wach', '/tmp']);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toMatch(/Unknown option '--wach'/);
    expect(bad.stderr()).toMatch(/Usage:/);
  });

  it('rejects a bad port and a bad config file before opening anything, naming the key', async () => {
    const port = run(['--watch', '/tmp', '--port', 'eighty']);
    expect(await port.exited).toBe(1);
    expect(port.stderr()).toMatch(/port: "eighty" is not allowed/);

    const dir = await tempDir();
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ watch: { debounceMs: 2, debounce: 5 } }));
    const bad = run(['--config', config, '--watch', dir]);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toMatch(/watch\.debounce: 5 is not allowed \(unknown key\)/);
  });

  it('watches the given folder, serves it, and shuts down on SIGTERM, closing clients with 1001', async () => {
    const dir = await tempDir();
    await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: 2650.1, ask: 2650.4 }, 'rewrite');
    const bridge = run(['--watch', dir, '--port', '0', '--log-level', 'info']);
    const url = await listeningUrl(bridge);
    const snapshot = await waitFor('the symbol', async () => {
      const response = await getJson<{ data?: { quote: unknown } }>(`${url}/v1/symbols/XAUUSD`);
      return response.status === 200 ? response.body : undefined;
    });
    expect(snapshot.data?.quote).toEqual({ bid: 2650.1, ask: 2650.4 });
    const client = await WsClient.connect(url);
    const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
    bridge.child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    expect(await bridge.exited).toBe(0);
  });

  it('runs the built-in demo when no folder is given: live symbols from the simulator', async () => {
    const demo = run(['--port', '0']);
    const url = await listeningUrl(demo);
    const symbols = await waitFor('five symbols', async () => {
      const { body } = await getJson<{ symbols: { symbol: string; seq: number }[] }>(`${url}/v1/symbols`);
      return body.symbols.length === 5 ? body.symbols : undefined;
    });
    expect(symbols.map((entry) => entry.symbol).sort()).toEqual(['ESZ25_FUT_CME', 'EURUSD', 'GBPUSD', 'NQZ25_FUT_CME', 'XAUUSD']);
    const before = symbols.find((entry) => entry.symbol === 'ESZ25_FUT_CME')?.seq ?? 0;
    await waitFor('a live update', async () => {
      const { body } = await getJson<{ seq: number }>(`${url}/v1/symbols/ESZ25_FUT_CME`);
      return body.seq > before;
    });
    expect(demo.stderr()).toMatch(/tapebridge demo: a simulator writes/);
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
  });
});
