import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { writeJsonSnapshot } from '../../src/sim/json-writer.js';
import { startTestBridge } from '../helpers/bridge.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const stops: (() => void)[] = [];

afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

describe('examples/follow.mjs', () => {
  it('imports tapebridge/client from the package and prints every version of the followed symbol', async () => {
    const dir = await tempDir();
    const path = join(dir, 'XAUUSD.json');
    await writeJsonSnapshot(path, { bid: 2650.1, ask: 2650.4 }, 'rewrite');
    const bridge = await startTestBridge([dir]);
    const child = spawn(process.execPath, ['examples/follow.mjs', bridge.url, 'XAUUSD'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    stops.push(() => child.exitCode === null && child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    await waitFor('the snapshot line', () => stdout.includes('XAUUSD #1 bid 2650.1 ask 2650.4 last -'), 10_000);
    expect(stderr).toContain(`connected over ws (epoch ${bridge.store.epoch})`);
    await writeJsonSnapshot(path, { bid: 2650.2, ask: 2650.5, last: 2650.3 }, 'rename');
    await waitFor('the patch line', () => stdout.includes('XAUUSD #2 bid 2650.2 ask 2650.5 last 2650.3'));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
