import { createServer, Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startBridge } from '../../src/app/bridge.js';
import { resolveConfig } from '../../src/app/config.js';
import { connect } from '../../src/client/index.js';
import { LogCapture } from '../helpers/bridge.js';
import { WsClient } from '../helpers/clients.js';
import { ClientRecorder, FAST_CLIENT } from '../helpers/sdk.js';
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

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

async function terminalDir(): Promise<{ dir: string; files: TerminalFiles }> {
  const dir = await tempDir();
  const files = new TerminalFiles(dir);
  await files.create();
  return { dir, files };
}

const messages = (logs: LogCapture, msg: string): number => logs.lines.filter((line) => line.msg === msg).length;

describe('bridge lifecycle', () => {
  it('close() called twice at once and once more after shuts down once: the same promise, one save, one "closed"', async () => {
    const { dir } = await terminalDir();
    const persistDir = await tempDir();
    const logs = new LogCapture('info');
    const bridge = await startBridge(resolveConfig({ port: 0, sources: [{ path: dir }], journal: { persistDir } }), { logger: logs.logger });
    await bridge.ready;
    const ws = await WsClient.connect(bridge.url);
    ws.subscribe(['*']);
    await waitFor('snapshots', () => ws.mirror.snapshots === 3);
    const codes: number[] = [];
    ws.socket.on('close', (code) => codes.push(code));

    const first = bridge.close();
    const second = bridge.close();
    expect(second).toBe(first);
    await Promise.all([first, second]);
    const third = bridge.close();
    expect(third).toBe(first);
    await third;

    await waitFor('the WebSocket to close', () => codes.length > 0);
    expect(codes).toEqual([1001]);
    expect(messages(logs, 'state saved for the next start')).toBe(1);
    expect(messages(logs, 'closed')).toBe(1);
    expect(logs.find((line) => line.event === 'shutdown_step_failed')).toBeUndefined();
    expect(await accepts(bridge.port)).toBe(false);
  });

  it('a close step that fails is logged with its name and the steps after it still run: port released, nothing left open', async () => {
    const { dir } = await terminalDir();
    await sleep(50);
    const before = openHandles();
    const logs = new LogCapture('info');
    // An embedder's server closed twice: net answers the second close with ERR_SERVER_NOT_RUNNING.
    const feed = createServer();
    const bridge = await startBridge(resolveConfig({ port: 0, sources: [{ path: dir }] }), {
      logger: logs.logger,
      closeSteps: [{ name: 'embedder feed', close: () => new Promise<void>((resolve, reject) => feed.close((error) => (error ? reject(error) : resolve()))) }],
    });
    await bridge.ready;
    const ws = await WsClient.connect(bridge.url);
    ws.subscribe(['*']);
    await waitFor('snapshots', () => ws.mirror.snapshots === 3);
    const wsClosed = new Promise<number>((resolve) => ws.socket.once('close', (code) => resolve(code)));

    await expect(bridge.close()).resolves.toBeUndefined();

    const failure = logs.find((line) => line.event === 'shutdown_step_failed');
    expect(failure?.step).toBe('embedder feed');
    expect(JSON.stringify(failure?.err)).toContain('ERR_SERVER_NOT_RUNNING');
    expect(messages(logs, 'closed')).toBe(1);
    expect(await wsClosed).toBe(1001);
    expect(await accepts(bridge.port)).toBe(false);
    await waitFor('handles to be released', () => added(before, openHandles()).length === 0, 3000).catch(() => undefined);
    expect(added(before, openHandles())).toEqual([]);
  });

  it('await using closes a bridge and an SDK client at the end of their block, the client first', async () => {
    const { dir } = await terminalDir();
    const logs = new LogCapture('info');
    let port = 0;
    let recorder: ClientRecorder | undefined;
    let clientClosed: string | undefined;
    {
      await using bridge = await startBridge(resolveConfig({ port: 0, sources: [{ path: dir }] }), { logger: logs.logger });
      await bridge.ready;
      port = bridge.port;
      await using client = connect(bridge.url, { WebSocket, ...FAST_CLIENT });
      recorder = new ClientRecorder(client);
      client.subscribe(['*']);
      await waitFor('snapshots', () => recorder.of('snapshot').length === 3);
      client.on('close', () => {
        clientClosed = messages(logs, 'closed') === 0 ? 'before the bridge' : 'after the bridge';
      });
    }
    expect(recorder.client.state).toBe('closed');
    expect(recorder.events.at(-1)?.name).toBe('close');
    expect(clientClosed).toBe('before the bridge');
    expect(messages(logs, 'closed')).toBe(1);
    expect(await accepts(port)).toBe(false);
  });
});
