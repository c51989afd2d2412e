import { afterEach, describe, expect, it } from 'vitest';
import { startTestBridge } from '../helpers/bridge.js';
import { TestProxy } from '../helpers/proxy.js';
import { ClientRecorder, closeClients, expectConverged, FAST_BRIDGE, testClient } from '../helpers/sdk.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';

afterEach(closeClients);

const symbols = TerminalFiles.symbols;

async function bridgeBehindProxy() {
  const dir = await tempDir();
  const files = new TerminalFiles(dir);
  await files.create();
  const bridge = await startTestBridge([dir], FAST_BRIDGE);
  const proxy = await TestProxy.start(bridge.url);
  return { files, bridge, proxy };
}

describe('the client SDK behind a proxy that blocks WebSocket', () => {
  it('falls back to SSE, then to long polling when SSE is blocked too, and goes back to WebSocket once it works', async () => {
    const { files, bridge, proxy } = await bridgeBehindProxy();
    proxy.block.ws = true;
    proxy.block.sse = true;
    const client = testClient(proxy.url);
    const recorder = new ClientRecorder(client);
    client.subscribe(['*']);

    await waitFor('long polling', () => client.transport === 'poll');
    await files.step();
    await expectConverged(client, bridge, symbols, 'long polling');
    // Each transport failed `fallbackAfter` (2) times before the next was tried.
    expect(recorder.of('reconnecting').map((event) => event.transport)).toEqual(['ws', 'sse', 'sse', 'poll']);
    expect(proxy.requests.filter((request) => request.url.startsWith('/v1/sse'))).toHaveLength(2);
    expect(proxy.requests.some((request) => request.url.includes('/patches?') && request.url.includes('waitMs=1000'))).toBe(true);

    proxy.block.sse = false;
    proxy.block.ws = false;
    await waitFor('back on WebSocket', () => client.transport === 'ws');
    await files.step();
    await expectConverged(client, bridge, symbols, 'back on WebSocket');
    // The documents carried over: the WebSocket resumed them, no snapshot was needed.
    expect(recorder.of('snapshot')).toHaveLength(3);
    expect(recorder.of('open').map((event) => event.transport)).toEqual(['poll', 'ws']);
    expect(recorder.violations).toEqual([]);
  });

  it('uses SSE while only WebSocket is blocked, and probes WebSocket in the background with backoff', async () => {
    const { files, bridge, proxy } = await bridgeBehindProxy();
    proxy.block.ws = true;
    const client = testClient(proxy.url);
    const recorder = new ClientRecorder(client);
    client.subscribe(['ESZ25_FUT_CME', 'XAUUSD']);
    await waitFor('SSE', () => client.transport === 'sse');
    for (let i = 0; i < 3; i++) await files.step();
    await expectConverged(client, bridge, ['ESZ25_FUT_CME', 'XAUUSD'], 'SSE');
    await waitFor('a few refused probes', () => proxy.requests.filter((request) => request.upgrade).length >= 4);
    expect(client.transport).toBe('sse');
    expect(recorder.of('open').map((event) => event.transport)).toEqual(['sse']);
    expect(recorder.violations).toEqual([]);
  });

  it('sends the token as a Bearer header on the WebSocket upgrade, the SSE request and the polls', async () => {
    const { files, bridge, proxy } = await bridgeBehindProxy();
    let calls = 0;
    const client = testClient(proxy.url, { token: () => `secret-${++calls}` });
    client.subscribe(['XAUUSD']);
    await waitFor('WebSocket', () => client.transport === 'ws');
    const upgrade = proxy.requests.find((request) => request.upgrade);
    expect(upgrade?.headers.authorization).toBe('Bearer secret-1');
    expect(upgrade?.url).toBe('/v1/ws');

    proxy.block.ws = true;
    proxy.dropConnections();
    await waitFor('SSE', () => client.transport === 'sse');
    const sse = proxy.requests.find((request) => request.url.startsWith('/v1/sse'));
    expect(sse?.headers.authorization).toMatch(/^Bearer secret-\d+$/);
    expect(sse?.url).not.toMatch(/token=/);

    proxy.block.sse = true;
    proxy.dropConnections();
    await waitFor('long polling', () => client.transport === 'poll');
    await files.writeJson('rename');
    await expectConverged(client, bridge, ['XAUUSD'], 'polling with a token');
    const polls = proxy.requests.filter((request) => request.url.startsWith('/v1/symbols'));
    expect(polls.length).toBeGreaterThan(0);
    for (const poll of polls) expect(poll.headers.authorization).toMatch(/^Bearer secret-\d+$/);
  });
});
