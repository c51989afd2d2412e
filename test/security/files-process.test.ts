import { execFileSync } from 'node:child_process';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BridgeProcess } from '../soak/bridge-process.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/ports.js';

const running: BridgeProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((bridge) => bridge.stop('SIGTERM')));
});

const status = async (url: string): Promise<number> => (await fetch(url)).status;

describe('hostile files and folders, against the real process', () => {
  it('skips FIFOs and links out of the folder, keeps reading, stays HEALTHY, and finds the folder again after it is re-created', async () => {
    const root = await tempDir();
    const dir = join(root, 'exports');
    const outside = join(root, 'outside');
    await mkdir(dir);
    await mkdir(outside);
    const fifos = ['A.json', 'B.json', 'C.json', 'D.json', 'E.json'];
    for (const name of fifos) execFileSync('mkfifo', [join(dir, name)]);
    await writeFile(join(outside, 'SECRET.json'), '{"bid": 666}');
    await symlink(join(outside, 'SECRET.json'), join(dir, 'SECRET.json'));
    await writeFile(join(dir, 'XAUUSD.json'), '{"bid": 1}');
    const port = await freePort();
    const configPath = join(root, 'bridge.json');
    await writeFile(configPath, JSON.stringify({ port, sources: [{ path: dir }], watch: { safetyPollMs: 200 }, log: { level: 'info' } }));
    const bridge = new BridgeProcess(configPath, port);
    running.push(bridge);
    await bridge.start();

    expect(await status(`${bridge.url}/v1/symbols/XAUUSD`)).toBe(200);
    await writeFile(join(dir, 'EURUSD.json'), '{"bid": 2}');
    await waitFor('a file written after start published', async () => (await status(`${bridge.url}/v1/symbols/EURUSD`)) === 200);
    expect(await status(`${bridge.url}/v1/symbols/SECRET`)).toBe(404);
    expect(bridge.warnings.get('file skipped: a named pipe (FIFO); not read')).toBe(fifos.length);
    expect([...bridge.warnings.keys()].filter((msg) => /^file skipped: a link to .*SECRET\.json, outside the watched folder/.test(msg))).toHaveLength(1);
    const health = (await (await fetch(`${bridge.url}/health`)).json()) as { components: Record<string, { status: string }> };
    expect(health.components[`source:${dir}`]?.status).toBe('HEALTHY');

    await rm(dir, { recursive: true });
    await mkdir(dir);
    await writeFile(join(dir, 'GBPUSD.json'), '{"bid": 3}');
    await waitFor('a file of the re-created folder published', async () => (await status(`${bridge.url}/v1/symbols/GBPUSD`)) === 200, 10_000);
    expect(bridge.trouble.errorLines).toEqual([]);
    expect(bridge.trouble.crashes).toEqual([]);
  });
});
