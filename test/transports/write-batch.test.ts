import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable, type Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { wsTextFrame } from '../../src/transports/frames.js';
import { JOIN_LIMIT, JoinedFrames, PendingFrames, WriteBatcher, type Flushable } from '../../src/transports/write-batch.js';
import { waitFor } from '../helpers/wait.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A server that, once a client has upgraded, writes `frames` to the raw socket as the bridge does. */
async function rawFrameServer(frames: Buffer[]): Promise<string> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server = createServer();
  server.on('upgrade', (request, socket: Duplex, head) => {
    wss.handleUpgrade(request, socket, head, () => {
      for (const frame of frames) socket.write(frame);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('wsTextFrame', () => {
  it('frames text of every length class (7-bit, 16-bit, 64-bit) so that a WebSocket client reads it back unchanged', async () => {
    const texts = ['{}', JSON.stringify({ pad: 'é'.repeat(60) }), JSON.stringify({ pad: 'x'.repeat(200) }), JSON.stringify({ pad: 'y'.repeat(70_000) })];
    const url = await rawFrameServer(texts.map(wsTextFrame));
    const received: string[] = [];
    const client = new WebSocket(url);
    client.on('message', (data: Buffer, isBinary) => received.push(`${isBinary ? 'binary' : 'text'}:${data.toString()}`));
    await waitFor('every message', () => received.length === texts.length);
    client.terminate();
    expect(received).toEqual(texts.map((text) => `text:${text}`));
    expect(wsTextFrame('{}')).toEqual(Buffer.from([0x81, 2, 0x7b, 0x7d]));
  });
});

describe('WriteBatcher', () => {
  class Outlet implements Flushable {
    readonly pending = new PendingFrames();
    readonly written: Buffer[] = [];
    flushes = 0;
    constructor(readonly batcher: WriteBatcher) {}
    write(frame: Buffer): void {
      if (this.pending.push(frame)) this.batcher.schedule(this);
    }
    flush(joined: JoinedFrames): void {
      this.flushes++;
      this.pending.writeTo({ write: (chunk: Buffer) => this.written.push(chunk), cork: () => undefined, uncork: () => undefined }, joined);
    }
  }

  it('writes what each connection queued during a turn once, in order, at the end of the turn', async () => {
    const batcher = new WriteBatcher();
    const a = new Outlet(batcher);
    const b = new Outlet(batcher);
    const frames = ['1', '2', '3'].map((text) => Buffer.from(text));
    for (const frame of frames) a.write(frame);
    b.write(frames[1] as Buffer);
    expect([a.written, b.written, a.pending.bytes]).toEqual([[], [], 3]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.written.map(String)).toEqual(['123']);
    expect(b.written.map(String)).toEqual(['2']);
    expect([a.flushes, b.flushes, a.pending.bytes]).toEqual([1, 1, 0]);
    a.write(Buffer.from('4'));
    batcher.flush();
    expect(a.written.map(String)).toEqual(['123', '4']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.flushes).toBe(2);
  });

  it('with a flush window, writes the first frame after a quiet spell at the end of its turn and joins what the next turns queue until the window ends', async () => {
    const batcher = new WriteBatcher(1000);
    const a = new Outlet(batcher);
    const b = new Outlet(batcher);
    a.write(Buffer.from('1'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.written.map(String)).toEqual(['1']);
    for (const text of ['2', '3', '4']) {
      a.write(Buffer.from(text));
      b.write(Buffer.from(text));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect([a.written.length, b.written.length]).toEqual([1, 0]);
    await waitFor('the end of the window', () => a.written.length === 2);
    expect(a.written.map(String)).toEqual(['1', '234']);
    expect(b.written.map(String)).toEqual(['234']);
    // Back to one flush per turn: the next frame goes at the end of its turn.
    batcher.windowMs = 0;
    a.write(Buffer.from('5'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.written.map(String)).toEqual(['1', '234', '5']);
  });

  it('gives connections with the same frames the same buffer, and others their own', () => {
    const joined = new JoinedFrames();
    const [x, y, z] = ['x', 'y', 'z'].map((text) => Buffer.from(text)) as [Buffer, Buffer, Buffer];
    const first = joined.join([x, y], 2);
    expect(joined.join([x, y], 2)).toBe(first);
    expect(String(joined.join([x, z], 2))).toBe('xz');
    expect(String(joined.join([x, y, z], 3))).toBe('xyz');
    expect(joined.join([y], 1)).toBe(y);
    // A connection reuses its list once joined: what was joined must not change with it.
    const list = [z, x];
    const zx = joined.join(list, 2);
    list.splice(0, 2, z, y);
    expect(String(joined.join(list, 2))).toBe('zy');
    expect(String(zx)).toBe('zx');
    joined.clear();
    expect(joined.join([x, y], 2)).not.toBe(first);
  });

  it('writes a burst past JOIN_LIMIT as the frames themselves, in one writev, and nothing once the connection is gone', async () => {
    const writes: Buffer[][] = [];
    const sink = new Writable({
      writev(chunks, callback) {
        writes.push(chunks.map(({ chunk }) => chunk as Buffer));
        callback();
      },
      write(chunk: Buffer, _encoding, callback) {
        writes.push([chunk]);
        callback();
      },
    });
    const joined = new JoinedFrames();
    const pending = new PendingFrames();
    const snapshots = [1, 2, 3].map((n) => Buffer.alloc(JOIN_LIMIT / 2, n));
    for (const frame of snapshots) pending.push(frame);
    pending.writeTo(sink, joined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(1);
    expect((writes[0] as Buffer[]).every((chunk, i) => chunk === snapshots[i])).toBe(true);
    expect(pending.bytes).toBe(0);
    // Up to the limit, one buffer.
    pending.push(snapshots[0] as Buffer);
    pending.push(snapshots[1] as Buffer);
    pending.writeTo(sink, joined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes.map((chunks) => chunks.map((chunk) => chunk.length))).toEqual([[JOIN_LIMIT / 2, JOIN_LIMIT / 2, JOIN_LIMIT / 2], [JOIN_LIMIT]]);
    pending.push(snapshots[2] as Buffer);
    pending.writeTo(null, joined);
    expect(pending.bytes).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(2);
  });
});
