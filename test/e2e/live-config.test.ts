import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/app/config.js';
import { ConfigLoader } from '../../src/app/config-loader.js';
import { writeJsonSnapshot } from '../../src/sim/json-writer.js';
import { LogCapture, startConfiguredBridge, startTestBridge } from '../helpers/bridge.js';
import { getJson, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { sleep, waitFor } from '../helpers/wait.js';

interface ErrorBody {
  error: { code: string; message: string };
}

interface ChangeBody {
  changed: string[];
  config: { journal: { size: number }; log: { level: string }; sources: { path: string }[] };
}

async function send(url: string, method: string, body?: unknown, type = 'application/json'): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': type } }) });
  return { status: response.status, body: await response.json() };
}

describe('configuration at run time', () => {
  it('GET /v1/config shows it with secrets redacted; PATCH applies live keys; a bad or restart-only change is refused; rollback goes back', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const logs = new LogCapture('warn');
    const bridge = await startTestBridge([dir], { auth: { tokens: [{ name: 'ops', token: 'ops-secret-0123456789', admin: true }] } }, logs);
    const auth = { authorization: 'Bearer ops-secret-0123456789' };
    const patch = async (body: unknown, type?: string) => {
      const response = await fetch(`${bridge.url}/v1/config`, {
        method: 'PATCH',
        body: JSON.stringify(body),
        headers: { ...auth, 'content-type': type ?? 'application/json' },
      });
      return { status: response.status, body: (await response.json()) as ChangeBody & ErrorBody };
    };

    const shown = await getJson<{ config: { auth: { tokens: unknown[] }; port: number }; canRollback: boolean; restartOnly: string[] }>(
      `${bridge.url}/v1/config`,
      auth,
    );
    expect(shown.body.config.auth.tokens).toEqual([{ name: 'ops', token: '[redacted]', admin: true }]);
    expect(shown.body.canRollback).toBe(false);
    expect(shown.body.restartOnly).toEqual([
      'host',
      'port',
      'stream.maxFrameBytes',
      'http.maxWaitMs',
      'stream.compression.websocket',
      'stream.compression.http',
      'stream.compression.thresholdBytes',
      'log.format',
      'cluster.redis',
      'cluster.nodeId',
      'cluster.prefix',
      'cluster.leaseMs',
      'cluster.documentEvery',
      'cluster.maxMessageBytes',
    ]);

    const applied = await patch({ journal: { size: 3 }, log: { level: 'debug' }, watch: { debounceMs: 7 } }, 'application/merge-patch+json');
    expect(applied.status).toBe(200);
    expect(applied.body.changed).toEqual(['watch.debounceMs', 'journal.size', 'log.level']);
    expect(bridge.config.current).toMatchObject({ journal: { size: 3 }, log: { level: 'debug' }, watch: { debounceMs: 7 } });
    // The journals now hold the last 3 patches; the log level reaches every component.
    for (let i = 0; i < 5; i++) {
      const seq = bridge.store.get('XAUUSD')?.seq ?? 0;
      await files.writeJson('rename');
      await waitFor('the commit', () => (bridge.store.get('XAUUSD')?.seq ?? 0) > seq);
    }
    expect(bridge.store.get('XAUUSD')?.journal.size).toBe(3);
    await writeJsonSnapshot(join(dir, 'NEW.json'), { bid: 1 }, 'rewrite');
    await waitFor('a debug line from the reader of a new file', () => logs.find((line) => line.level === 20 && line.msg === 'file recognised'));

    const invalid = await patch({ watch: { debounceMs: 'soon' } });
    expect([invalid.status, invalid.body.error.code]).toEqual([400, 'BAD_REQUEST']);
    expect(invalid.body.error.message).toMatch(/watch\.debounceMs: "soon" is not allowed/);
    const restart = await patch({ port: 1, journal: { size: 9 } });
    expect(restart.status).toBe(400);
    expect(restart.body.error.message).toMatch(/port: read only at start/);
    expect(bridge.config.current.journal.size).toBe(3);

    const back = await send(`${bridge.url}/v1/config/rollback`, 'POST');
    expect(back.status).toBe(401);
    const rolled = await fetch(`${bridge.url}/v1/config/rollback`, { method: 'POST', headers: auth });
    expect(rolled.status).toBe(200);
    expect(((await rolled.json()) as ChangeBody).changed).toEqual(['watch.debounceMs', 'journal.size', 'log.level']);
    expect(bridge.config.current).toMatchObject({ journal: { size: 1000 }, log: { level: 'info' }, watch: { debounceMs: 3 } });
  });

  it('adds and removes sources live: a new folder is read and served, a removed one no longer updates', async () => {
    const first = await tempDir();
    const files = new TerminalFiles(first);
    await files.create();
    const second = await tempDir();
    await writeJsonSnapshot(join(second, 'BTCUSD.json'), { bid: 90_000, ask: 90_010 }, 'rewrite');
    const bridge = await startTestBridge([first]);

    const added = await send(`${bridge.url}/v1/config`, 'PATCH', { sources: [{ path: first }, { path: second }] });
    expect(added.status).toBe(200);
    expect((added.body as ChangeBody).changed).toEqual(['sources']);
    expect(bridge.store.get('BTCUSD')?.document.quote).toEqual({ bid: 90_000, ask: 90_010 });
    expect((await getJson<{ components: Record<string, unknown> }>(`${bridge.url}/health`)).body.components[`source:${second}`]).toBeDefined();

    // New bar windows: every file is read again and clients get the difference as patches.
    const client = await WsClient.connect(bridge.url);
    client.subscribe(['ESZ25_FUT_CME']);
    await waitFor('the snapshot', () => client.document('ESZ25_FUT_CME'));
    const windows = await send(`${bridge.url}/v1/config`, 'PATCH', { document: { bars: { M1: 200, M5: 20 } } });
    expect((windows.body as ChangeBody).changed).toEqual(['document.bars']);
    expect(bridge.store.get('ESZ25_FUT_CME')?.document.bars.M5?.length).toBeGreaterThan(0);
    await waitFor('the client to follow', () => client.document('ESZ25_FUT_CME')?.seq === bridge.store.get('ESZ25_FUT_CME')?.seq);
    expect(client.document('ESZ25_FUT_CME')?.data).toEqual(JSON.parse(bridge.store.get('ESZ25_FUT_CME')?.documentJson() ?? 'null'));
    expect(client.of('snapshot')).toHaveLength(1);
    await client.close();

    const removed = await send(`${bridge.url}/v1/config`, 'PATCH', { sources: [{ path: second }] });
    expect(removed.status).toBe(200);
    const seq = bridge.store.get('XAUUSD')?.seq;
    await files.step();
    await writeJsonSnapshot(join(second, 'BTCUSD.json'), { bid: 91_000, ask: 91_010 }, 'rename');
    await waitFor('the kept folder to update', () => bridge.store.get('BTCUSD')?.document.quote.bid === 91_000);
    await sleep(100);
    expect(bridge.store.get('XAUUSD')?.seq).toBe(seq);
  });

  it('watches its config files: a good edit applies, a bad one is refused with a log line and the running config stays', async () => {
    const watched = await tempDir();
    await writeJsonSnapshot(join(watched, 'XAUUSD.json'), { bid: 1, ask: 2 }, 'rewrite');
    const configDir = await tempDir();
    const file = join(configDir, 'bridge.json');
    const base = { port: 0, sources: [{ path: watched }], journal: { size: 50 } };
    await writeFile(join(configDir, 'default.json'), JSON.stringify({ log: { level: 'warn' } }));
    await writeFile(file, JSON.stringify(base));
    const loader = new ConfigLoader({ configDir, file });
    const layers = await loader.load();
    const logs = new LogCapture('info');
    const bridge = await startConfiguredBridge(resolveConfig(...layers), { logger: logs.logger, configLoader: loader, configLayers: layers });
    const refusals = () => logs.lines.filter((line) => line.msg === 'config file change refused; the running config stays');

    await writeFile(file, JSON.stringify({ ...base, journal: { size: 7 } }));
    await waitFor('the edit to apply', () => bridge.config.current.journal.size === 7);
    expect(logs.find((line) => line.msg === 'config applied')).toMatchObject({ changed: ['journal.size'], by: 'config file' });

    await writeFile(file, '{"port": 0, "journal": {"size": 8');
    await waitFor('the refusal', () => refusals().length === 1);
    expect(String(refusals()[0]?.problems)).toMatch(/bridge\.json is not valid JSON/);
    await writeFile(file, JSON.stringify({ ...base, journal: { size: 8, sise: 9 } }));
    await waitFor('the second refusal', () => refusals().length === 2);
    expect(refusals()[1]?.problems).toEqual(['journal.sise: 9 is not allowed (unknown key)']);
    expect(bridge.config.current.journal.size).toBe(7);

    // A key read only at start waits for the next start; the rest applies.
    await writeFile(file, JSON.stringify({ ...base, port: 1, journal: { size: 9 } }));
    await waitFor('the edit to apply', () => bridge.config.current.journal.size === 9);
    expect(bridge.config.current.port).toBe(0);
    expect(logs.find((line) => line.msg === 'config file changes keys read only at start: they apply at the next start')).toMatchObject({ keys: ['port'] });
    expect((await getJson<{ config: { applied: number; refused: number } }>(`${bridge.url}/v1/stats`)).body.config).toEqual({ applied: 2, refused: 2 });
  });
});
