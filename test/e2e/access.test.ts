import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogCapture, startTestBridge } from '../helpers/bridge.js';
import { getJson, refusedWs, SseClient, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { sleep, waitFor } from '../helpers/wait.js';

interface ErrorBody {
  error: { code: string; message: string };
}

const OPS = 'ops-token-0123456789abcdef';
const FX = 'fx-token-0123456789abcdef';
const DESK = 'desk-token-0123456789abcdef';
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Three symbols; `ops` is admin, `fx` sees EURUSD and XAUUSD, `desk` (from the hashed tokens file) sees ES only. */
async function securedBridge(auth: Record<string, unknown> = {}, logs = new LogCapture('warn')) {
  const dir = await tempDir();
  const files = new TerminalFiles(dir);
  await files.create();
  const tokensFile = join(await tempDir(), 'tokens.json');
  await writeFile(tokensFile, JSON.stringify([{ name: 'desk', sha256: sha256(DESK), symbols: ['ES*'] }]));
  const bridge = await startTestBridge(
    [dir],
    {
      auth: {
        tokens: [
          { name: 'ops', token: OPS, admin: true },
          { name: 'fx', token: FX, symbols: ['EUR*', 'XAU???'] },
        ],
        tokensFile,
        ...auth,
      },
    },
    logs,
  );
  return { bridge, files, tokensFile };
}

describe('bearer tokens', () => {
  it('guard every HTTP route but /health, with per-token symbol lists and admin-only routes', async () => {
    const { bridge } = await securedBridge();
    const url = bridge.url;

    const missing = await fetch(`${url}/v1/symbols`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="tapebridge"');
    expect(((await missing.json()) as ErrorBody).error.code).toBe('UNAUTHORIZED');
    const wrong = await getJson<ErrorBody>(`${url}/v1/symbols/EURUSD`, bearer('not-a-token-at-all'));
    expect([wrong.status, wrong.body.error.code]).toEqual([401, 'UNAUTHORIZED']);
    expect((await getJson(`${url}/v1/symbols?token=${FX}`)).status).toBe(401);
    expect((await getJson(`${url}/health`)).status).toBe(200);

    const list = async (token: string) =>
      (await getJson<{ symbols: { symbol: string }[] }>(`${url}/v1/symbols`, bearer(token))).body.symbols.map((entry) => entry.symbol);
    expect(await list(FX)).toEqual(['EURUSD', 'XAUUSD']);
    expect(await list(DESK)).toEqual(['ESZ25_FUT_CME']);
    expect(await list(OPS)).toEqual(['ESZ25_FUT_CME', 'EURUSD', 'XAUUSD']);

    expect((await getJson(`${url}/v1/symbols/EURUSD`, bearer(FX))).status).toBe(200);
    const forbidden = await getJson<ErrorBody>(`${url}/v1/symbols/ESZ25_FUT_CME`, bearer(FX));
    expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect(forbidden.body.error.message).toMatch(/"fx" may not see "ESZ25_FUT_CME"/);
    const patches = await getJson<ErrorBody>(`${url}/v1/symbols/ESZ25_FUT_CME/patches?epoch=${bridge.store.epoch}&since=1`, bearer(FX));
    expect(patches.status).toBe(403);

    for (const route of ['/metrics', '/v1/stats', '/v1/config']) {
      const refused = await getJson<ErrorBody>(`${url}${route}`, bearer(FX));
      expect([route, refused.status, refused.body.error.code]).toEqual([route, 403, 'FORBIDDEN']);
      expect((await fetch(`${url}${route}`, { headers: bearer(OPS) })).status).toBe(200);
    }
    const patch = await fetch(`${url}/v1/config`, {
      method: 'PATCH',
      headers: { ...bearer(FX), 'content-type': 'application/json' },
      body: '{"log":{"level":"debug"}}',
    });
    expect(patch.status).toBe(403);
  });

  it('can close /health too', async () => {
    const { bridge } = await securedBridge({ openHealth: false });
    expect((await getJson(`${bridge.url}/health`)).status).toBe(401);
    expect((await getJson(`${bridge.url}/health`, bearer(DESK))).status).toBe(200);
  });

  it('guard SSE by header or ?token=, stream only what the token may see, and refuse a stream of nothing allowed', async () => {
    const { bridge, files } = await securedBridge();
    const anonymous = await SseClient.connect(bridge.url, 'symbols=*');
    expect(anonymous.status).toBe(401);
    anonymous.close();

    const all = await SseClient.connect(bridge.url, `symbols=*&token=${FX}`);
    expect(all.status).toBe(200);
    await waitFor('the allowed snapshots', () => all.mirror.snapshots === 2);
    expect([...all.mirror.documents.keys()].sort()).toEqual(['EURUSD', 'XAUUSD']);

    const some = await SseClient.connect(bridge.url, 'symbols=ESZ25_FUT_CME,EURUSD', bearer(FX));
    await waitFor('the notice and the allowed snapshot', () => some.mirror.snapshots === 1 && some.events.some((event) => event.event === 'notice'));
    const notice = JSON.parse(some.events.find((event) => event.event === 'notice')?.data ?? '{}') as { code: string; message: string };
    expect(notice).toMatchObject({ type: 'error', code: 'FORBIDDEN', message: expect.stringMatching(/may not see ESZ25_FUT_CME; streaming the others/) });

    const none = await SseClient.connect(bridge.url, `symbols=ESZ25_FUT_CME&token=${FX}`);
    await waitFor('the refusal body', () => none.body.length > 0);
    expect([none.status, (JSON.parse(none.body) as ErrorBody).error.code]).toEqual([403, 'FORBIDDEN']);

    await files.step();
    await waitFor('patches', () => all.mirror.patches > 0);
    await sleep(100);
    expect(all.events.filter((event) => event.event === 'patch').every((event) => !event.data.includes('ESZ25_FUT_CME'))).toBe(true);
    for (const client of [all, some, none]) client.close();
  });

  it('guard WebSocket: no valid token is an UNAUTHORIZED error and close 4001; a restricted token gets FORBIDDEN and the allowed symbols', async () => {
    const { bridge, files } = await securedBridge();
    for (const headers of [{}, bearer('wrong-token-0123456789')]) {
      const refused = await refusedWs(bridge.url, '/v1/ws', headers);
      expect(refused.code).toBe(4001);
      expect(refused.messages).toEqual([{ type: 'error', code: 'UNAUTHORIZED', message: expect.any(String) }]);
    }

    const fx = await WsClient.connect(bridge.url, `/v1/ws?token=${FX}`);
    fx.subscribe(['ESZ25_FUT_CME', 'EURUSD']);
    await waitFor('the FORBIDDEN error and the allowed snapshot', () => fx.of('error').length === 1 && fx.document('EURUSD'));
    expect(fx.of('error')[0]).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/may not see ESZ25_FUT_CME; the others are subscribed/) });
    fx.subscribe(['*']);
    await waitFor('the wildcard snapshots', () => fx.document('XAUUSD'));

    const desk = await WsClient.connect(bridge.url, '/v1/ws', bearer(DESK));
    desk.subscribe(['*']);
    await waitFor('the desk snapshot', () => desk.document('ESZ25_FUT_CME'));

    await files.step();
    await waitFor('patches', () => fx.of('patch').some((message) => message.symbol === 'EURUSD') && desk.of('patch').length > 0);
    await sleep(100);
    expect(new Set(fx.messages.filter((message) => message.symbol !== undefined).map((message) => message.symbol))).toEqual(new Set(['EURUSD', 'XAUUSD']));
    expect(new Set(desk.messages.filter((message) => message.symbol !== undefined).map((message) => message.symbol))).toEqual(new Set(['ESZ25_FUT_CME']));
    await Promise.all([fx.close(), desk.close()]);
  });

  it('read the tokens file again when it changes; a bad edit keeps the tokens in force', async () => {
    const logs = new LogCapture('warn');
    const { bridge, tokensFile } = await securedBridge({}, logs);
    const NEW = 'new-token-0123456789abcdef';
    await writeFile(tokensFile, JSON.stringify([{ name: 'new', sha256: sha256(NEW) }]));
    await waitFor('the new token', async () => (await getJson(`${bridge.url}/v1/symbols`, bearer(NEW))).status === 200);
    expect((await getJson(`${bridge.url}/v1/symbols`, bearer(DESK))).status).toBe(401);
    await writeFile(tokensFile, '[{"name": "broken"}]');
    const refused = await waitFor('the refusal', () => logs.find((line) => line.msg === 'tokens file change refused; the tokens in force stay'));
    expect((refused.err as { message: string }).message).toMatch(/tokens\.json\[0\]: give sha256/);
    expect((await getJson(`${bridge.url}/v1/symbols`, bearer(NEW))).status).toBe(200);
  });

  it('refuse to start with a tokens file that does not hold hashes', async () => {
    const dir = await tempDir();
    const tokensFile = join(dir, 'tokens.json');
    await writeFile(tokensFile, JSON.stringify([{ name: 'x', token: 'plaintext-token-123456' }]));
    await expect(startTestBridge([dir], { auth: { tokensFile } })).rejects.toThrow(/tokens\.json\[0\]: give sha256/);
  });

  it('serve the dashboard page to anyone, and its summary stream only with a token (?token=), filtered to what the token may see', async () => {
    const { bridge } = await securedBridge();
    const url = bridge.url;
    for (const asset of ['/', '/app.js', '/style.css', '/client/index.js', '/vendor/fast-json-patch/index.mjs']) {
      expect([asset, (await fetch(`${url}${asset}`)).status]).toEqual([asset, 200]);
    }
    const refused = await getJson<ErrorBody>(`${url}/v1/dashboard/sse`);
    expect([refused.status, refused.body.error.code]).toEqual([401, 'UNAUTHORIZED']);

    const symbolsSeen = async (token: string): Promise<string[]> => {
      const response = await fetch(`${url}/v1/dashboard/sse?token=${token}`);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      let text = '';
      while (!text.includes('\n\n', text.indexOf('data: '))) text += new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
      const line = text.split('\n').find((entry) => entry.startsWith('data: ')) as string;
      return (JSON.parse(line.slice(6)) as { symbols: { symbol: string }[] }).symbols.map((row) => row.symbol);
    };
    expect(await symbolsSeen(FX)).toEqual(['EURUSD', 'XAUUSD']);
    expect(await symbolsSeen(OPS)).toEqual(['ESZ25_FUT_CME', 'EURUSD', 'XAUUSD']);
  });
});
