import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startTestBridge } from '../helpers/bridge.js';
import { getJson, refusedWs, SseClient, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { sleep, waitFor } from '../helpers/wait.js';

interface ErrorBody {
  error: { code: string; message: string };
}

/** A GET with headers fetch() would not let us set (Host). */
function statusOf(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

async function bridgeWith(overrides: Record<string, unknown>) {
  const dir = await tempDir();
  const files = new TerminalFiles(dir);
  await files.create();
  return startTestBridge([dir], overrides);
}

describe('limits', () => {
  it('refuse connections over stream.maxConnections: OVERLOADED with close 1013 (WebSocket) or 503 (SSE)', async () => {
    const bridge = await bridgeWith({ stream: { maxConnections: 2 } });
    const first = await WsClient.connect(bridge.url);
    const second = await SseClient.connect(bridge.url, 'symbols=*');
    const refused = await refusedWs(bridge.url);
    expect(refused).toEqual({ code: 1013, messages: [{ type: 'error', code: 'OVERLOADED', message: expect.stringMatching(/maximum of 2 connections/) }] });
    const sse = await SseClient.connect(bridge.url, 'symbols=*');
    await waitFor('the refusal body', () => sse.body.length > 0);
    expect([sse.status, (JSON.parse(sse.body) as ErrorBody).error.code]).toEqual([503, 'OVERLOADED']);
    const health = await getJson<{ components: { hub: { status: string } } }>(`${bridge.url}/health`);
    expect(health.body.components.hub.status).toBe('DEGRADED');

    await first.close();
    await waitFor('the slot to free', () => bridge.hub.connections === 1);
    const third = await WsClient.connect(bridge.url);
    expect(third.hello).toMatchObject({ type: 'hello', epoch: bridge.store.epoch });
    expect(bridge.hub.connections).toBe(2);
    second.close();
    await third.close();
  });

  it('refuse a subscribe past stream.maxSubscriptions (nothing subscribed) and an SSE stream naming too many', async () => {
    const bridge = await bridgeWith({ stream: { maxSubscriptions: 2 } });
    const client = await WsClient.connect(bridge.url);
    client.subscribe(['EURUSD', 'XAUUSD', 'ESZ25_FUT_CME']);
    await waitFor('the error', () => client.of('error')[0]);
    expect(client.of('error')[0]).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/3 subscriptions; at most 2 per connection \(nothing subscribed\)/),
    });
    client.subscribe(['EURUSD', 'XAUUSD']);
    await waitFor('two snapshots', () => client.mirror.snapshots === 2);
    client.subscribe(['XAUUSD']);
    client.subscribe(['*']);
    await waitFor('the second error', () => client.of('error').length === 2);
    expect(client.mirror.snapshots).toBe(3);
    await client.close();

    const sse = await SseClient.connect(bridge.url, 'symbols=A,B,C');
    await waitFor('the refusal body', () => sse.body.length > 0);
    expect([sse.status, (JSON.parse(sse.body) as ErrorBody).error.code]).toEqual([400, 'BAD_REQUEST']);
  });

  it('drop client frames above the rate with one RATE_LIMITED error, and close (4029) a client that keeps on', async () => {
    const bridge = await bridgeWith({ stream: { messagesPerSecond: 5, messageBurst: 5, rateLimitCloseAfter: 20 } });
    const client = await WsClient.connect(bridge.url);
    for (let id = 1; id <= 7; id++) client.send({ op: 'ping', id });
    await waitFor('five pongs and an error', () => client.of('pong').length === 5 && client.of('error').length === 1);
    expect(client.of('pong').map((pong) => pong.id)).toEqual([1, 2, 3, 4, 5]);
    expect(client.of('error')[0]).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/more than 5 frames per second/) });
    await sleep(450);
    client.send({ op: 'ping', id: 'later' });
    await waitFor('a pong once the rate fell', () => client.of('pong').some((pong) => pong.id === 'later'));

    const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
    for (let id = 0; id < 40; id++) client.send({ op: 'ping', id });
    expect(await closed).toBe(4029);
    expect(client.of('error').at(-1)).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/20 frames refused in a row/) });
  });

  it('rate-limit HTTP requests per address with 429 RATE_LIMITED', async () => {
    const bridge = await bridgeWith({ http: { rateLimit: { max: 3, windowMs: 60_000 } } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await getJson(`${bridge.url}/v1/symbols`)).status);
    const limited = await getJson<ErrorBody>(`${bridge.url}/v1/symbols`);
    expect([...statuses, limited.status]).toEqual([200, 200, 200, 429]);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('let browsers in only from allowed origins: CORS headers, 403 for others, and WebSocket Origin checked', async () => {
    const allowed = 'http://dashboard.example';
    const bridge = await bridgeWith({ http: { origins: [allowed] } });
    const ok = await fetch(`${bridge.url}/v1/symbols/XAUUSD`, { headers: { origin: allowed } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(ok.headers.get('access-control-expose-headers')).toMatch(/etag/);
    const preflight = await fetch(`${bridge.url}/v1/config`, {
      method: 'OPTIONS',
      headers: { origin: allowed, 'access-control-request-method': 'PATCH' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/PATCH/);

    const other = await getJson<ErrorBody>(`${bridge.url}/v1/symbols`, { origin: 'http://evil.example' });
    expect([other.status, other.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    // A page of the bridge's own address is same-origin; a DNS name pointed at it (rebinding) is not.
    const host = new URL(bridge.url).host;
    expect(await statusOf(`${bridge.url}/v1/symbols`, { host, origin: `http://${host}` })).toBe(200);
    expect(await statusOf(`${bridge.url}/v1/symbols`, { host: 'rebound.example', origin: 'http://rebound.example' })).toBe(403);

    await expect(WsClient.connect(bridge.url, '/v1/ws', { origin: 'http://evil.example' })).rejects.toThrow(/403/);
    expect((await WsClient.connect(bridge.url, '/v1/ws', { origin: allowed })).hello).toMatchObject({ type: 'hello', epoch: bridge.store.epoch });
    // Clients that are not browsers send no Origin and are not concerned.
    expect((await WsClient.connect(bridge.url)).hello).toMatchObject({ type: 'hello', epoch: bridge.store.epoch });
  });
});
