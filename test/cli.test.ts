import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { writeJsonSnapshot } from '../src/sim/json-writer.js';
import { ScidWriter, scidTickRecord } from '../src/sim/scid-writer.js';
import { getJson, SseClient, WsClient } from './helpers/clients.js';
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

function run(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close' comes after the output is all read ('exit' may come before).
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** The URL from the bridge's `listening` log line. */
async function listeningUrl(process: Run): Promise<string> {
  return waitFor(
    'the listening log line',
    () => {
      const line = process
        .stdout()
        .split('\n')
        .find((text) => text.includes('"msg":"listening"'));
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

  it('watches the given folder, serves it, and shuts down gracefully on SIGTERM: stops accepting, closes clients (1001), flushes its logs, exits 0', async () => {
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
    const sse = await SseClient.connect(url, 'symbols=*');
    await waitFor('the SSE snapshot', () => sse.mirror.snapshots === 1);
    bridge.child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    await waitFor('the SSE stream to end', () => sse.ended);
    expect(await bridge.exited).toBe(0);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
    const lines = bridge
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; boundMs?: number });
    expect(lines.find((line) => line.msg === 'shutting down')?.boundMs).toBe(5000);
    expect(lines.at(-1)?.msg).toBe('closed');
  });

  it('--state-dir keeps the state there: a restart after SIGTERM keeps the epoch and goes on from the checkpoint', async () => {
    const dir = await tempDir();
    const state = await tempDir();
    await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: 2650.1, ask: 2650.4 }, 'rewrite');
    const epochOf = async (url: string): Promise<string | undefined> =>
      waitFor('the symbol', async () => (await getJson<{ symbols: { epoch: string }[] }>(`${url}/v1/symbols`)).body.symbols[0]?.epoch);
    const first = run(['--watch', dir, '--port', '0', '--state-dir', state]);
    const epoch = await epochOf(await listeningUrl(first));
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect((await readdir(state)).sort()).toEqual(['0.json', 'checkpoint.json', 'manifest.json']);
    const second = run(['--watch', dir, '--port', '0', '--state-dir', state]);
    expect(await epochOf(await listeningUrl(second))).toBe(epoch);
  });

  it('--log-format pretty writes lines for a person (time, level, component, message), json and a pipe write JSON, and a bad format exits 1 in one line', async () => {
    const dir = await tempDir();
    await new ScidWriter(join(dir, 'ESZ25_FUT_CME.scid')).create([scidTickRecord({ time: Date.now() - 1000, bid: 6000, ask: 6000.25, last: 6000, size: 1 })]);
    const pretty = run(['--watch', dir, '--port', '0', '--log-format', 'pretty']);
    await waitFor('the listening line', () => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: listening$/m.test(pretty.stdout()), 15_000);
    expect(pretty.stdout()).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: http: Server listening at http:\/\/127\.0\.0\.1:\d+$/m);
    expect(pretty.stdout()).not.toContain('{"level"');
    pretty.child.kill('SIGTERM');
    expect(await pretty.exited).toBe(0);

    // Not a terminal (a pipe): JSON, as with --log-format json.
    const piped = run(['--watch', dir, '--port', '0']);
    await listeningUrl(piped);
    piped.child.kill('SIGTERM');
    expect(await piped.exited).toBe(0);

    const bad = run(['--watch', dir, '--port', '0', '--log-format', 'yaml']);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr().trim().split('\n')).toHaveLength(1);
    expect(bad.stderr()).toContain('log.format');
  });

  it('reads config/default.json and config/$NODE_ENV.json from --config-dir, TAPEBRIDGE_* variables over them', async () => {
    const dir = await tempDir();
    const configDir = await tempDir();
    await writeFile(join(configDir, 'default.json'), JSON.stringify({ journal: { size: 3 }, stream: { heartbeatMs: 999 }, sources: [{ path: dir }] }));
    await writeFile(join(configDir, 'staging.json'), JSON.stringify({ stream: { heartbeatMs: 1234 } }));
    const bridge = run(['--config-dir', configDir, '--port', '0'], { NODE_ENV: 'staging', TAPEBRIDGE_JOURNAL__SIZE: '7', TAPEBRIDGE_LOG__LEVEL: 'info' });
    const url = await listeningUrl(bridge);
    const { body } = await getJson<{ config: { journal: { size: number }; stream: { heartbeatMs: number }; sources: { path: string }[] } }>(`${url}/v1/config`);
    expect(body.config.journal.size).toBe(7);
    expect(body.config.stream.heartbeatMs).toBe(1234);
    expect(body.config.sources.map((source) => source.path)).toEqual([dir]);
    bridge.child.kill('SIGINT');
    expect(await bridge.exited).toBe(0);
  });

  it('exits 1 before opening anything when a TAPEBRIDGE_ variable names no key or holds a bad value', async () => {
    const unknown = run(['--watch', '/tmp'], { TAPEBRIDGE_WATCH__DEBOUNCE: '5' });
    const bad = run(['--watch', '/tmp'], { TAPEBRIDGE_STREAM__SLOW_CONSUMER: 'ignore' });
    expect(await Promise.all([unknown.exited, bad.exited])).toEqual([1, 1]);
    expect(unknown.stderr()).toMatch(/TAPEBRIDGE_WATCH__DEBOUNCE: no key "DEBOUNCE" in watch; known: debounceMs/);
    expect(bad.stderr()).toMatch(/stream\.slowConsumer: "ignore" is not allowed \(expected "resnapshot" or "close"/);
    expect(bad.stdout()).toBe('');
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

  it('scan DIR --json prints each file as PROTOCOL.md §7 gives it, with a rename from --config, and exits 0; 1 for an unreadable file', async () => {
    const dir = await tempDir();
    await new ScidWriter(join(dir, 'ESZ25_FUT_CME.scid')).create([
      scidTickRecord({ time: Date.UTC(2026, 0, 5, 14), bid: 6000, ask: 6000.25, last: 6000.25, size: 2 }),
    ]);
    await writeFile(join(dir, 'notes.md'), 'not data\n');
    const config = join(await tempDir(), 'scan.json');
    await writeFile(config, JSON.stringify({ sources: [{ path: dir, symbols: { rename: [{ pattern: '_FUT_CME$', replace: '' }] } }] }));

    const ok = run(['scan', dir, '--config', config, '--json']);
    expect(await ok.exited, ok.stderr()).toBe(0);
    const report = JSON.parse(ok.stdout()) as { files: Record<string, unknown>[] };
    expect(report.files).toEqual([
      expect.objectContaining({
        path: 'ESZ25_FUT_CME.scid',
        format: 'sierra-scid',
        symbol: 'ESZ25',
        timeframe: null,
        records: 1,
        first: Date.UTC(2026, 0, 5, 14),
        last: Date.UTC(2026, 0, 5, 14),
        warnings: [],
      }),
      expect.objectContaining({
        path: 'notes.md',
        format: null,
        symbol: null,
        records: 0,
        first: null,
        last: null,
        warnings: [expect.stringMatching(/^unknown file/)],
      }),
    ]);

    await writeFile(join(dir, 'BAD.scid'), Buffer.alloc(120, 7));
    const bad = run(['scan', dir]);
    expect(await bad.exited).toBe(1);
    expect(bad.stdout()).toMatch(/^ {2}BAD\.scid +sierra-scid \(unreadable\)/m);
    expect(bad.stdout()).toMatch(/^ {6}error: /m);
    expect(bad.stdout()).toMatch(/3 files: 1 read, 1 not read, 1 cannot be read/);
  });
});
