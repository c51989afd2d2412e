import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Bridge } from '../../src/app/bridge.js';
import { FileIngest } from '../../src/state/ingest.js';
import type { Store } from '../../src/state/store.js';
import { RandomMarket } from '../../src/sim/random.js';
import { startTestBridge } from '../helpers/bridge.js';
import { SseClient, WsClient, type ServerMessage, type SseEventRecord } from '../helpers/clients.js';
import { waitFor } from '../helpers/wait.js';

const SYMBOLS = ['F00_FUT_CME', 'F01_FUT_CME', 'F02_FUT_CME'];

/** Ticks of a few futures committed through the state layer as a `.scid` read commits them, one read per call. */
interface Feed {
  symbol: string;
  ingest: FileIngest;
  market: RandomMarket;
}

class Ticks {
  readonly #feeds: Feed[];
  #time = Date.UTC(2026, 10, 20, 14, 0);
  #next = 0;

  constructor(store: Store) {
    this.#feeds = SYMBOLS.map((symbol, i) => ({
      symbol,
      ingest: new FileIngest(store, { key: `${symbol}.scid`, source: 'sierra-scid', barBasis: 'trade', windows: { M1: 10 }, onProblem: () => undefined }),
      market: new RandomMarket({ start: 6012.25, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.8, seed: i + 1 }),
    }));
    // Each file's first read: its symbol appears.
    SYMBOLS.forEach(() => this.commit(true));
  }

  /** The next symbol's next tick, committed (one change). */
  commit(fresh = false): void {
    const feed = this.#feeds[this.#next % this.#feeds.length] as Feed;
    this.#next++;
    this.#time += 250;
    const tick = feed.market.next(this.#time);
    feed.ingest.begin(fresh);
    feed.ingest.tick(feed.symbol, { time: this.#time, bid: tick.bid, ask: tick.ask, last: tick.last, size: tick.size });
    feed.ingest.finish();
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A WebSocket client on a bare TCP socket: what arrives in each read of the socket, as it arrived. */
class RawReader {
  readonly chunks: Buffer[] = [];

  private constructor(readonly socket: Socket) {}

  static open(url: string, subscribe: unknown): Promise<RawReader> {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port) });
    const reader = new RawReader(socket);
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      let head = Buffer.alloc(0);
      const onHandshake = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHandshake);
        expect(head.subarray(0, 12).toString()).toBe('HTTP/1.1 101');
        if (head.length > end + 4) reader.chunks.push(head.subarray(end + 4));
        socket.on('data', (data: Buffer) => reader.chunks.push(data));
        socket.write(maskedText(JSON.stringify(subscribe)));
        resolve(reader);
      };
      socket.on('data', onHandshake);
      socket.once('connect', () =>
        socket.write(
          `GET /v1/ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
    });
  }

  /** Patch frames in each read of the socket. */
  patchesPerRead(): number[] {
    return this.chunks.map((chunk) => chunk.toString().split('{"type":"patch"').length - 1);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A short masked client text frame (RFC 6455 §5.3). */
function maskedText(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const masked = payload.map((byte, i) => byte ^ (mask[i & 3] as number));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** What a client saw of the stream, without the epoch (which differs between bridges). */
function stream(messages: readonly ServerMessage[]): unknown[] {
  return messages.filter((message) => message.type === 'snapshot' || message.type === 'patch').map(({ epoch: _epoch, ...rest }) => rest);
}

async function bridgeWithWindow(flushWindowMs: number): Promise<{ bridge: Bridge; ticks: Ticks }> {
  const bridge = await startTestBridge([], { stream: { flushWindowMs } });
  return { bridge, ticks: new Ticks(bridge.store) };
}

describe('stream.flushWindowMs', () => {
  it('joins the changes of separate turns within the window into one write per socket, whole frames in seq order', async () => {
    const { bridge, ticks } = await bridgeWithWindow(100);
    const raw = await RawReader.open(bridge.url, { op: 'subscribe', symbols: ['*'] });
    const client = await WsClient.connect(bridge.url);
    client.subscribe(['*']);
    await waitFor(
      'the snapshots',
      () => client.of('snapshot').length === SYMBOLS.length && raw.chunks.join('').split('"type":"snapshot"').length > SYMBOLS.length,
    );
    // After a quiet spell the first change goes out at the end of its turn, alone; the next
    // four, each committed in a turn of its own within the window, wait for it to end.
    ticks.commit();
    await waitFor('the first patch', () => client.of('patch').length === 1);
    for (let i = 0; i < 4; i++) {
      ticks.commit();
      await nextTurn();
    }
    await waitFor('every patch', () => client.of('patch').length === 5 && raw.patchesPerRead().reduce((sum, count) => sum + count, 0) === 5);
    expect(raw.patchesPerRead().filter((count) => count > 0)).toEqual([1, 4]);
    expect(client.mirror.violations).toEqual([]);
    for (const symbol of SYMBOLS) {
      expect(client.document(symbol)?.seq).toBe(bridge.store.get(symbol)?.seq);
      expect(client.document(symbol)?.data).toEqual(JSON.parse(bridge.store.get(symbol)?.documentJson() ?? 'null'));
    }
    raw.close();
    await client.close();
  });

  it('changes neither the order nor the content of what WebSocket and SSE clients get', async () => {
    const seen: { ws: unknown[]; sse: unknown[] }[] = [];
    for (const flushWindowMs of [0, 100]) {
      const { bridge, ticks } = await bridgeWithWindow(flushWindowMs);
      const ws = await WsClient.connect(bridge.url);
      ws.subscribe(['*']);
      const sse = await SseClient.connect(bridge.url, 'symbols=*');
      const sseOf = (event: string): SseEventRecord[] => sse.events.filter((record) => record.event === event);
      await waitFor('the snapshots', () => ws.of('snapshot').length === SYMBOLS.length && sseOf('snapshot').length === SYMBOLS.length);
      for (let i = 0; i < 30; i++) {
        ticks.commit();
        if (i % 3 === 0) await nextTurn();
      }
      await waitFor('every patch', () => ws.of('patch').length === 30 && sseOf('patch').length === 30);
      expect([ws.mirror.violations, sse.mirror.violations]).toEqual([[], []]);
      const sseMessages = sse.events.filter((record) => record.event !== 'notice').map((record) => JSON.parse(record.data) as ServerMessage);
      seen.push({ ws: stream(ws.messages), sse: stream(sseMessages) });
      sse.close();
      await ws.close();
    }
    expect(seen[1]).toEqual(seen[0]);
  });
});
