import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bridge } from '../../src/app/bridge.js';
import { DepthCommand } from '../../src/formats/depth.js';
import { DepthWriter, snapshotBatch } from '../../src/sim/depth-writer.js';
import { scidTickRecord } from '../../src/sim/scid-writer.js';
import { CHECKPOINT_FILE } from '../../src/app/checkpoint.js';
import { MANIFEST_FILE } from '../../src/state/persist.js';
import { LogCapture, startTestBridge } from '../helpers/bridge.js';
import { getJson, SseClient, WsClient, type MirroredDocument } from '../helpers/clients.js';
import { TestProxy } from '../helpers/proxy.js';
import { ClientRecorder, closeClients, expectConverged, FAST_BRIDGE, testClient } from '../helpers/sdk.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { sleep, waitFor } from '../helpers/wait.js';

/**
 * Restarts with the persisted journal (`journal.persistDir`): a clean shutdown saves every
 * symbol's document, version and journal; the next start keeps the epoch, reads the files
 * again and publishes what changed meanwhile as patches, so clients resume without a
 * snapshot. Without a clean shutdown (or with a state that does not check out) the bridge
 * starts a new epoch, and clients resync (test/client/reconnect.test.ts covers that path).
 */

afterEach(closeClients);

const symbols = TerminalFiles.symbols;

async function filesAndState(): Promise<{ dir: string; state: string; files: TerminalFiles }> {
  const dir = await tempDir();
  const state = await tempDir();
  const files = new TerminalFiles(dir);
  await files.create();
  return { dir, state, files };
}

function persisted(state: string, port = 0): Record<string, unknown> {
  return { ...FAST_BRIDGE, port, journal: { persistDir: state } };
}

/** Waits for the bridge to have committed everything the files hold (no commit for 150 ms). */
async function quiet(bridge: Bridge): Promise<void> {
  await waitFor('the bridge to be quiet', async () => {
    const gseq = bridge.store.gseq;
    await sleep(150);
    return gseq === bridge.store.gseq;
  });
}

function expectSameDocuments(held: ReadonlyMap<string, MirroredDocument>, bridge: Bridge, what: string): void {
  for (const symbol of symbols) {
    const state = bridge.store.get(symbol);
    expect(held.get(symbol), `${what}: ${symbol}`).toEqual({ epoch: bridge.store.epoch, seq: state?.seq, data: JSON.parse(state?.documentJson() ?? 'null') });
  }
}

describe('restart with the persisted journal', () => {
  it('keeps the epoch and versions: a WebSocket client resumes with the patches written meanwhile, no snapshot', async () => {
    const { dir, state, files } = await filesAndState();
    const first = await startTestBridge([dir], persisted(state));
    const client = await WsClient.connect(first.url);
    client.subscribe(['*']);
    await waitFor('snapshots', () => client.mirror.snapshots === 3);
    await files.step();
    await quiet(first);
    await waitFor('the client to catch up', () => symbols.every((symbol) => client.document(symbol)?.seq === first.store.get(symbol)?.seq));
    const held = new Map(client.mirror.documents);
    const versions = Object.fromEntries(symbols.map((symbol) => [symbol, first.store.get(symbol)?.seq]));
    await first.close();
    expect((await readdir(state)).sort()).toEqual(['0.json', '1.json', '2.json', CHECKPOINT_FILE, MANIFEST_FILE].sort());

    // Written while the bridge is down.
    await files.step();
    await files.step();
    const second = await startTestBridge([dir], persisted(state));
    expect(second.store.epoch).toBe(first.store.epoch);
    // The manifest is used once: a crash of this run would not find it.
    expect(await readdir(state)).not.toContain(MANIFEST_FILE);
    await quiet(second);
    for (const symbol of symbols) expect(second.store.get(symbol)?.seq).toBeGreaterThan(versions[symbol] as number);

    const resumed = await WsClient.connect(second.url);
    for (const [symbol, document] of held) resumed.mirror.documents.set(symbol, structuredClone(document));
    resumed.subscribe(['*'], Object.fromEntries([...held].map(([symbol, document]) => [symbol, { epoch: document.epoch, seq: document.seq }])));
    await waitFor('the resumed client to catch up', () => symbols.every((symbol) => resumed.document(symbol)?.seq === second.store.get(symbol)?.seq));
    expect(resumed.of('snapshot')).toEqual([]);
    expect(resumed.mirror.violations).toEqual([]);
    expectSameDocuments(resumed.mirror.documents, second, 'resumed over WebSocket');
    await client.close();
    await resumed.close();
  });

  it('an SSE client resumes from its Last-Event-ID across the restart, no snapshot', async () => {
    const { dir, state, files } = await filesAndState();
    const first = await startTestBridge([dir], persisted(state));
    const sse = await SseClient.connect(first.url, 'symbols=*');
    await waitFor('snapshots', () => sse.mirror.snapshots === 3);
    await files.step();
    await quiet(first);
    await waitFor('the client to catch up', () => symbols.every((symbol) => sse.mirror.documents.get(symbol)?.seq === first.store.get(symbol)?.seq));
    sse.close();
    await first.close();
    await files.step();

    const second = await startTestBridge([dir], persisted(state));
    await quiet(second);
    const resumed = await SseClient.connect(second.url, 'symbols=*', { 'last-event-id': sse.lastEventId as string }, sse.mirror.documents);
    await waitFor('the resumed client to catch up', () =>
      symbols.every((symbol) => resumed.mirror.documents.get(symbol)?.seq === second.store.get(symbol)?.seq),
    );
    expect(resumed.mirror.snapshots).toBe(0);
    expect(resumed.mirror.violations).toEqual([]);
    expectSameDocuments(resumed.mirror.documents, second, 'resumed over SSE');
    resumed.close();
  });

  it("the client SDK goes on through the restart without a resync, and its documents equal the new bridge's (waiting on WebSocket while the bridge is down)", async () => {
    const { dir, state, files } = await filesAndState();
    const first = await startTestBridge([dir], persisted(state));
    const proxy = await TestProxy.start(first.url);
    const client = testClient(proxy.url);
    const recorder = new ClientRecorder(client);
    client.subscribe(['*']);
    await waitFor('the first snapshots', () => recorder.of('snapshot').length === 3);
    await files.step();
    await expectConverged(client, first, symbols, 'before the restart');

    await first.close();
    await waitFor('the client to notice', () => client.state === 'reconnecting');
    await files.step();
    // Down for more attempts than fallbackAfter: the SDK does not switch transports for a bridge
    // that does not answer at all (SSE would cost it snapshots; found by the soak).
    await waitFor('several attempts', () => recorder.of('reconnecting').length >= 4, 10_000);
    expect(new Set(recorder.of('reconnecting').map((event) => event.transport))).toEqual(new Set(['ws']));
    const second = await startTestBridge([dir], persisted(state, first.port));
    proxy.retarget(second.url);
    await files.step();
    await expectConverged(client, second, symbols, 'after the restart');
    expect(client.epoch).toBe(first.store.epoch);
    expect(client.transport).toBe('ws');
    expect(recorder.of('snapshot')).toHaveLength(3);
    expect(recorder.of('resync')).toEqual([]);
    expect(recorder.of('gap')).toEqual([]);
    expect(recorder.violations).toEqual([]);
  });

  it('publishes what changed while it was down as one patch per symbol, even for a symbol fed by two files', async () => {
    const { dir, state, files } = await filesAndState();
    const depth = new DepthWriter(join(dir, 'ESZ25_FUT_CME.2026-11-20.depth'));
    const t0 = Date.UTC(2026, 10, 20, 14);
    await depth.create(snapshotBatch(t0, { bids: [[6000, 5, 1]], asks: [[6000.25, 7, 2]] }));
    const first = await startTestBridge([dir], persisted(state));
    await waitFor('the book', () => first.store.get('ESZ25_FUT_CME')?.document.book);
    const client = await WsClient.connect(first.url);
    client.subscribe(['ESZ25_FUT_CME']);
    await waitFor('a snapshot', () => client.mirror.snapshots === 1);
    const held = client.document('ESZ25_FUT_CME') as MirroredDocument;
    await first.close();

    await files.step();
    await depth.append([{ time: t0 + 1000, command: DepthCommand.ADD_BID, price: 5999.75, quantity: 3, orders: 1, end: true }]);
    const second = await startTestBridge([dir], persisted(state));
    await quiet(second);
    expect(second.store.get('ESZ25_FUT_CME')?.seq).toBe(held.seq + 1);
    const resumed = await WsClient.connect(second.url);
    resumed.mirror.documents.set('ESZ25_FUT_CME', structuredClone(held));
    resumed.subscribe(['ESZ25_FUT_CME'], { ESZ25_FUT_CME: { epoch: held.epoch, seq: held.seq } });
    await waitFor('the patch', () => resumed.mirror.patches === 1);
    expect(resumed.document('ESZ25_FUT_CME')?.data).toEqual(JSON.parse(second.store.get('ESZ25_FUT_CME')?.documentJson() ?? 'null'));
    expect((resumed.document('ESZ25_FUT_CME')?.data as { book: unknown }).book).toEqual({
      bids: [
        [6000, 5, 1],
        [5999.75, 3, 1],
      ],
      asks: [[6000.25, 7, 2]],
      time: t0 + 1000,
    });
    await client.close();
    await resumed.close();
  });

  it('keeps the newest patches that fit a smaller journal, and answers older resume points with a snapshot', async () => {
    const { dir, state, files } = await filesAndState();
    const first = await startTestBridge([dir], persisted(state));
    const symbol = 'ESZ25_FUT_CME';
    const start = first.store.get(symbol)?.seq as number;
    const later = Date.UTC(2026, 10, 20, 15);
    for (let i = 1; i <= 4; i++) {
      await files.scid.append([scidTickRecord({ time: later + i * 1000, bid: 6000, ask: 6000.25, last: 6000 + i, size: 1, side: 'buy' })]);
      await waitFor('a commit', () => first.store.get(symbol)?.seq === start + i);
    }
    await first.close();
    const second = await startTestBridge([dir], { ...persisted(state), journal: { persistDir: state, size: 2 } });
    await quiet(second);
    const es = second.store.get(symbol);
    // The file did not change while the bridge was down: no new version.
    expect(es?.seq).toBe(start + 4);
    expect(es?.journal.size).toBe(2);
    expect(es?.journal.floorSeq).toBe(start + 2);
    const patches = await getJson<{ patches: { seq: number }[] }>(`${second.url}/v1/symbols/${symbol}/patches?epoch=${second.store.epoch}&since=${start + 2}`);
    expect(patches.body.patches.map((patch) => patch.seq)).toEqual([start + 3, start + 4]);
    const gone = await getJson<{ error: { code: string } }>(`${second.url}/v1/symbols/${symbol}/patches?epoch=${second.store.epoch}&since=${start + 1}`);
    expect(gone.status).toBe(410);
    const client = await WsClient.connect(second.url);
    client.subscribe([symbol], { [symbol]: { epoch: second.store.epoch, seq: start + 1 } });
    await waitFor('a snapshot', () => client.of('snapshot').length === 1);
    await client.close();
  });

  it('starts a new epoch when the last run did not save its state (a crash), or the saved state does not check out', async () => {
    const { dir, state } = await filesAndState();
    const first = await startTestBridge([dir], persisted(state));
    await first.close();
    // A run that "crashes": it consumed the manifest and never saves again.
    const crashed = await startTestBridge([dir], persisted(state));
    expect(crashed.store.epoch).toBe(first.store.epoch);
    const logs = new LogCapture('info');
    const afterCrash = await startTestBridge([dir], persisted(state), logs);
    expect(afterCrash.store.epoch).not.toBe(first.store.epoch);
    expect(logs.find((line) => String(line.msg).includes('no saved state'))).toBeDefined();
    await crashed.close();
    await afterCrash.close();

    // A symbol file that does not match its manifest entry: the whole state is refused.
    const manifest = JSON.parse(await readFile(join(state, MANIFEST_FILE), 'utf8')) as { epoch: string; symbols: { file: string }[] };
    const file = join(state, manifest.symbols[0]?.file as string);
    const saved = JSON.parse(await readFile(file, 'utf8')) as { seq: number };
    await writeFile(file, JSON.stringify({ ...saved, seq: saved.seq + 5 }));
    const refusedLogs = new LogCapture('warn');
    const refused = await startTestBridge([dir], persisted(state), refusedLogs);
    expect(refused.store.epoch).not.toBe(manifest.epoch);
    const warning = refusedLogs.find((line) => line.msg === 'saved state refused; starting a new epoch (clients take snapshots)');
    expect(warning?.reason).toMatch(/journal does not lead from its floor|holds .* the manifest/);
    expect(warning).toMatchObject({ event: 'state_refused', err: { code: 'STATE_INCONSISTENT' } });
    expect(refused.store.get('XAUUSD')?.seq).toBe(1);
  });

  it('a persistDir it cannot write to: an error line at shutdown, and the next start begins a new epoch', async () => {
    const { dir, state } = await filesAndState();
    const notAFolder = join(state, 'a-file');
    await writeFile(notAFolder, 'not a folder');
    const logs = new LogCapture('info');
    const first = await startTestBridge([dir], persisted(notAFolder), logs);
    await first.close();
    const failed = logs.find((line) => line.msg === 'state could not be saved; the next start begins a new epoch');
    expect(failed?.level).toBe(50);
    expect(failed?.event).toBe('state_save_failed');
    expect(failed?.dir).toBe(notAFolder);
    const second = await startTestBridge([dir], persisted(notAFolder));
    expect(second.store.epoch).not.toBe(first.store.epoch);
  });
});
