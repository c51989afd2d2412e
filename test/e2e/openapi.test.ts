import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { startTestBridge } from '../helpers/bridge.js';
import { getJson } from '../helpers/clients.js';

interface OpenApi {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
}

describe('the OpenAPI description', () => {
  it('is served at /v1/openapi.json without a token, and describes every HTTP route with its parameters', async () => {
    const bridge = await startTestBridge([], { auth: { tokens: [{ name: 'reader', token: 'r'.repeat(32), symbols: ['*'] }] } });
    const { status, body } = await getJson<OpenApi>(`${bridge.url}/v1/openapi.json`);
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.0.3');
    expect(body.info.title).toBe('tapebridge');
    for (const path of [
      '/v1',
      '/v1/symbols',
      '/v1/symbols/{symbol}',
      '/v1/symbols/{symbol}/patches',
      '/v1/symbols/{symbol}/bars',
      '/v1/symbols/{symbol}/indicators',
      '/v1/sse',
      '/v1/sources',
      '/v1/stats',
      '/v1/config',
      '/health',
      '/metrics',
    ]) {
      expect(Object.keys(body.paths), path).toContain(path);
    }
    expect(Object.keys(body.paths)).not.toContain('/v1/openapi.json');
    const names = (path: string): string[] => (body.paths[path]?.get?.parameters ?? []).map((parameter) => `${parameter.in}:${parameter.name}`);
    expect(names('/v1/symbols/{symbol}/patches')).toEqual(expect.arrayContaining(['path:symbol', 'query:since', 'query:waitMs']));
    expect(names('/v1/symbols/{symbol}/bars')).toEqual(expect.arrayContaining(['path:symbol', 'query:tf', 'query:count']));
    // docs/openapi.json is this description (npm run docs:openapi writes it).
    expect(JSON.parse(await readFile('docs/openapi.json', 'utf8'))).toEqual(body);
    // The other routes still want the token.
    expect((await getJson(`${bridge.url}/v1/symbols`)).status).toBe(401);
  });
});
