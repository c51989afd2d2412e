import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { InstrumentDocument, Update } from '../../src/client/index.js';
import { writeJsonSnapshot } from '../../src/sim/json-writer.js';
import { startTestBridge } from '../helpers/bridge.js';
import { ClientRecorder, closeClients, expectConverged, FAST_BRIDGE, filesAndBridge, testClient } from '../helpers/sdk.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { sleep, waitFor } from '../helpers/wait.js';

afterEach(closeClients);

describe("the client SDK keeps the bridge's documents", () => {
  for (const kind of ['ws', 'sse', 'poll'] as const) {
    it(`over ${kind}: converges through appends, partial records, rewrites and renames, every patch in order`, async () => {
      const { files, bridge } = await filesAndBridge();
      const client = testClient(bridge.url, { transports: [kind] });
      const recorder = new ClientRecorder(client);
      const updates: Update[] = [];
      client.subscribe(['*'], (_document, update) => updates.push(update));
      await waitFor('the first snapshots', () => recorder.of('snapshot').length === 3);
      for (let round = 0; round < 20; round++) {
        await files.step();
        if (round === 10) await files.rewriteScid();
        await sleep(10);
      }
      await expectConverged(client, bridge, TerminalFiles.symbols, kind);
      expect(recorder.violations).toEqual([]);
      expect(recorder.of('open')).toEqual([
        {
          transport: kind,
          epoch: kind === 'sse' ? undefined : bridge.store.epoch,
          reason: kind === 'ws' ? 'WebSocket from options.WebSocket' : 'first in options.transports',
        },
      ]);
      expect(recorder.of('snapshot')).toHaveLength(3);
      expect(recorder.of('resync')).toEqual([]);
      expect(client.transport).toBe(kind);
      // The callback saw every version the events announced.
      expect(updates.length).toBe(recorder.of('snapshot').length + recorder.of('patch').length);
    });
  }

  it('hands out frozen documents: a version never changes after it is handed out', async () => {
    const { files, bridge } = await filesAndBridge();
    const client = testClient(bridge.url);
    const versions: { document: InstrumentDocument; copy: string }[] = [];
    client.subscribe('XAUUSD', (document) => versions.push({ document, copy: JSON.stringify(document) }));
    await waitFor('a snapshot', () => versions.length === 1);
    for (let i = 0; i < 3; i++) {
      const seq = client.version('XAUUSD')?.seq ?? 0;
      await files.writeJson('rewrite');
      await waitFor('a patch', () => (client.version('XAUUSD')?.seq ?? 0) > seq);
    }
    expect(versions.length).toBeGreaterThanOrEqual(4);
    for (const { document, copy } of versions) expect(JSON.stringify(document)).toBe(copy);
    const latest = client.get('XAUUSD') as InstrumentDocument;
    expect(Object.isFrozen(latest) && Object.isFrozen(latest.quote)).toBe(true);
    expect(() => {
      (latest.quote as { bid?: number }).bid = 1;
    }).toThrow(TypeError);
    await expectConverged(client, bridge, ['XAUUSD'], 'ws');
  });

  it('gets the snapshot of a symbol that appears after the subscription, and stops after unsubscribe', async () => {
    const dir = await tempDir();
    const bridge = await startTestBridge([dir], FAST_BRIDGE);
    const client = testClient(bridge.url);
    const recorder = new ClientRecorder(client);
    const seen: string[] = [];
    const stop = client.subscribe(['NEWSYM', 'OTHER'], (document) => seen.push(document.symbol));
    await waitFor('open', () => client.state === 'open');
    await writeJsonSnapshot(join(dir, 'NEWSYM.json'), { bid: 1, ask: 2 }, 'rewrite');
    await waitFor('the new symbol', () => client.get('NEWSYM'));
    expect(client.get('NEWSYM')?.quote).toEqual({ bid: 1, ask: 2 });

    // A second subscription gets the held document at once.
    const late: string[] = [];
    const stopLate = client.subscribe('NEWSYM', (document) => late.push(document.symbol));
    await waitFor('the held document', () => late.length === 1);

    stop();
    expect(client.get('NEWSYM')).toBeDefined(); // still wanted by the second subscription
    stopLate();
    expect(client.get('NEWSYM')).toBeUndefined();
    const patchesBefore = recorder.of('patch').length;
    await writeFile(join(dir, 'NEWSYM.json'), JSON.stringify({ bid: 3, ask: 4 }));
    await waitFor('the bridge to take the change', () => bridge.store.get('NEWSYM')?.document.quote.bid === 3);
    await sleep(100);
    expect(recorder.of('patch').length).toBe(patchesBefore);
    expect(seen).toEqual(['NEWSYM']);
  });

  it('calls a subscription to both * and a symbol once per version; unsubscribing * keeps only what is named', async () => {
    const { files, bridge } = await filesAndBridge();
    const client = testClient(bridge.url);
    const versions: string[] = [];
    client.subscribe(['*', 'XAUUSD'], (document, { seq }) => versions.push(`${document.symbol}:${seq}`));
    client.subscribe('EURUSD');
    await waitFor('every snapshot', () => TerminalFiles.symbols.every((symbol) => client.get(symbol)));
    await files.step();
    await expectConverged(client, bridge, TerminalFiles.symbols, 'ws');
    expect(versions.length).toBe(new Set(versions).size);
    const gold = versions.filter((entry) => entry.startsWith('XAUUSD:')).map((entry) => Number(entry.slice('XAUUSD:'.length)));
    const first = gold[0] as number;
    expect(gold).toEqual(Array.from({ length: (bridge.store.get('XAUUSD')?.seq ?? 0) - first + 1 }, (_, i) => first + i));

    client.unsubscribe('*');
    expect(client.get('ESZ25_FUT_CME')).toBeUndefined();
    expect(client.get('XAUUSD')).toBeDefined();
    expect(client.get('EURUSD')).toBeDefined();
    await files.step();
    await expectConverged(client, bridge, ['XAUUSD', 'EURUSD'], 'named symbols after unsubscribing *');
    expect(client.get('ESZ25_FUT_CME')).toBeUndefined();
  });

  it('rejects bad arguments at once, naming what is wrong', () => {
    expect(() => testClient('ftp://example.com')).toThrow(/must start with http:, https:, ws: or wss:/);
    expect(() => testClient('http://127.0.0.1:1', { livenessTimeoutMs: 10, pingIntervalMs: 50 })).toThrow(
      /livenessTimeoutMs \(10\) must exceed options\.pingIntervalMs \(50\)/,
    );
    expect(() => testClient('http://127.0.0.1:1', { transports: ['ws', 'carrier-pigeon' as 'ws'] })).toThrow(/transports must be/);
    expect(() => testClient('http://127.0.0.1:1', { pingInterval: 5 } as never)).toThrow(/unknown option "pingInterval"/);
    const client = testClient('http://127.0.0.1:1');
    expect(() => client.subscribe([])).toThrow(/non-empty array/);
    expect(() => client.subscribe('A,B')).toThrow(/must not contain U\+002C/);
  });
});
