import { describe, expect, it } from 'vitest';
import { startTestBridge } from '../helpers/bridge.js';
import { TestProxy } from '../helpers/proxy.js';
import { ClientRecorder, FAST_BRIDGE, testClient } from '../helpers/sdk.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { sleep, waitFor } from '../helpers/wait.js';

/** Sockets and timers a leaked connection, liveness check or retry would leave behind. */
function openHandles(): string[] {
  const kinds = new Set(['TCPSocketWrap', 'Timeout']);
  return process
    .getActiveResourcesInfo()
    .filter((kind) => kinds.has(kind))
    .sort();
}

describe('client lifecycle', () => {
  it('close() releases every socket and timer, on every transport and while reconnecting; nothing is emitted after close', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const bridge = await startTestBridge([dir], FAST_BRIDGE);
    const proxy = await TestProxy.start(bridge.url);
    await sleep(50);
    const baseline = openHandles();

    for (const kind of ['ws', 'sse', 'poll'] as const) {
      // Long liveness bounds: a leaked liveness timer would not stop by itself within the test.
      const client = testClient(bridge.url, { transports: [kind], pingIntervalMs: 20_000, livenessTimeoutMs: 60_000 });
      const recorder = new ClientRecorder(client);
      client.subscribe(['*']);
      await waitFor(`${kind}: snapshots`, () => recorder.of('snapshot').length === 3);
      await client.close();
      await client.close();
      expect(client.state).toBe('closed');
      expect(recorder.events.at(-1)?.name).toBe('close');
      const count = recorder.events.length;
      await files.step();
      await sleep(50);
      expect(recorder.events.length, `${kind}: nothing after close`).toBe(count);
      await waitFor(`${kind}: the bridge to see it gone`, () => bridge.hub.clients().ws + bridge.hub.clients().sse === 0);
    }

    // Closed in the middle of reconnecting to a port nobody listens on any more.
    const gone = proxy.url;
    await proxy.close();
    const retrying = testClient(gone);
    await waitFor('a few attempts', () => retrying.state === 'reconnecting');
    await retrying.close();

    // fetch keeps idle keep-alive sockets for a few seconds: allow for them to go.
    await waitFor(
      'handles to be released',
      () => JSON.stringify(openHandles().filter((kind) => kind !== 'TCPSocketWrap')) === JSON.stringify(baseline.filter((kind) => kind !== 'TCPSocketWrap')),
      3000,
    );
    expect(openHandles().filter((kind) => kind === 'Timeout')).toEqual(baseline.filter((kind) => kind === 'Timeout'));
  });
});
