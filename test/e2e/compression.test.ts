import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { startTestBridge } from '../helpers/bridge.js';
import { frameText, type ServerMessage } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Compression on the wire (stream.compression): HTTP answers in brotli or gzip when asked,
 * above a threshold; SSE never; WebSocket permessage-deflate when it is on and the client
 * offers it, with each message deflated once for every such client.
 */

interface Answer {
  status: number;
  encoding: string | undefined;
  body: Buffer;
}

/** A GET with exactly the headers given (fetch would ask for and undo compression itself). */
function get(url: string, headers: Record<string, string> = {}, firstChunkOnly = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (firstChunkOnly) {
          resolve({ status: response.statusCode ?? 0, encoding: response.headers['content-encoding'], body: Buffer.concat(chunks) });
          req.destroy();
        }
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, encoding: response.headers['content-encoding'], body: Buffer.concat(chunks) }));
    });
    req.on('error', (error) => (firstChunkOnly ? undefined : reject(error)));
    req.end();
  });
}

async function folder(): Promise<string> {
  const dir = await tempDir();
  await new TerminalFiles(dir).create(300);
  return dir;
}

/** A ws client offering `extensions`, with every message it gets and the bytes that came over TCP. */
async function wsClient(url: string, perMessageDeflate: boolean | { serverMaxWindowBits: number }) {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, { perMessageDeflate });
  const messages: ServerMessage[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(frameText(data)) as ServerMessage));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, messages };
}

describe('compression', () => {
  it('answers HTTP in brotli or gzip when asked, above the threshold, and never compresses SSE', async () => {
    const bridge = await startTestBridge([await folder()]);
    const snapshot = `${bridge.url}/v1/symbols/ESZ25_FUT_CME`;
    const plain = await get(snapshot);
    expect(plain.encoding).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(1024);

    const br = await get(snapshot, { 'accept-encoding': 'br' });
    expect(br.encoding).toBe('br');
    expect(br.body.length).toBeLessThan(plain.body.length / 2);
    expect(JSON.parse(brotliDecompressSync(br.body).toString())).toEqual(JSON.parse(plain.body.toString()));
    const gzip = await get(snapshot, { 'accept-encoding': 'gzip' });
    expect(gzip.encoding).toBe('gzip');
    expect(JSON.parse(gunzipSync(gzip.body).toString())).toEqual(JSON.parse(plain.body.toString()));

    // Under the threshold (a 404's error body), plain whatever is asked.
    const small = await get(`${bridge.url}/v1/symbols/NOPE`, { 'accept-encoding': 'br, gzip' });
    expect(small.status).toBe(404);
    expect(small.encoding).toBeUndefined();

    const sse = await get(`${bridge.url}/v1/sse?symbols=ESZ25_FUT_CME`, { 'accept-encoding': 'br, gzip' }, true);
    expect(sse.encoding).toBeUndefined();
    expect(sse.body.toString()).toMatch(/^retry: /);
  });

  it('leaves HTTP plain with stream.compression.http off', async () => {
    const bridge = await startTestBridge([await folder()], { stream: { compression: { http: false } } });
    expect((await get(`${bridge.url}/v1/symbols/ESZ25_FUT_CME`, { 'accept-encoding': 'br, gzip' })).encoding).toBeUndefined();
  });

  it('negotiates permessage-deflate only when it is on, deflates the big messages, and gives a client that asks for a small window plain frames', async () => {
    const dir = await folder();
    const off = await startTestBridge([dir]);
    const refused = await wsClient(off.url, true);
    expect(refused.socket.extensions).toBe('');
    refused.socket.close();

    const on = await startTestBridge([dir], { stream: { compression: { websocket: true } } });
    const deflated = await wsClient(on.url, true);
    const narrow = await wsClient(on.url, { serverMaxWindowBits: 10 });
    const plain = await wsClient(on.url, false);
    expect(deflated.socket.extensions).toContain('permessage-deflate');
    expect(narrow.socket.extensions).toContain('permessage-deflate');
    expect(plain.socket.extensions).toBe('');
    const clients = [deflated, narrow, plain];
    for (const client of clients) client.socket.send(JSON.stringify({ op: 'subscribe', symbols: ['*'] }));
    await waitFor('the snapshots', () => clients.every((client) => client.messages.filter((message) => message.type === 'snapshot').length === 3));

    // The same messages whichever way they came; the deflated client's bytes are far fewer.
    const snapshots = (client: { messages: ServerMessage[] }) => client.messages.filter((message) => message.type === 'snapshot');
    expect(snapshots(deflated)).toEqual(snapshots(plain));
    expect(snapshots(narrow)).toEqual(snapshots(plain));
    const bytes = (client: { socket: WebSocket }): number => (client.socket as unknown as { _socket: { bytesRead: number } })._socket.bytesRead;
    expect(bytes(deflated)).toBeLessThan(bytes(plain) / 2);
    expect(bytes(narrow)).toBeGreaterThan(bytes(plain) * 0.9);
    for (const client of clients) client.socket.close();
  });
});
