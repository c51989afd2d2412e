import { afterEach, describe, expect, it } from 'vitest';
import { startTestBridge } from '../helpers/bridge.js';
import { TestProxy } from '../helpers/proxy.js';
import { ClientRecorder, closeClients, expectConverged, FAST_BRIDGE, testClient } from '../helpers/sdk.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';

afterEach(closeClients);

async function bridgeWithFiles() {
  const dir = await tempDir();
  const files = new TerminalFiles(dir);
  await files.create();
  const bridge = await startTestBridge([dir], FAST_BRIDGE);
  return { files, bridge };
}

describe('the client SDK choosing its transport', () => {
  it('loads ws on demand when no WebSocket is given and there is no global one, and says so', async () => {
    expect((globalThis as { WebSocket?: unknown }).WebSocket).toBeUndefined(); // Node 20
    const { files, bridge } = await bridgeWithFiles();
    const lines: string[] = [];
    const client = testClient(bridge.url, { WebSocket: undefined, logger: { debug: (line) => lines.push(line) } });
    const recorder = new ClientRecorder(client);
    client.subscribe(['XAUUSD']);
    await waitFor('open', () => client.transport !== undefined);
    expect(client.transport).toBe('ws');
    const [open] = recorder.of('open');
    expect(open?.transport).toBe('ws');
    expect(open?.reason).toMatch(/ws package, loaded because there is no global WebSocket/);
    expect(lines).toEqual([`tapebridge client: open over ws (${open?.reason})`]);
    await files.step();
    await expectConverged(client, bridge, ['XAUUSD'], 'over the loaded ws');
  });

  it('names a WebSocket class given in the options', async () => {
    const { bridge } = await bridgeWithFiles();
    const client = testClient(bridge.url);
    const recorder = new ClientRecorder(client);
    client.subscribe(['XAUUSD']);
    await waitFor('open', () => recorder.of('open').length > 0);
    expect(recorder.of('open')[0]?.reason).toBe('WebSocket from options.WebSocket');
  });

  it('says why it fell back to SSE when WebSocket upgrades are refused', async () => {
    const { bridge } = await bridgeWithFiles();
    const proxy = await TestProxy.start(bridge.url);
    proxy.block.ws = true;
    const lines: string[] = [];
    const client = testClient(proxy.url, { logger: { debug: (line) => lines.push(line) } });
    const recorder = new ClientRecorder(client);
    client.subscribe(['XAUUSD']);
    await waitFor('SSE', () => client.transport === 'sse');
    const [open] = recorder.of('open');
    expect(open?.reason).toMatch(/^ws failed 2 times in a row \(WebSocket closed .*\) while the bridge answers HTTP$/);
    expect(lines).toEqual([`tapebridge client: open over sse (${open?.reason})`]);
  });
});
