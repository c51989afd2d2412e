import { describe, expect, it } from 'vitest';
import { startBridge } from '../../src/app/bridge.js';
import { resolveConfig } from '../../src/app/config.js';
import { LogCapture } from '../helpers/bridge.js';
import { getJson, SseClient, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { sleep, waitFor } from '../helpers/wait.js';

/** Handles that a leaked watcher, socket or timer would leave behind. */
function openHandles(): string[] {
  const kinds = new Set(['TCPServerWrap', 'TCPSocketWrap', 'Timeout', 'FSEventWrap', 'StatWatcher', 'FileHandle']);
  return process
    .getActiveResourcesInfo()
    .filter((kind) => kinds.has(kind))
    .sort();
}

/** Handles in `after` beyond those in `before`: a timer of an earlier test that ended meanwhile is no leak. */
function added(before: string[], after: string[]): string[] {
  const left = [...before];
  return after.filter((kind) => {
    const index = left.indexOf(kind);
    if (index >= 0) left.splice(index, 1);
    return index < 0;
  });
}

/**
 * The open handles once they stay the same over `windowMs`: a bridge just started may still
 * hold chokidar's directory-read throttle timer (up to 1 s).
 */
async function settledHandles(windowMs = 1100): Promise<string[]> {
  let previous = openHandles().join(' ');
  return waitFor('open handles to settle', async () => {
    await sleep(windowMs);
    const now = openHandles();
    const settled = now.join(' ') === previous;
    previous = now.join(' ');
    return settled ? now : undefined;
  });
}

describe('lifecycle', () => {
  it('close() releases every watcher, socket and timer, over repeated starts with clients attached', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const config = resolveConfig({ port: 0, sources: [{ path: dir }] });

    const cycle = async (): Promise<void> => {
      const bridge = await startBridge(config, { logger: new LogCapture('warn').logger });
      await bridge.ready;
      const ws = await WsClient.connect(bridge.url);
      ws.subscribe(['*']);
      const sse = await SseClient.connect(bridge.url, 'symbols=*');
      await waitFor('snapshots', () => ws.mirror.snapshots === 3 && sse.mirror.snapshots === 3);
      const seq = bridge.store.get('XAUUSD')?.seq as number;
      const poll = getJson(`${bridge.url}/v1/symbols/XAUUSD/patches?epoch=${bridge.store.epoch}&since=${seq}&waitMs=20000`);
      await files.step();
      await waitFor('patches', () => ws.mirror.patches > 0);
      const wsClosed = new Promise<number>((resolve) => ws.socket.once('close', (code) => resolve(code)));
      await bridge.close();
      await bridge.close();
      expect(await wsClosed).toBe(1001);
      expect((await poll).status).toBe(200);
      await waitFor('the SSE stream to end', () => sse.ended);
    };

    await cycle();
    await sleep(100);
    const baseline = openHandles();
    for (let i = 0; i < 3; i++) await cycle();
    await waitFor('handles to be released', () => JSON.stringify(openHandles()) === JSON.stringify(baseline), 3000);
    expect(openHandles()).toEqual(baseline);
  });

  it('fails to start on a port in use, and leaves nothing open', async () => {
    const dir = await tempDir();
    const first = await startBridge(resolveConfig({ port: 0, sources: [{ path: dir }] }), { logger: new LogCapture('warn').logger });
    await first.ready;
    const before = await settledHandles();
    await expect(startBridge(resolveConfig({ port: first.port, sources: [{ path: dir }] }), { logger: new LogCapture('warn').logger })).rejects.toThrow(
      /EADDRINUSE/,
    );
    await waitFor('handles to be released', () => added(before, openHandles()).length === 0, 3000).catch(() => undefined);
    expect(added(before, openHandles())).toEqual([]);
    await first.close();
  });
});
