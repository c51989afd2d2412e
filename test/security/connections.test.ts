import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';
import { CliProcess, getRequest, parseAnswer, rawExchange, upgradeRequest } from './cli-process.js';

const TOKEN = 'a-token-of-sixteen-or-more';
const running: CliProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((bridge) => bridge.stop()));
});

async function start(options: Parameters<typeof CliProcess.start>[0] = {}): Promise<{ bridge: CliProcess; dir: string }> {
  const dir = await tempDir();
  await new TerminalFiles(dir).create();
  const bridge = await CliProcess.start({ ...options, args: ['--watch', dir, ...(options.args ?? [])] });
  running.push(bridge);
  return { bridge, dir };
}

/** Connects, sends `request`, and resets the connection (RST) at once or at the first byte of the answer. */
function sendThenReset(port: number, request: string, when: 'at-once' | 'on-answer'): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const reset = (): void => {
      socket.resetAndDestroy();
      resolve();
    };
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.on('connect', () => {
      socket.write(request);
      if (when === 'at-once') setImmediate(reset);
      else socket.once('data', reset);
    });
  });
}

describe('connections reset by the client (RST) while the bridge answers', () => {
  it('hundreds of upgrade-then-RST and request-then-RST on every route: the process never exits and still serves', async () => {
    const { bridge } = await start();
    const epoch = ((await (await fetch(`${bridge.url}/health`)).json()) as { epoch: string }).epoch;
    const requests = [
      upgradeRequest('/elsewhere'), // 404 to the upgrade
      upgradeRequest('/v1/ws', { origin: 'http://evil.example' }), // 403 to the upgrade
      upgradeRequest('/v1/ws', { host: 'evil.example' }), // 403: Host
      upgradeRequest('/v1/ws'), // accepted, hello
      getRequest('/v1/sse?symbols=*'),
      getRequest('/v1/dashboard/sse'),
      getRequest('/v1/symbols/ESZ25_FUT_CME'),
      getRequest(`/v1/symbols/ESZ25_FUT_CME/patches?epoch=${epoch}&since=999999&waitMs=0`),
      getRequest(`/v1/symbols/EURUSD/patches?epoch=${epoch}&since=0&waitMs=5000`),
      getRequest('/v1/symbols/ESZ25_FUT_CME/bars?tf=M1'),
      getRequest('/health'),
      getRequest('/metrics'),
      getRequest('/v1/config'),
      getRequest('/'),
      getRequest('/nowhere'),
      getRequest('/v1/symbols/X/patches?epoch=a&since=Infinity'),
      'GARBAGE \x00\x01 not http\r\n\r\n',
    ];
    let sent = 0;
    for (let round = 0; round < 16; round++) {
      await Promise.all(requests.flatMap((request) => [sendThenReset(bridge.port, request, 'at-once'), sendThenReset(bridge.port, request, 'on-answer')]));
      sent += requests.length * 2;
    }
    expect(sent).toBeGreaterThanOrEqual(500);

    // Still there, still serving: HTTP, WebSocket, and nothing reached the last line of defence.
    const health = await fetch(`${bridge.url}/health`);
    expect(health.status).toBe(200);
    const ws = await WsClient.connect(bridge.url);
    expect(ws.hello?.type).toBe('hello');
    await ws.close();
    expect(bridge.exit).toBeNull();
    expect(bridge.event('unexpected_error')).toEqual([]);
    expect(((await health.json()) as { components: Record<string, { status: string }> }).components.process).toEqual({
      status: 'HEALTHY',
      unexpectedErrors: 0,
    });
  });

  it('the last line of defence: an uncaught exception and an unhandled rejection are logged, counted and shown DEGRADED; the process serves on', async () => {
    const dir = await tempDir();
    const preload = join(dir, 'fault.mjs');
    // Injected by the test only: on SIGUSR2 the process throws from a timer and rejects a promise nobody handles.
    await writeFile(
      preload,
      `process.on('SIGUSR2', () => { setImmediate(() => { throw new Error('injected fault'); }); void Promise.reject(new Error('injected rejection')); });\n`,
    );
    const { bridge } = await start({ nodeArgs: ['--import', preload] });
    bridge.signal('SIGUSR2');
    await waitFor('both faults logged', () => bridge.event('unexpected_error').length === 2);
    expect(
      bridge
        .event('unexpected_error')
        .map((line) => [line.level, line.kind])
        .sort(),
    ).toEqual([
      [50, 'uncaughtException'],
      [50, 'unhandledRejection'],
    ]);
    const health = (await (await fetch(`${bridge.url}/health`)).json()) as { status: string; components: Record<string, Record<string, unknown>> };
    expect(health.status).toBe('DEGRADED');
    expect(health.components.process).toMatchObject({ status: 'DEGRADED', unexpectedErrors: 2 });
    expect((health.components.process?.lastUnexpectedError as { message: string }).message).toMatch(/^Error: injected (fault|rejection)$/);
    expect(await (await fetch(`${bridge.url}/metrics`)).text()).toMatch(/^tapebridge_unexpected_errors_total 2$/m);
    expect((await fetch(`${bridge.url}/v1/symbols/ESZ25_FUT_CME`)).status).toBe(200);
    expect(bridge.exit).toBeNull();
  });
});

describe('the Host header (DNS rebinding)', () => {
  it('bound to loopback: the bound address, localhost and configured names are served; another name gets 403 on HTTP and on the upgrade', async () => {
    const { bridge } = await start({ config: { http: { allowedHosts: ['bridge.lan'] } } });
    const port = bridge.port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'bridge.lan', `BRIDGE.lan.:${port}`]) {
      expect([host, parseAnswer(await rawExchange(port, getRequest('/v1/config', { host }))).status]).toEqual([host, 200]);
    }
    for (const path of ['/v1/config', '/v1/symbols', '/v1/sse?symbols=*', '/health', '/']) {
      const answer = parseAnswer(await rawExchange(port, getRequest(path, { host: `rebound.evil.example:${port}` })));
      expect([path, answer.status, answer.body]).toEqual([
        path,
        403,
        { error: { code: 'FORBIDDEN', message: expect.stringMatching(/^host "rebound\.evil\.example:\d+" is not a name .* http\.allowedHosts$/) } },
      ]);
    }
    const upgrade = parseAnswer(await rawExchange(port, upgradeRequest('/v1/ws', { host: 'rebound.evil.example' })));
    expect([upgrade.status, (upgrade.body as { error: { code: string } }).error.code]).toEqual([403, 'FORBIDDEN']);
    expect(parseAnswer(await rawExchange(port, getRequest('/v1/config', { host: '10.1.2.3' }))).status).toBe(403);
  });

  it('bound to every interface: any IP literal and the configured names are served, other names are not', async () => {
    const { bridge } = await start({ args: ['--host', '0.0.0.0', '--insecure-no-auth'] });
    const port = Number(/:(\d+)$/.exec(bridge.url)?.[1]);
    expect(parseAnswer(await rawExchange(port, getRequest('/v1/symbols', { host: `192.0.2.7:${port}` }))).status).toBe(200);
    expect(parseAnswer(await rawExchange(port, getRequest('/v1/symbols', { host: `[2001:db8::1]:${port}` }))).status).toBe(200);
    expect(parseAnswer(await rawExchange(port, getRequest('/v1/symbols', { host: `rebound.evil.example:${port}` }))).status).toBe(403);
  });
});

describe('listening beyond loopback', () => {
  it('without tokens, the start is refused with one line saying what to do', async () => {
    const bridge = await CliProcess.spawn({ args: ['--host', '0.0.0.0'] });
    running.push(bridge);
    await bridge.exited();
    expect(bridge.exit?.code).toBe(1);
    expect(bridge.stderr).toEqual([expect.stringMatching(/^tapebridge: refusing to listen on 0\.0\.0\.0 without tokens: .*auth\.tokens.*--insecure-no-auth/)]);
    expect(bridge.line('listening')).toBeUndefined();
  });

  it('with --insecure-no-auth it starts and says so loudly; with tokens it starts quietly', async () => {
    const open = await start({ args: ['--host', '0.0.0.0', '--insecure-no-auth'] });
    expect(open.bridge.event('insecure_no_auth')).toEqual([expect.objectContaining({ level: 50, host: '0.0.0.0' })]);
    const guarded = await start({ args: ['--host', '0.0.0.0'], config: { auth: { tokens: [{ name: 'ops', token: TOKEN }] } } });
    expect(guarded.bridge.event('insecure_no_auth')).toEqual([]);
    expect(guarded.bridge.exit).toBeNull();
  });
});

describe('numeric query parameters', () => {
  it('Infinity, NaN, hex, exponents, huge, blank and repeated values get 400 on every numeric parameter', async () => {
    const { bridge } = await start();
    const epoch = ((await (await fetch(`${bridge.url}/health`)).json()) as { epoch: string }).epoch;
    const routes = [
      (value: string) => `/v1/symbols/EURUSD/patches?epoch=${epoch}&since=0&waitMs=${value}`,
      (value: string) => `/v1/symbols/EURUSD/patches?epoch=${epoch}&since=${value}`,
      (value: string) => `/v1/symbols/ESZ25_FUT_CME/bars?tf=M1&count=${value}`,
      (value: string) => `/v1/symbols/ESZ25_FUT_CME/indicators?tf=M5&name=rsi&period=${value}`,
    ];
    for (const route of routes) {
      for (const value of [
        'Infinity',
        '-Infinity',
        '%2BInfinity',
        'NaN',
        '0x10',
        '1e3',
        '1e309',
        '99999999999999999999',
        '%20',
        '1.5',
        '1&waitMs=1&since=1&count=1&period=1',
      ]) {
        const answer = await fetch(`${bridge.url}${route(value)}`);
        expect([route(value), answer.status, ((await answer.json()) as { error: { code: string } }).error.code]).toEqual([route(value), 400, 'BAD_REQUEST']);
      }
      expect((await fetch(`${bridge.url}${route('1')}`)).status).not.toBe(400);
    }
  });
});

describe('HTTP rate limits', () => {
  it('an unauthenticated flood exhausts only its address bucket: /health and a valid token still answer', async () => {
    const { bridge } = await start({ config: { http: { rateLimit: { max: 20, windowMs: 600_000 } }, auth: { tokens: [{ name: 'ops', token: TOKEN }] } } });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await fetch(`${bridge.url}/v1/symbols`)).status);
    expect(statuses.slice(0, 20).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(20).every((status) => status === 429)).toBe(true);
    // Wrong tokens draw from the same address bucket: guessing stays limited.
    expect((await fetch(`${bridge.url}/v1/symbols`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(429);
    expect((await fetch(`${bridge.url}/health`)).status).toBe(200);
    const valid = await fetch(`${bridge.url}/v1/symbols`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(valid.status).toBe(200);
    expect(valid.headers.get('x-ratelimit-remaining')).toBe('19');
  });
});
