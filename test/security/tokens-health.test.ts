import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getJson } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';
import { EventReader, startBridgeProcess } from './tokens-bridge.js';

const OPS = 'ops-token-0123456789abcdef';
const FX = 'fx-token-0123456789abcdef';
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const WAIT = 20_000;
/** The first bytes of /etc/passwd, as a terminal folder might hold them by mistake or malice. */
const PASSWD = 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n';

/** The three TerminalFiles symbols and a `.json` that is not JSON: what it holds must never be served. */
async function folderWithBadFile(): Promise<string> {
  const dir = await tempDir();
  await new TerminalFiles(dir).create();
  await writeFile(join(dir, 'PASSWD.json'), PASSWD);
  return dir;
}

interface HealthBody {
  status: string;
  counts?: Record<string, number>;
  components?: Record<string, { status: string; failing?: { file: string; reason: string | null }[] }>;
}

interface Summary {
  symbols: { symbol: string }[];
  health: HealthBody;
}

function lastSummary(reader: EventReader): Summary {
  const data: unknown = reader.of('summary').at(-1)?.data;
  return data as Summary;
}

/** Waits until the health report (as `headers` see it) names the failing file. */
async function failingReason(url: string, headers: Record<string, string> = {}): Promise<string | null> {
  return waitFor(
    'the bad file to be reported failing',
    async () => {
      const { body } = await getJson<HealthBody>(`${url}/health`, headers);
      const failure = Object.values(body.components ?? {})
        .flatMap((component) => component.failing ?? [])
        .find((entry) => entry.file.endsWith('PASSWD.json'));
      return failure?.reason ?? undefined;
    },
    WAIT,
  );
}

describe('/health and the dashboard digest with tokens on', () => {
  it('give status and counts only without an admin token; details (never file bytes) to admins; each token its own rows', async () => {
    const dir = await folderWithBadFile();
    const bridge = await startBridgeProcess({
      sources: [{ path: dir }],
      dashboard: { intervalMs: 100, staleAfterMs: 5000 },
      auth: {
        tokens: [
          { name: 'ops', token: OPS, admin: true },
          { name: 'fx', token: FX, symbols: ['EUR*'] },
        ],
      },
    });
    const url = bridge.url;
    const reason = await failingReason(url, bearer(OPS));
    expect(reason).toMatch(/^invalid JSON \(\d+ bytes\)/);
    expect(reason).not.toContain('root');

    for (const headers of [{}, bearer(FX), bearer('not-a-token-at-all')]) {
      const { status, body } = await getJson<HealthBody>(`${url}/health`, headers);
      expect(status).toBe(200);
      expect(Object.keys(body).sort()).toEqual(['counts', 'epoch', 'status', 'uptimeS', 'version']);
      expect(body.counts).toMatchObject({ HEALTHY: expect.any(Number), DEGRADED: expect.any(Number), UNHEALTHY: expect.any(Number) });
      expect(JSON.stringify(body)).not.toContain(dir);
    }
    for (const route of ['/health', '/v1/stats']) {
      const text = await (await fetch(`${url}${route}`, { headers: bearer(OPS) })).text();
      expect(text).toContain('PASSWD.json');
      expect(text).not.toContain('root:x');
    }
    expect((await getJson(`${url}/metrics`, bearer(FX))).status).toBe(403);
    expect((await getJson(`${url}/v1/stats`, bearer(FX))).status).toBe(403);
    const listed = await getJson<{ symbols: { symbol: string }[] }>(`${url}/v1/symbols`, bearer(FX));
    expect(listed.body.symbols.map((entry) => entry.symbol)).toEqual(['EURUSD']);

    // The dashboard: fx sees its rows and the brief health; ops everything, with no file bytes.
    const fx = await EventReader.open(`${url}/v1/dashboard/sse?token=${FX}`);
    const ops = await EventReader.open(`${url}/v1/dashboard/sse?token=${OPS}`);
    await waitFor('summaries', () => fx.of('summary').length > 1 && ops.of('summary').length > 1, WAIT);
    const fxSummary = lastSummary(fx);
    expect(fxSummary.symbols.map((row) => row.symbol)).toEqual(['EURUSD']);
    expect(Object.keys(fxSummary.health).sort()).toEqual(['counts', 'status']);
    expect(JSON.stringify(fxSummary)).not.toContain(dir);
    const opsSummary = lastSummary(ops);
    expect(opsSummary.symbols.map((row) => row.symbol)).toEqual(['ESZ25_FUT_CME', 'EURUSD', 'XAUUSD']);
    expect(JSON.stringify(opsSummary.health)).toContain('PASSWD.json');
    expect(JSON.stringify(ops.events)).not.toContain('root:x');
    fx.close();
    ops.close();
  });
});

describe('/health with tokens off (loopback by default)', () => {
  it('is detailed, and never quotes file bytes', async () => {
    const dir = await folderWithBadFile();
    const bridge = await startBridgeProcess({ sources: [{ path: dir }] });
    const reason = await failingReason(bridge.url);
    expect(reason).toMatch(/^invalid JSON \(\d+ bytes\)/);
    expect(reason).not.toContain('root');
    const text = await (await fetch(`${bridge.url}/health`)).text();
    expect(JSON.parse(text)).toHaveProperty('components');
    expect(text).not.toContain('root:x');
  });
});
