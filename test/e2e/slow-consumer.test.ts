import type { Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Bridge } from '../../src/app/bridge.js';
import { writeJsonSnapshot } from '../../src/sim/json-writer.js';
import { startTestBridge } from '../helpers/bridge.js';
import { getJson, SseClient, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

/** Rewrites the JSON file with a new 200 KB field, so that each change is a large patch. */
async function bigChange(bridge: Bridge, path: string, round: number): Promise<void> {
  const seq = bridge.store.get('BIG')?.seq ?? 0;
  await writeJsonSnapshot(path, { bid: round, ask: round + 1, blob: String(round).padStart(8, '0').repeat(25_000) }, 'rename');
  await waitFor('the commit', () => (bridge.store.get('BIG')?.seq ?? 0) > seq);
}

function transportSocket(client: WsClient): Socket {
  return (client.socket as unknown as { _socket: Socket })._socket;
}

const limits = { stream: { highWaterBytes: 64 * 1024, lowWaterBytes: 16 * 1024 } };

describe('a client that does not drain its socket', () => {
  it('stops getting patches, then is told SLOW_CONSUMER and gets a fresh snapshot, and converges', async () => {
    const dir = await tempDir();
    const path = join(dir, 'BIG.json');
    await writeJsonSnapshot(path, { bid: 0, ask: 1 }, 'rewrite');
    const bridge = await startTestBridge([dir], limits);
    const slow = await WsClient.connect(bridge.url);
    slow.subscribe(['BIG']);
    const sse = await SseClient.connect(bridge.url, 'symbols=BIG');
    await waitFor('snapshot', () => slow.document('BIG') && sse.mirror.documents.get('BIG'));
    transportSocket(slow).pause();

    let rounds = 0;
    while (bridge.hub.slowConsumers === 0 && rounds < 400) await bigChange(bridge, path, ++rounds);
    expect(bridge.hub.slowConsumers).toBe(1);
    for (let i = 0; i < 10; i++) await bigChange(bridge, path, ++rounds);

    transportSocket(slow).resume();
    await waitFor('the SLOW_CONSUMER notice', () => slow.of('error').find((message) => message.code === 'SLOW_CONSUMER'), 10_000);
    await waitFor('convergence', () => slow.document('BIG')?.seq === bridge.store.get('BIG')?.seq, 10_000);
    const snapshot = (await getJson<{ seq: number; data: unknown }>(`${bridge.url}/v1/symbols/BIG`)).body;
    expect(slow.document('BIG')?.data).toEqual(snapshot.data);
    expect(slow.mirror.violations).toEqual([]);
    expect(slow.of('snapshot')).toHaveLength(2);
    // Patches made while it was behind were dropped, not queued.
    expect(slow.of('patch').length).toBeLessThan(rounds);
    // A client that keeps up was not affected.
    await waitFor('the fast SSE client', () => sse.mirror.documents.get('BIG')?.seq === snapshot.seq);
    expect(sse.mirror.patches).toBe(rounds);
    expect(bridge.hub.slowConsumers).toBe(0);
    sse.close();
    await slow.close();
  });

  it('is closed with 4008 after a SLOW_CONSUMER error when the policy is close', async () => {
    const dir = await tempDir();
    const path = join(dir, 'BIG.json');
    await writeJsonSnapshot(path, { bid: 0, ask: 1 }, 'rewrite');
    const bridge = await startTestBridge([dir], { stream: { ...limits.stream, slowConsumer: 'close' } });
    const slow = await WsClient.connect(bridge.url);
    slow.subscribe(['BIG']);
    await waitFor('snapshot', () => slow.document('BIG'));
    const closed = new Promise<number>((resolve) => slow.socket.once('close', (code) => resolve(code)));
    transportSocket(slow).pause();
    let rounds = 0;
    while (bridge.hub.clients().ws === 1 && rounds < 400) await bigChange(bridge, path, ++rounds);
    expect(bridge.hub.clients().ws).toBe(0);
    transportSocket(slow).resume();
    expect(await closed).toBe(4008);
    expect(slow.of('error').at(-1)?.code).toBe('SLOW_CONSUMER');
  });
});
