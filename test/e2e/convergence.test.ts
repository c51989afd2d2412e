import { describe, expect, it } from 'vitest';
import type { Bridge } from '../../src/app/bridge.js';
import { startTestBridge } from '../helpers/bridge.js';
import { DocumentMirror, getJson, SseClient, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { sleep, waitFor } from '../helpers/wait.js';

interface Snapshot {
  symbol: string;
  epoch: string;
  seq: number;
  data: unknown;
}

async function httpSnapshots(bridge: Bridge, symbols: string[]): Promise<Map<string, Snapshot>> {
  const out = new Map<string, Snapshot>();
  for (const symbol of symbols) out.set(symbol, (await getJson<Snapshot>(`${bridge.url}/v1/symbols/${symbol}`)).body);
  return out;
}

/** Waits until the bridge is quiet and `mirror` holds exactly the bridge's documents. */
async function expectConverged(bridge: Bridge, mirror: DocumentMirror, symbols: string[], what: string): Promise<void> {
  // Quiet: no commit for 100 ms (a trailing read may still find the last write's bytes).
  await waitFor(`${what} to reach the bridge's seq, the bridge quiet`, async () => {
    const gseq = bridge.store.gseq;
    await sleep(100);
    return gseq === bridge.store.gseq && symbols.every((symbol) => mirror.documents.get(symbol)?.seq === bridge.store.get(symbol)?.seq);
  });
  const snapshots = await httpSnapshots(bridge, symbols);
  for (const symbol of symbols) {
    const snapshot = snapshots.get(symbol) as Snapshot;
    expect(mirror.documents.get(symbol), `${what}: ${symbol}`).toEqual({ epoch: snapshot.epoch, seq: snapshot.seq, data: snapshot.data });
  }
  expect(mirror.violations, what).toEqual([]);
}

describe('a file change reaches every transport', () => {
  it('WebSocket, SSE and HTTP converge to the same documents through appends, partial records, rewrites and renames', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const bridge = await startTestBridge([dir]);
    const symbols = TerminalFiles.symbols;

    const ws = await WsClient.connect(bridge.url);
    ws.subscribe(['*']);
    const sse = await SseClient.connect(bridge.url, 'symbols=*');
    await waitFor('first snapshots', () => ws.mirror.snapshots === 3 && sse.mirror.snapshots === 3);

    for (let round = 0; round < 25; round++) {
      await files.step();
      if (round === 12) await files.rewriteScid();
      await sleep(15);
    }
    await expectConverged(bridge, ws.mirror, symbols, 'WebSocket');
    await expectConverged(bridge, sse.mirror, symbols, 'SSE');
    expect(ws.mirror.patches).toBeGreaterThan(20);
    expect(ws.mirror.snapshots).toBe(3);
    expect(bridge.store.get('XAUUSD')?.document.fields).toEqual({ round: 25 });
    await ws.close();
    sse.close();
  });

  it('sends a snapshot of a symbol that appears after a subscription to it, or to *', async () => {
    const dir = await tempDir();
    const bridge = await startTestBridge([dir]);
    const named = await WsClient.connect(bridge.url);
    named.subscribe(['XAUUSD']);
    const all = await WsClient.connect(bridge.url);
    all.subscribe(['*']);
    const sse = await SseClient.connect(bridge.url, 'symbols=XAUUSD');
    await sleep(50);
    expect(named.of('snapshot')).toEqual([]);

    const files = new TerminalFiles(dir);
    await files.writeJson('rewrite');
    for (const client of [named.mirror, all.mirror, sse.mirror]) {
      await waitFor('the new symbol', () => client.documents.get('XAUUSD'));
    }
    expect(named.of('snapshot')[0]).toMatchObject({ symbol: 'XAUUSD', seq: 1 });
    expect(sse.events[0]?.event).toBe('snapshot');
    sse.close();
  });
});

describe('resume', () => {
  it('a WebSocket client that reconnects with (epoch, seq) gets exactly the patches it missed', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const bridge = await startTestBridge([dir]);

    const first = await WsClient.connect(bridge.url);
    first.subscribe(['ESZ25_FUT_CME', 'XAUUSD']);
    await waitFor('snapshots', () => first.mirror.snapshots === 2);
    await files.step();
    await waitFor('a patch', () => first.mirror.patches > 0);
    await first.close();
    const held = new Map(first.mirror.documents);
    const seqAtDrop = held.get('ESZ25_FUT_CME')?.seq as number;

    for (let i = 0; i < 5; i++) {
      await files.step();
      await sleep(30);
    }
    await waitFor('the bridge to move on', () => (bridge.store.get('ESZ25_FUT_CME')?.seq ?? 0) >= seqAtDrop + 5);

    const second = await WsClient.connect(bridge.url);
    for (const [symbol, document] of held) second.mirror.documents.set(symbol, structuredClone(document));
    second.subscribe(['ESZ25_FUT_CME', 'XAUUSD'], Object.fromEntries([...held].map(([symbol, d]) => [symbol, { epoch: d.epoch, seq: d.seq }])));
    await expectConverged(bridge, second.mirror, ['ESZ25_FUT_CME', 'XAUUSD'], 'resumed client');
    expect(second.of('snapshot')).toEqual([]);
    const replayed = second
      .of('patch')
      .filter((message) => message.symbol === 'ESZ25_FUT_CME')
      .map((message) => message.seq);
    const current = bridge.store.get('ESZ25_FUT_CME')?.seq as number;
    expect(replayed.slice(0, current - seqAtDrop)).toEqual(Array.from({ length: current - seqAtDrop }, (_, i) => seqAtDrop + 1 + i));
    await second.close();
  });

  it('gets a snapshot instead when the journal no longer holds the patches, or the epoch is over', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const bridge = await startTestBridge([dir], { journal: { size: 2 } });
    const seq = bridge.store.get('XAUUSD')?.seq as number;
    for (let i = 0; i < 4; i++) {
      await files.writeJson('rewrite');
      await waitFor('a commit', () => (bridge.store.get('XAUUSD')?.seq ?? 0) > seq + i);
    }
    const client = await WsClient.connect(bridge.url);
    client.subscribe(['XAUUSD'], { XAUUSD: { epoch: bridge.store.epoch, seq } });
    await waitFor('a snapshot', () => client.of('snapshot').length === 1);
    client.subscribe(['ESZ25_FUT_CME'], { ESZ25_FUT_CME: { epoch: 'another-epoch', seq: 1 } });
    await waitFor('a snapshot for the old epoch', () => client.of('snapshot').length === 2);
    expect(client.of('patch')).toEqual([]);
    await client.close();
  });

  it('an SSE client that reconnects with Last-Event-ID (header or query) misses nothing and repeats nothing', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const bridge = await startTestBridge([dir]);
    const symbols = TerminalFiles.symbols;

    const first = await SseClient.connect(bridge.url, `symbols=${symbols.join(',')}`);
    await waitFor('snapshots', () => first.mirror.snapshots === 3);
    await files.step();
    await waitFor('a patch', () => first.mirror.patches > 0);
    await sleep(50);
    first.close();
    for (let i = 0; i < 4; i++) {
      await files.step();
      await sleep(30);
    }

    for (const resumeWith of ['header', 'query'] as const) {
      const id = first.lastEventId as string;
      const held = first.mirror.documents;
      const second =
        resumeWith === 'header'
          ? await SseClient.connect(bridge.url, `symbols=${symbols.join(',')}`, { 'last-event-id': id }, held)
          : await SseClient.connect(bridge.url, `symbols=${symbols.join(',')}&lastEventId=${encodeURIComponent(id)}`, {}, held);
      await expectConverged(bridge, second.mirror, symbols, `SSE resumed by ${resumeWith}`);
      expect(second.mirror.snapshots).toBe(0);
      second.close();
    }
  });

  it('an SSE client cut off in the middle of its first snapshots gets the rest, never a patch it cannot apply', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const bridge = await startTestBridge([dir]);
    const symbols = TerminalFiles.symbols;
    const first = await SseClient.connect(bridge.url, 'symbols=*');
    await waitFor('snapshots', () => first.mirror.snapshots === 3);
    first.close();
    // Only the first snapshot "arrived": resume from its id.
    const firstEvent = first.events[0];
    expect(firstEvent?.id).toMatch(/:0$/);
    expect(first.events[2]?.id).toBe(`${bridge.store.epoch}:${bridge.store.gseq}`);
    const kept = JSON.parse(firstEvent?.data as string) as { symbol: string; epoch: string; seq: number; data: unknown };

    await files.step();
    await sleep(50);
    const held = new Map([[kept.symbol, { epoch: kept.epoch, seq: kept.seq, data: kept.data }]]);
    const second = await SseClient.connect(bridge.url, 'symbols=*', { 'last-event-id': firstEvent?.id as string }, held);
    await expectConverged(bridge, second.mirror, symbols, 'SSE resumed mid-burst');
    second.close();
  });
});
