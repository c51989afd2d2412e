import { afterEach, describe, expect, it } from 'vitest';
import { startTestBridge } from '../helpers/bridge.js';
import { TestProxy } from '../helpers/proxy.js';
import { ClientRecorder, closeClients, expectConverged, FAST_BRIDGE, testClient } from '../helpers/sdk.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { sleep, waitFor } from '../helpers/wait.js';

afterEach(closeClients);

const symbols = TerminalFiles.symbols;

describe('the client SDK across broken connections', () => {
  for (const kind of ['ws', 'sse', 'poll'] as const) {
    it(`over ${kind}: a connection cut mid-stream, again and again, loses nothing and repeats nothing`, async () => {
      const dir = await tempDir();
      const files = new TerminalFiles(dir);
      await files.create();
      const bridge = await startTestBridge([dir], FAST_BRIDGE);
      const proxy = await TestProxy.start(bridge.url);
      const client = testClient(proxy.url, { transports: [kind] });
      const recorder = new ClientRecorder(client);
      client.subscribe(['*']);
      await waitFor('the first snapshots', () => recorder.of('snapshot').length === 3);

      for (let cut = 1; cut <= 3; cut++) {
        for (let round = 0; round < 4; round++) {
          await files.step();
          await sleep(5);
        }
        proxy.dropConnections();
        // Written while the client is away: replayed on resume.
        await files.step();
        await waitFor(`reconnection ${cut}`, () => recorder.of('open').length === cut + 1);
      }
      await files.step();
      await expectConverged(client, bridge, symbols, `${kind} after three cuts`);
      expect(recorder.of('reconnecting').length).toBeGreaterThanOrEqual(3);
      expect(recorder.violations).toEqual([]);
      // Resumed each time: no document was replaced by a snapshot.
      expect(recorder.of('snapshot')).toHaveLength(3);
      expect(recorder.of('resync')).toEqual([]);
    });
  }

  it('resyncs every document after the bridge restarts with a new epoch, and goes on', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const first = await startTestBridge([dir], FAST_BRIDGE);
    const client = testClient(first.url);
    const recorder = new ClientRecorder(client);
    client.subscribe(['*']);
    await waitFor('the first snapshots', () => recorder.of('snapshot').length === 3);
    await files.step();
    await expectConverged(client, first, symbols, 'before the restart');

    await first.close();
    await waitFor('the client to notice', () => client.state === 'reconnecting');
    const before = Object.fromEntries(symbols.map((symbol) => [symbol, client.version(symbol)]));
    await files.step();
    const second = await startTestBridge([dir], { ...FAST_BRIDGE, port: first.port });
    expect(second.store.epoch).not.toBe(first.store.epoch);

    await waitFor('a resync of every symbol', () => recorder.of('resync').length === 3);
    for (const event of recorder.of('resync')) {
      expect(event).toEqual({
        symbol: event.symbol,
        reason: 'epoch',
        previous: before[event.symbol],
        current: { epoch: second.store.epoch, seq: event.current.seq },
      });
    }
    await waitFor('back on WebSocket', () => client.transport === 'ws', 10_000);
    await files.step();
    await expectConverged(client, second, symbols, 'after the restart');
    expect(client.epoch).toBe(second.store.epoch);
    expect(recorder.violations).toEqual([]);
  });

  it('replaces a connection that goes silent (no message, no pong) and resumes on a new one', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const bridge = await startTestBridge([dir], FAST_BRIDGE);
    const proxy = await TestProxy.start(bridge.url);
    const client = testClient(proxy.url);
    const recorder = new ClientRecorder(client);
    client.subscribe(['*']);
    await waitFor('the first snapshots', () => recorder.of('snapshot').length === 3);

    proxy.freezeConnections();
    await files.step();
    const reconnecting = await waitFor('the dead connection to be noticed', () => recorder.of('reconnecting')[0]);
    expect(reconnecting.reason).toMatch(/nothing received for 400 ms/);
    await waitFor('a new connection', () => recorder.of('open').length === 2);
    await files.step();
    await expectConverged(client, bridge, symbols, 'after a silent connection');
    expect(recorder.of('snapshot')).toHaveLength(3);
    expect(recorder.violations).toEqual([]);
  });
});
