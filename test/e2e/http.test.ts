import { describe, expect, it } from 'vitest';
import { startTestBridge } from '../helpers/bridge.js';
import { getJson } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';

interface ErrorBody {
  error: { code: string; message: string };
}

interface PatchesBody {
  symbol: string;
  epoch: string;
  seq: number;
  patches: { seq: number; ops: unknown[] }[];
}

async function bridgeWithFiles(overrides = {}) {
  const dir = await tempDir();
  const files = new TerminalFiles(dir);
  await files.create();
  const bridge = await startTestBridge([dir], overrides);
  return { bridge, files };
}

async function nextCommit(bridge: Awaited<ReturnType<typeof startTestBridge>>, symbol: string, write: () => Promise<void>) {
  const seq = bridge.store.get(symbol)?.seq ?? 0;
  await write();
  await waitFor(`a commit of ${symbol}`, () => (bridge.store.get(symbol)?.seq ?? 0) > seq);
}

describe('HTTP routes', () => {
  it('lists symbols with their versions and sources', async () => {
    const { bridge } = await bridgeWithFiles();
    const { status, body } = await getJson<{ symbols: { symbol: string; epoch: string; seq: number; updatedAt: number; sources: string[] }[] }>(
      `${bridge.url}/v1/symbols`,
    );
    expect(status).toBe(200);
    expect(body.symbols.map((entry) => [entry.symbol, entry.sources])).toEqual([
      ['ESZ25_FUT_CME', ['sierra-scid']],
      ['EURUSD', ['mt5-ticks']],
      ['XAUUSD', ['json']],
    ]);
    for (const entry of body.symbols) {
      expect(entry.epoch).toBe(bridge.store.epoch);
      expect(entry.seq).toBeGreaterThanOrEqual(1);
      expect(entry.updatedAt).toBeGreaterThan(Date.now() - 60_000);
    }
  });

  it('serves a snapshot with an ETag, 304 on If-None-Match, a new ETag after a change, 404 for an unknown symbol', async () => {
    const { bridge, files } = await bridgeWithFiles();
    const first = await getJson<{ symbol: string; epoch: string; seq: number; data: { symbol: string } }>(`${bridge.url}/v1/symbols/XAUUSD`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ symbol: 'XAUUSD', epoch: bridge.store.epoch, seq: 1, data: { symbol: 'XAUUSD' } });
    const etag = first.headers.get('etag') as string;
    expect(etag).toBe(`"${bridge.store.epoch}:1"`);

    const cached = await fetch(`${bridge.url}/v1/symbols/XAUUSD`, { headers: { 'if-none-match': etag } });
    expect(cached.status).toBe(304);
    expect(await cached.text()).toBe('');

    await nextCommit(bridge, 'XAUUSD', () => files.writeJson('rename'));
    const changed = await fetch(`${bridge.url}/v1/symbols/XAUUSD`, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).toBe(`"${bridge.store.epoch}:2"`);

    const missing = await getJson<ErrorBody>(`${bridge.url}/v1/symbols/NOPE`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });

  it('returns the patches after a seq, which turn the old snapshot into the new one', async () => {
    const { bridge, files } = await bridgeWithFiles();
    const epoch = bridge.store.epoch;
    const before = (await getJson<{ seq: number; data: unknown }>(`${bridge.url}/v1/symbols/XAUUSD`)).body;
    for (let i = 0; i < 3; i++) await nextCommit(bridge, 'XAUUSD', () => files.writeJson('rewrite'));

    const { status, body } = await getJson<PatchesBody>(`${bridge.url}/v1/symbols/XAUUSD/patches?epoch=${epoch}&since=${before.seq}`);
    expect(status).toBe(200);
    expect(body.patches.map((patch) => patch.seq)).toEqual([before.seq + 1, before.seq + 2, before.seq + 3]);
    const jsonpatch = (await import('fast-json-patch')).default;
    let document = before.data;
    for (const patch of body.patches) document = jsonpatch.applyPatch(document, patch.ops as never, true, false).newDocument;
    expect(document).toEqual((await getJson<{ data: unknown }>(`${bridge.url}/v1/symbols/XAUUSD`)).body.data);

    const none = await getJson<PatchesBody>(`${bridge.url}/v1/symbols/XAUUSD/patches?epoch=${epoch}&since=${body.seq}`);
    expect(none.body.patches).toEqual([]);
  });

  it('long-polls with waitMs until the next patch', async () => {
    const { bridge, files } = await bridgeWithFiles();
    const epoch = bridge.store.epoch;
    const seq = bridge.store.get('XAUUSD')?.seq as number;
    const poll = getJson<PatchesBody>(`${bridge.url}/v1/symbols/XAUUSD/patches?epoch=${epoch}&since=${seq}&waitMs=10000`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await files.writeJson('rewrite');
    const { status, body } = await poll;
    expect(status).toBe(200);
    expect(body.patches.map((patch) => patch.seq)).toEqual([seq + 1]);

    const timedOut = await getJson<PatchesBody>(`${bridge.url}/v1/symbols/XAUUSD/patches?epoch=${epoch}&since=${seq + 1}&waitMs=50`);
    expect(timedOut.body.patches).toEqual([]);
  });

  it('answers 410 when the patches are no longer held or the epoch is over', async () => {
    const { bridge, files } = await bridgeWithFiles({ journal: { size: 2 } });
    const epoch = bridge.store.epoch;
    for (let i = 0; i < 3; i++) await nextCommit(bridge, 'XAUUSD', () => files.writeJson('rewrite'));
    const cases = [`epoch=${epoch}&since=1`, `epoch=not-${epoch}&since=4`, `epoch=${epoch}&since=99`];
    for (const query of cases) {
      const { status, body } = await getJson<ErrorBody>(`${bridge.url}/v1/symbols/XAUUSD/patches?${query}`);
      expect([query, status, body.error.code]).toEqual([query, 410, 'GONE']);
    }
  });

  it('rejects bad parameters with 400 BAD_REQUEST and unknown routes with 404, as JSON', async () => {
    const { bridge } = await bridgeWithFiles();
    const epoch = bridge.store.epoch;
    const bad = [
      `/v1/symbols/XAUUSD/patches?epoch=${epoch}`,
      `/v1/symbols/XAUUSD/patches?epoch=${epoch}&since=-1`,
      `/v1/symbols/XAUUSD/patches?epoch=${epoch}&since=abc`,
      `/v1/symbols/XAUUSD/patches?epoch=${epoch}&since=1&waitMs=999999999`,
      `/v1/symbols/${'X'.repeat(200)}`,
      '/v1/sse',
      `/v1/sse?symbols=${'Y'.repeat(300)}`,
    ];
    for (const path of bad) {
      const { status, body } = await getJson<ErrorBody>(`${bridge.url}${path}`);
      expect([path, status, body.error.code]).toEqual([path, 400, 'BAD_REQUEST']);
      expect(body.error.message.length).toBeGreaterThan(5);
    }
    const missing = await getJson<ErrorBody>(`${bridge.url}/v2/nothing`);
    expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('reports health with its components', async () => {
    const { bridge, files } = await bridgeWithFiles();
    const { status, body } = await getJson<{ status: string; epoch: string; components: Record<string, { status: string }> }>(`${bridge.url}/health`);
    expect(status).toBe(200);
    expect(body.status).toBe('HEALTHY');
    expect(body.epoch).toBe(bridge.store.epoch);
    expect(Object.keys(body.components).sort()).toEqual(['connections', 'data', 'eventLoop', 'hub', 'memory', `source:${files.dir}`, 'sources']);
    expect(body.components[`source:${files.dir}`]).toMatchObject({ status: 'HEALTHY', files: 3, breakers: { CLOSED: 3, HALF_OPEN: 0, OPEN: 0 }, errors: 0 });
  });

  it('serves JSON stats and Prometheus metrics', async () => {
    const { bridge } = await bridgeWithFiles();
    const stats = await getJson<{ epoch: string; hub: { symbols: number; clients: { ws: number; sse: number } } }>(`${bridge.url}/v1/stats`);
    expect(stats.status).toBe(200);
    expect(stats.body.epoch).toBe(bridge.store.epoch);
    expect(stats.body.hub).toMatchObject({ symbols: 3, clients: { ws: 0, sse: 0 } });
    const metrics = await fetch(`${bridge.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toMatch(/^tapebridge_process_cpu_user_seconds_total \d/m);
  });
});
