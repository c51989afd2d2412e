import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_CODES, RAISED_ERROR_CODES } from '../../src/model/errors.js';
import WebSocket, { WebSocketServer } from 'ws';
import { frameText } from '../helpers/clients.js';
import { ClientRecorder, closeClients, testClient } from '../helpers/sdk.js';
import { sleep, waitFor } from '../helpers/wait.js';

/**
 * An in-process fake bridge speaking PROTOCOL.md §3, for the exact sequences a real bridge
 * does not produce on demand: skipped seqs, patches that do not apply, unknown messages.
 */
class FakeBridge {
  readonly frames: Record<string, unknown>[] = [];
  answerPings = true;
  #peer: WebSocket | undefined;

  private constructor(readonly server: WebSocketServer) {
    server.on('connection', (socket) => {
      this.#peer = socket;
      socket.on('message', (data) => {
        const frame = JSON.parse(frameText(data)) as Record<string, unknown>;
        if (frame.op === 'ping') {
          if (this.answerPings) socket.send(JSON.stringify({ type: 'pong', id: frame.id }));
          return;
        }
        this.frames.push(frame);
      });
      socket.send(JSON.stringify({ type: 'hello', epoch: 'E1', server: 'fake', heartbeatMs: 1000 }));
    });
  }

  static async start(): Promise<FakeBridge> {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return new FakeBridge(server);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get connections(): number {
    return this.server.clients.size;
  }

  send(message: unknown): void {
    this.#peer?.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  snapshot(seq: number, bid: number): void {
    this.send({ type: 'snapshot', symbol: 'A', epoch: 'E1', seq, data: { symbol: 'A', sources: ['json'], quote: { bid }, bars: {}, fields: {} } });
  }

  patch(seq: number, ops: unknown[]): void {
    this.send({ type: 'patch', symbol: 'A', epoch: 'E1', seq, ops });
  }

  bid(seq: number, bid: number): void {
    this.patch(seq, [{ op: 'replace', path: '/quote/bid', value: bid }]);
  }

  async close(): Promise<void> {
    for (const socket of this.server.clients) socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const fakes: FakeBridge[] = [];

afterEach(async () => {
  await closeClients();
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function subscribedClient() {
  const fake = await FakeBridge.start();
  fakes.push(fake);
  const client = testClient(fake.url);
  const recorder = new ClientRecorder(client);
  client.subscribe(['A']);
  await waitFor('the subscribe frame', () => fake.frames[0]);
  expect(fake.frames[0]).toEqual({ op: 'subscribe', symbols: ['A'] });
  return { fake, client, recorder };
}

describe('the client SDK against exact protocol sequences', () => {
  it('on a skipped seq asks to resume from the held version, ignores what was already under way, and applies the replay', async () => {
    const { fake, client, recorder } = await subscribedClient();
    fake.snapshot(1, 100);
    fake.bid(2, 101);
    fake.bid(4, 103);
    await waitFor('the resume request', () => fake.frames[1]);
    expect(fake.frames[1]).toEqual({ op: 'subscribe', symbols: ['A'], resume: { A: { epoch: 'E1', seq: 2 } } });
    expect(recorder.of('gap')).toEqual([{ symbol: 'A', held: { epoch: 'E1', seq: 2 }, received: { epoch: 'E1', seq: 4 } }]);
    fake.bid(5, 104); // sent live before the bridge saw the resume
    for (const [seq, bid] of [
      [3, 102],
      [4, 103],
      [5, 104],
    ] as const)
      fake.bid(seq, bid);
    await waitFor('the replay', () => client.version('A')?.seq === 5);
    expect(client.get('A')?.quote).toEqual({ bid: 104 });
    expect(recorder.of('gap')).toHaveLength(1);
    expect(recorder.of('resync')).toEqual([]);
    expect(fake.frames).toHaveLength(2);
    expect(recorder.violations).toEqual([]);
  });

  it('keeps the held document whole when a patch does not apply, and replaces it with a snapshot', async () => {
    const { fake, client, recorder } = await subscribedClient();
    fake.snapshot(1, 100);
    await waitFor('the snapshot', () => client.get('A'));
    const before = client.get('A');
    // The first op applies, the second cannot: nothing of it may show.
    fake.patch(2, [
      { op: 'replace', path: '/quote/bid', value: 999 },
      { op: 'replace', path: '/book/bids/0', value: [1, 1] },
    ]);
    await waitFor('the snapshot request', () => fake.frames[1]);
    expect(fake.frames[1]).toEqual({ op: 'subscribe', symbols: ['A'] });
    expect(client.get('A')).toBe(before);
    expect(client.get('A')?.quote).toEqual({ bid: 100 });
    expect(client.version('A')).toEqual({ epoch: 'E1', seq: 1 });
    expect(recorder.of('error')).toMatchObject([{ code: 'PATCH_FAILED', symbol: 'A' }]);

    fake.bid(3, 102); // under way before the bridge saw the request
    fake.snapshot(3, 102);
    await waitFor('the new snapshot', () => client.version('A')?.seq === 3);
    expect(recorder.of('resync')).toEqual([{ symbol: 'A', reason: 'patch-failed', previous: { epoch: 'E1', seq: 1 }, current: { epoch: 'E1', seq: 3 } }]);
    fake.bid(4, 103);
    await waitFor('patches again', () => client.version('A')?.seq === 4);
  });

  it('reports error frames and malformed messages, ignores unknown message types, and stays connected', async () => {
    const { fake, client, recorder } = await subscribedClient();
    fake.send({ type: 'something-new', detail: 1 });
    fake.send({ type: 'error', code: 'SLOW_CONSUMER', message: 'patches were dropped' });
    fake.send('not json');
    fake.send({ type: 'patch', symbol: 'A', epoch: 'E1', seq: 'two', ops: [] });
    fake.send(Buffer.from('a binary frame'));
    await waitFor('four errors', () => recorder.of('error').length === 4);
    expect(recorder.of('error').map((event) => event.code)).toEqual(['SLOW_CONSUMER', 'BAD_MESSAGE', 'BAD_MESSAGE', 'BAD_MESSAGE']);
    // The codes are the registry's: the bridge's wire code, and the SDK's own.
    expect(Object.keys(ERROR_CODES)).toContain('SLOW_CONSUMER');
    expect(Object.keys(RAISED_ERROR_CODES)).toContain('BAD_MESSAGE');
    fake.snapshot(1, 100);
    await waitFor('the snapshot', () => client.get('A'));
    expect(recorder.of('reconnecting')).toEqual([]);
  });

  it('keeps a quiet connection whose pings are answered, and replaces one whose pings are not', async () => {
    const { fake, client, recorder } = await subscribedClient();
    await sleep(1000); // 2.5 liveness bounds with nothing but pongs
    expect(recorder.of('reconnecting')).toEqual([]);
    expect(client.state).toBe('open');

    fake.answerPings = false;
    const event = await waitFor('the dead connection to be noticed', () => recorder.of('reconnecting')[0]);
    expect(event.reason).toBe('nothing received for 400 ms');
    fake.answerPings = true;
    await waitFor('a new connection', () => recorder.of('open').length === 2);
    await waitFor('the old socket to be gone', () => fake.connections === 1);
  });
});
