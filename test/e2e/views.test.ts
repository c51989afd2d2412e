import { describe, expect, it } from 'vitest';
import { parseView, restrictDocument, type View } from '../../src/model/view.js';
import { startTestBridge } from '../helpers/bridge.js';
import { getJson, SseClient, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';

/** Views (PROTOCOL.md §8) over every transport of a running bridge. */

interface ErrorBody {
  error: { code: string; message: string };
}

async function bridgeWithFiles() {
  const dir = await tempDir();
  const files = new TerminalFiles(dir);
  await files.create();
  const bridge = await startTestBridge([dir]);
  return { bridge, files };
}

const restricted = (bridge: Awaited<ReturnType<typeof startTestBridge>>, symbol: string, parts: string[]): unknown =>
  JSON.parse(JSON.stringify(restrictDocument(JSON.parse(bridge.store.get(symbol)?.documentJson() ?? '{}') as object, parseView(parts) as View)));

describe('views on a running bridge', () => {
  it('WebSocket: a view gets its parts and their patches only; a whole-document client of the same symbols gets base = seq - 1', async () => {
    const { bridge, files } = await bridgeWithFiles();
    const quote = await WsClient.connect(bridge.url);
    const whole = await WsClient.connect(bridge.url);
    quote.subscribe(['EURUSD', 'ESZ25_FUT_CME'], undefined, ['/quote']);
    whole.subscribe(['EURUSD', 'ESZ25_FUT_CME']);
    await waitFor('snapshots', () => quote.of('snapshot').length === 2 && whole.of('snapshot').length === 2);
    expect(Object.keys(quote.of('snapshot')[0]?.data as object).sort()).toEqual(['quote', 'sources', 'symbol']);
    for (let i = 0; i < 4; i++) await files.step();
    await waitFor('the clients to catch up', () =>
      ['EURUSD', 'ESZ25_FUT_CME'].every(
        (symbol) => whole.document(symbol)?.seq === bridge.store.get(symbol)?.seq && quote.document(symbol)?.seq === bridge.store.get(symbol)?.seq,
      ),
    );
    for (const symbol of ['EURUSD', 'ESZ25_FUT_CME']) expect(quote.document(symbol)?.data).toEqual(restricted(bridge, symbol, ['/quote']));
    expect(quote.mirror.violations).toEqual([]);
    expect(whole.mirror.violations).toEqual([]);
    expect(quote.of('patch').every((patch) => (patch.ops ?? []).every((op) => op.path.startsWith('/quote') || op.path.startsWith('/sources')))).toBe(true);
    expect(whole.of('patch').length).toBeGreaterThan(0);
    for (const patch of whole.of('patch')) expect(patch.base).toBe((patch.seq as number) - 1);
    await quote.close();
    await whole.close();
  });

  it('WebSocket: bad parts get BAD_REQUEST naming the part and subscribe nothing', async () => {
    const { bridge } = await bridgeWithFiles();
    const client = await WsClient.connect(bridge.url);
    for (const parts of [['/quote', '/nope'], ['quote'], Array.from({ length: 17 }, () => '/quote'), 'quote']) {
      client.send({ op: 'subscribe', symbols: ['EURUSD'], parts });
    }
    await waitFor('four errors', () => client.of('error').length === 4);
    expect(client.of('error').map(({ code }) => code)).toEqual(['BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST']);
    expect(client.of('error')[0]?.message).toContain('"/nope"');
    expect(client.of('error')[1]?.message).toContain('"quote"');
    expect(client.of('error')[2]?.message).toContain('at most 16');
    // Still open, and nothing was subscribed.
    client.send({ op: 'ping', id: 1 });
    await waitFor('pong', () => client.of('pong').length === 1);
    expect(client.of('snapshot')).toEqual([]);
    await client.close();
  });

  it('WebSocket: resume per view, from the seq of the view the client holds', async () => {
    const { bridge, files } = await bridgeWithFiles();
    const parts = ['/quote/bid'];
    const first = await WsClient.connect(bridge.url);
    first.subscribe(['EURUSD'], undefined, parts);
    await waitFor('snapshot', () => first.document('EURUSD'));
    const held = first.document('EURUSD');
    await first.close();
    for (let i = 0; i < 3; i++) {
      const seq = bridge.store.get('EURUSD')?.seq ?? 0;
      await files.step();
      await waitFor('a commit', () => (bridge.store.get('EURUSD')?.seq ?? 0) > seq);
    }
    const second = await WsClient.connect(bridge.url);
    second.mirror.documents.set('EURUSD', structuredClone(held!));
    second.subscribe(['EURUSD'], { EURUSD: { epoch: held!.epoch, seq: held!.seq } }, parts);
    await waitFor('caught up', () => JSON.stringify(second.document('EURUSD')?.data) === JSON.stringify(restricted(bridge, 'EURUSD', parts)));
    expect(second.of('snapshot')).toEqual([]);
    expect(second.of('patch').length).toBeGreaterThan(0);
    expect(second.of('patch')[0]?.base).toBe(held?.seq);
    expect(second.mirror.violations).toEqual([]);
    await second.close();
  });

  it('SSE: ?parts= streams the view; Last-Event-ID resumes it; bad parts get 400 naming the part', async () => {
    const { bridge, files } = await bridgeWithFiles();
    const parts = ['/quote', '/fields/round'];
    const first = await SseClient.connect(bridge.url, `symbols=XAUUSD,EURUSD&parts=${parts.join(',')}`);
    await waitFor('snapshots', () => first.mirror.documents.size === 2);
    await files.step();
    await waitFor('a patch', () => first.events.some((event) => event.event === 'patch'));
    first.close();
    const held = new Map(first.mirror.documents);
    for (let i = 0; i < 3; i++) await files.step();
    const second = await SseClient.connect(
      bridge.url,
      `symbols=XAUUSD,EURUSD&parts=${parts.join(',')}`,
      { 'last-event-id': first.lastEventId as string },
      held,
    );
    await waitFor('caught up', () =>
      ['XAUUSD', 'EURUSD'].every((symbol) => JSON.stringify(second.mirror.documents.get(symbol)?.data) === JSON.stringify(restricted(bridge, symbol, parts))),
    );
    expect(second.events.filter((event) => event.event === 'snapshot')).toEqual([]);
    expect(second.mirror.violations).toEqual([]);
    second.close();

    const bad = await SseClient.connect(bridge.url, 'symbols=XAUUSD&parts=/quote,/bars/M7');
    await waitFor('the answer', () => bad.ended);
    expect(bad.status).toBe(400);
    expect((JSON.parse(bad.body) as ErrorBody).error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('"/bars/M7"') as unknown });
  });

  it('HTTP: ?parts= on the snapshot and the patches; bad parts get 400', async () => {
    const { bridge, files } = await bridgeWithFiles();
    const parts = '/quote/bid,/fields';
    const snapshot = await getJson<{ seq: number; epoch: string; data: unknown }>(`${bridge.url}/v1/symbols/XAUUSD?parts=${parts}`);
    expect(snapshot.status).toBe(200);
    expect(snapshot.body.data).toEqual(restricted(bridge, 'XAUUSD', parts.split(',')));
    const etag = snapshot.headers.get('etag') as string;
    expect((await fetch(`${bridge.url}/v1/symbols/XAUUSD?parts=${parts}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const wholeEtag = (await getJson(`${bridge.url}/v1/symbols/XAUUSD`)).headers.get('etag');
    expect(wholeEtag).not.toBe(etag);

    for (let i = 0; i < 2; i++) {
      const seq = bridge.store.get('XAUUSD')?.seq ?? 0;
      await files.step();
      await waitFor('a commit', () => (bridge.store.get('XAUUSD')?.seq ?? 0) > seq);
    }
    const answer = await getJson<{ patches: { seq: number; base: number; ops: { path: string }[] }[] }>(
      `${bridge.url}/v1/symbols/XAUUSD/patches?epoch=${snapshot.body.epoch}&since=${snapshot.body.seq}&parts=${parts}`,
    );
    expect(answer.status).toBe(200);
    expect(answer.body.patches[0]?.base).toBe(snapshot.body.seq);
    for (const [i, patch] of answer.body.patches.entries()) {
      if (i > 0) expect(patch.base).toBe(answer.body.patches[i - 1]?.seq);
      // Inside a part, or on a container of one (`/quote` carrying only its bid).
      for (const op of patch.ops) expect(op.path).toMatch(/^\/(quote(\/bid)?|fields|sources)(\/|$)/);
    }
    const whole = await getJson<{ patches: { seq: number; base: number }[] }>(
      `${bridge.url}/v1/symbols/XAUUSD/patches?epoch=${snapshot.body.epoch}&since=${snapshot.body.seq}`,
    );
    for (const patch of whole.body.patches) expect(patch.base).toBe(patch.seq - 1);

    for (const url of [`/v1/symbols/XAUUSD?parts=/quote/nope`, `/v1/symbols/XAUUSD/patches?epoch=${snapshot.body.epoch}&since=1&parts=bars`]) {
      const refused = await getJson<ErrorBody>(`${bridge.url}${url}`);
      expect(refused.status, url).toBe(400);
      expect(refused.body.error.code).toBe('BAD_REQUEST');
      expect(refused.body.error.message).toMatch(/part "(\/quote\/nope|bars)"/);
    }
  });
});
