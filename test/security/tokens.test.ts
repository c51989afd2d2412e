import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getJson, refusedWs, SseClient, WsClient, type ServerMessage } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';
import { EventReader, rewriteConfig, startBridgeProcess } from './tokens-bridge.js';

const OPS = 'ops-token-0123456789abcdef';
const FX = 'fx-token-0123456789abcdef';
const DESK = 'desk-token-0123456789abcdef';
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const WAIT = 15_000;

interface Token {
  name: string;
  token: string;
  symbols?: string[];
  admin?: boolean;
}
const ops: Token = { name: 'ops', token: OPS, admin: true };
const fx: Token = { name: 'fx', token: FX, symbols: ['EUR*', 'XAU*'] };

/** A bridge process over the three symbols of TerminalFiles, with `tokens` in its config file. */
async function bridgeWith(tokens: Token[], extra: Record<string, unknown> = {}) {
  const dir = await tempDir();
  const files = new TerminalFiles(dir);
  await files.create();
  const config = (next: Token[], more: Record<string, unknown> = {}) => ({
    sources: [{ path: dir }],
    dashboard: { intervalMs: 100, staleAfterMs: 5000 },
    ...extra,
    ...more,
    auth: { tokens: next, ...((extra.auth as object | undefined) ?? {}) },
  });
  const bridge = await startBridgeProcess(config(tokens));
  return { bridge, files, dir, retoken: (next: Token[]) => rewriteConfig(bridge, config(next)) };
}

/** Resolves with the close code of a WebSocket once it closes. */
const closeOf = (client: WsClient): Promise<number> => new Promise((resolve) => client.socket.once('close', (code) => resolve(code)));

/** Messages of `symbol` that are data (snapshot or patch). */
const dataOf = (messages: ServerMessage[], symbol: string): ServerMessage[] =>
  messages.filter((message) => (message.type === 'snapshot' || message.type === 'patch') && message.symbol === symbol);

const sseData = (client: SseClient, symbol: string): number =>
  client.events.filter((event) => (event.event === 'patch' || event.event === 'snapshot') && (JSON.parse(event.data) as ServerMessage).symbol === symbol)
    .length;

const notices = (client: SseClient): ServerMessage[] =>
  client.events.filter((event) => event.event === 'notice').map((event) => JSON.parse(event.data) as ServerMessage);

describe('a token removed from the watched config', () => {
  it('closes its open WebSocket (UNAUTHORIZED, 4001), SSE and dashboard streams; no further patch reaches them, and it cannot come back', async () => {
    const { bridge, files, retoken } = await bridgeWith([ops, fx]);
    const url = bridge.url;
    const ws = await WsClient.connect(url, `/v1/ws?token=${FX}`);
    ws.subscribe(['EURUSD', 'XAUUSD']);
    const sse = await SseClient.connect(url, `symbols=EURUSD,XAUUSD&token=${FX}`);
    const dashboard = await EventReader.open(`${url}/v1/dashboard/sse?token=${FX}`);
    const control = await WsClient.connect(url, '/v1/ws', bearer(OPS));
    control.subscribe(['*']);
    await waitFor('the snapshots', () => dataOf(ws.messages, 'XAUUSD').length > 0 && sseData(sse, 'XAUUSD') > 0 && control.of('snapshot').length === 3, WAIT);
    await waitFor('a summary', () => dashboard.of('summary').length > 0, WAIT);
    const closed = closeOf(ws);

    await retoken([ops]);
    expect(await closed).toBe(4001);
    const wsError = ws.of('error').at(-1);
    expect(wsError).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(wsError?.message).toMatch(/"fx" is no longer valid/);
    await waitFor('the SSE stream to end', () => sse.ended, WAIT);
    expect(notices(sse).at(-1)).toMatchObject({ type: 'error', code: 'UNAUTHORIZED' });
    await waitFor('the dashboard stream to end', () => dashboard.ended, WAIT);
    expect(dashboard.of('notice').at(-1)?.data).toMatchObject({ type: 'error', code: 'UNAUTHORIZED' });

    // The files change: the admin's stream gets patches, the revoked ones nothing more.
    const wsCount = ws.messages.length;
    const sseCount = sse.events.length;
    const summaries = dashboard.of('summary').length;
    const seen = dataOf(control.messages, 'XAUUSD').length;
    await files.step();
    await waitFor(
      'the admin to get the new patches',
      () => dataOf(control.messages, 'XAUUSD').length > seen && dataOf(control.messages, 'EURUSD').some((m) => m.type === 'patch'),
      WAIT,
    );
    expect([ws.messages.length, sse.events.length, dashboard.of('summary').length]).toEqual([wsCount, sseCount, summaries]);

    // Coming back with the same token is refused everywhere.
    const again = await refusedWs(url, `/v1/ws?token=${FX}`);
    expect([again.code, again.messages[0]?.code]).toEqual([4001, 'UNAUTHORIZED']);
    expect((await getJson(`${url}/v1/sse?symbols=EURUSD&token=${FX}`)).status).toBe(401);
    expect((await getJson(`${url}/v1/symbols`, bearer(FX))).status).toBe(401);
    await control.close();
    expect(bridge.trouble.crashes).toEqual([]);
  });
});

describe('a token whose allow list narrows', () => {
  it('loses what it may no longer see on every open stream, named in FORBIDDEN; `*` goes on narrowed; a re-subscribe is refused', async () => {
    const { bridge, files, retoken } = await bridgeWith([ops, fx]);
    const url = bridge.url;
    const named = await WsClient.connect(url, '/v1/ws', bearer(FX));
    named.subscribe(['EURUSD', 'XAUUSD']);
    const star = await WsClient.connect(url, '/v1/ws', bearer(FX));
    star.subscribe(['*']);
    const sseNamed = await SseClient.connect(url, `symbols=EURUSD,XAUUSD`, bearer(FX));
    const sseStar = await SseClient.connect(url, `symbols=*`, bearer(FX));
    const sseGone = await SseClient.connect(url, `symbols=XAUUSD`, bearer(FX));
    const dashboard = await EventReader.open(`${url}/v1/dashboard/sse?token=${FX}`);
    await waitFor(
      'the snapshots',
      () =>
        named.of('snapshot').length === 2 &&
        star.of('snapshot').length === 2 &&
        sseNamed.mirror.documents.size === 2 &&
        sseStar.mirror.documents.size === 2 &&
        sseGone.mirror.documents.size === 1,
      WAIT,
    );
    const rows = () => (dashboard.of('summary').at(-1)?.data.symbols as { symbol: string }[] | undefined)?.map((row) => row.symbol);
    await waitFor('a summary with both rows', () => rows()?.length === 2, WAIT);

    await retoken([ops, { ...fx, symbols: ['EUR*'] }]);
    for (const client of [named, star]) {
      const error = await waitFor('the FORBIDDEN frame', () => client.of('error').find((message) => message.code === 'FORBIDDEN'), WAIT);
      expect(error.message).toMatch(/"fx" may no longer see XAUUSD: no longer streamed/);
    }
    for (const client of [sseNamed, sseStar]) {
      const notice = await waitFor('the FORBIDDEN notice', () => notices(client).find((message) => message.code === 'FORBIDDEN'), WAIT);
      expect(notice.message).toMatch(/may no longer see XAUUSD/);
      expect(client.ended).toBe(false);
    }
    // A stream left with nothing to stream ends.
    await waitFor('the XAUUSD-only stream to end', () => sseGone.ended, WAIT);
    expect(notices(sseGone).at(-1)).toMatchObject({ code: 'FORBIDDEN' });
    await waitFor('the dashboard rows to narrow', () => rows()?.join() === 'EURUSD', WAIT);

    const before = {
      named: dataOf(named.messages, 'XAUUSD').length,
      star: dataOf(star.messages, 'XAUUSD').length,
      sseNamed: sseData(sseNamed, 'XAUUSD'),
      sseStar: sseData(sseStar, 'XAUUSD'),
    };
    const eurPatches = (client: WsClient) => dataOf(client.messages, 'EURUSD').filter((m) => m.type === 'patch').length;
    const eur = { named: eurPatches(named), star: eurPatches(star), sseNamed: sseData(sseNamed, 'EURUSD'), sseStar: sseData(sseStar, 'EURUSD') };
    await files.step();
    await files.step();
    await waitFor(
      'EURUSD patches on every stream',
      () =>
        eurPatches(named) > eur.named && eurPatches(star) > eur.star && sseData(sseNamed, 'EURUSD') > eur.sseNamed && sseData(sseStar, 'EURUSD') > eur.sseStar,
      WAIT,
    );
    // XAUUSD was rewritten by both steps: nothing of it came through.
    expect({
      named: dataOf(named.messages, 'XAUUSD').length,
      star: dataOf(star.messages, 'XAUUSD').length,
      sseNamed: sseData(sseNamed, 'XAUUSD'),
      sseStar: sseData(sseStar, 'XAUUSD'),
    }).toEqual(before);

    // Subscribing again is refused.
    const errors = named.of('error').length;
    named.subscribe(['XAUUSD']);
    await waitFor('the refusal', () => named.of('error').length > errors, WAIT);
    expect(named.of('error').at(-1)).toMatchObject({ code: 'FORBIDDEN' });
    expect(named.mirror.violations).toEqual([]);
    expect(star.mirror.violations).toEqual([]);
  });

  it('widened: a WebSocket `*` subscription gets the snapshot of what it may see now, then its patches', async () => {
    const { bridge, files, retoken } = await bridgeWith([ops, { ...fx, symbols: ['EUR*'] }]);
    const star = await WsClient.connect(bridge.url, '/v1/ws', bearer(FX));
    star.subscribe(['*']);
    const sseStar = await SseClient.connect(bridge.url, 'symbols=*', bearer(FX));
    await waitFor('the EURUSD snapshot', () => star.of('snapshot').length === 1 && sseStar.mirror.documents.size === 1, WAIT);

    await retoken([ops, { ...fx, symbols: ['EUR*', 'ES*'] }]);
    await waitFor('the ES snapshot', () => dataOf(star.messages, 'ESZ25_FUT_CME').find((m) => m.type === 'snapshot'), WAIT);
    await files.step();
    await waitFor('an ES patch', () => dataOf(star.messages, 'ESZ25_FUT_CME').some((m) => m.type === 'patch'), WAIT);
    expect(star.mirror.violations).toEqual([]);
    expect(star.of('error')).toEqual([]);
    // An open SSE stream only ever narrows (its cursor could not resume the snapshots); it
    // sees ES from its next connection.
    await waitFor('EURUSD patches on SSE', () => sseData(sseStar, 'EURUSD') > 1, WAIT);
    expect(sseData(sseStar, 'ESZ25_FUT_CME')).toBe(0);
    const fresh = await SseClient.connect(bridge.url, 'symbols=*', bearer(FX));
    await waitFor('both snapshots on a new stream', () => fresh.mirror.documents.size === 2, WAIT);
    fresh.close();
  });
});

describe('tokens changed by the tokens file and by PATCH /v1/config', () => {
  it('revoke open streams too; a token that loses its admin flag loses the health details and admin routes', async () => {
    const tokensFile = join(await tempDir(), 'tokens.json');
    await writeFile(tokensFile, JSON.stringify([{ name: 'desk', sha256: sha256(DESK), symbols: ['ES*'], admin: true }]));
    const { bridge } = await bridgeWith([ops, fx], { auth: { tokensFile } });
    const url = bridge.url;

    const dashboard = await EventReader.open(`${url}/v1/dashboard/sse?token=${DESK}`);
    const desk = await WsClient.connect(url, '/v1/ws', bearer(DESK));
    desk.subscribe(['ESZ25_FUT_CME']);
    await waitFor('a summary with components', () => dashboard.of('summary').at(-1)?.data.health, WAIT);
    expect(Object.keys((dashboard.of('summary').at(-1)?.data.health as { components: object }).components)).toContain('hub');
    expect((await getJson(`${url}/v1/stats`, bearer(DESK))).status).toBe(200);

    // The tokens file drops the admin flag: the next summaries carry status and counts only.
    await writeFile(tokensFile, JSON.stringify([{ name: 'desk', sha256: sha256(DESK), symbols: ['ES*'] }]));
    await waitFor(
      'a summary without components',
      () => {
        const health = dashboard.of('summary').at(-1)?.data.health as Record<string, unknown> | undefined;
        return health !== undefined && health.components === undefined && typeof health.counts === 'object';
      },
      WAIT,
    );
    expect((await getJson(`${url}/v1/stats`, bearer(DESK))).status).toBe(403);
    expect(desk.socket.readyState).toBe(desk.socket.OPEN);

    // PATCH /v1/config removes fx, whose WebSocket closes.
    const fxWs = await WsClient.connect(url, '/v1/ws', bearer(FX));
    fxWs.subscribe(['EURUSD']);
    const closed = closeOf(fxWs);
    const patched = await fetch(`${url}/v1/config`, {
      method: 'PATCH',
      headers: { ...bearer(OPS), 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { tokens: [ops] } }),
    });
    expect(patched.status).toBe(200);
    expect(await closed).toBe(4001);
    expect(fxWs.of('error').at(-1)).toMatchObject({ code: 'UNAUTHORIZED' });

    // The tokens file removes desk: its streams end.
    const deskClosed = closeOf(desk);
    await writeFile(tokensFile, '[]');
    expect(await deskClosed).toBe(4001);
    await waitFor('the dashboard stream to end', () => dashboard.ended, WAIT);
    expect(bridge.trouble.crashes).toEqual([]);
  });
});
