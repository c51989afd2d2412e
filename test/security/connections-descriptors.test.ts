import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeJsonSnapshot } from '../../src/sim/json-writer.js';
import { SseClient, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';
import { CliProcess, getRequest, parseAnswer, rawExchange } from './cli-process.js';

const running: CliProcess[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(running.splice(0).map((bridge) => bridge.stop()));
});

async function start(options: NonNullable<Parameters<typeof CliProcess.start>[0]>): Promise<{ bridge: CliProcess; dir: string }> {
  const dir = await tempDir();
  await new TerminalFiles(dir).create();
  const bridge = await CliProcess.start({ ...options, args: ['--watch', dir, ...(options.args ?? [])] });
  running.push(bridge);
  return { bridge, dir };
}

/** A socket that says nothing: what the bridge sent it, and whether it was closed. */
interface IdleSocket {
  socket: Socket;
  received: string;
  closed: boolean;
}

function idleSocket(port: number): Promise<IdleSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    const idle: IdleSocket = { socket, received: '', closed: false };
    socket.on('data', (chunk) => (idle.received += chunk.toString('utf8')));
    socket.on('close', () => (idle.closed = true));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve(idle));
    socket.once('error', reject);
  });
}

describe('connections within the descriptor limit', () => {
  it('under a limit of 256 descriptors, 300 idle sockets: the over-limit get 503 OVERLOADED (not a reset), files are still read and reach a client', async () => {
    const { bridge, dir } = await start({
      wrapper: ['prlimit', '--nofile=256:256'],
      config: { http: { reservedDescriptors: 96, idleTimeoutMs: 600_000, headersTimeoutMs: 600_000, maxConnectionsPerAddress: 1_000_000 } },
    });
    expect(bridge.event('connection_budget')).toEqual([expect.objectContaining({ descriptorLimit: 256, reservedDescriptors: 96, connectionCap: 160 })]);

    const ws = await WsClient.connect(bridge.url);
    ws.subscribe(['*']);
    await waitFor('the first snapshot', () => ws.document('ESZ25_FUT_CME'));

    // 159 idle sockets fill the cap beside the WebSocket; every other one is told why and closed.
    // Ten at a time, each ten's refusals closed before the next: a faster burst is Node's
    // backstop's to drop unanswered (server.maxConnections), and a loaded machine would make one.
    const idle: IdleSocket[] = [];
    const answered = () => idle.filter((socket) => socket.received !== '');
    for (let batch = 0; batch < 30; batch++) {
      idle.push(...(await Promise.all(Array.from({ length: 10 }, () => idleSocket(bridge.port)))));
      await waitFor(
        'the over-limit sockets so far refused and closed',
        () => {
          const refused = answered();
          return refused.length === Math.max(0, idle.length - 159) && refused.every((socket) => socket.closed);
        },
        15_000,
      );
    }
    const refused = answered();
    for (const socket of refused) {
      expect(parseAnswer(socket.received)).toEqual({
        status: 503,
        body: { error: { code: 'OVERLOADED', message: 'the bridge serves its maximum of 160 connections; try again later' } },
      });
    }
    expect(idle.filter((socket) => socket.closed && socket.received === '')).toEqual([]);

    // A file written now is read (descriptors were kept for it) and reaches the client.
    await writeJsonSnapshot(join(dir, 'GBPUSD.json'), { bid: 1.25, ask: 1.2502, time: Date.now() }, 'rewrite');
    await waitFor('the new file streamed', () => ws.document('GBPUSD'), 15_000);
    // A new client is refused in words.
    expect(parseAnswer(await rawExchange(bridge.port, getRequest('/health')))).toMatchObject({ status: 503, body: { error: { code: 'OVERLOADED' } } });

    for (const socket of idle) socket.socket.destroy();
    await waitFor('served again', async () => (await fetch(`${bridge.url}/health`)).status === 200);
    expect(bridge.lines.filter((line) => JSON.stringify(line).includes('EMFILE'))).toEqual([]);
    expect(bridge.exit).toBeNull();
    await ws.close();
  });

  it('closes idle and slow-header connections, not streams, and counts dashboard streams as connections', async () => {
    const { bridge } = await start({ config: { http: { idleTimeoutMs: 300, headersTimeoutMs: 500 }, stream: { maxConnections: 2 } } });

    // Idle: closed by the bridge without a word.
    const silent = await idleSocket(bridge.port);
    await waitFor('the idle socket closed by the bridge', () => silent.closed);
    expect(silent.received).toBe('');

    // Headers that trickle in: 408 once headersTimeoutMs is over.
    const slow = await idleSocket(bridge.port);
    slow.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const trickle = setInterval(() => slow.socket.write('x-a: b\r\n'), 100);
    try {
      await waitFor('the slow request closed', () => slow.closed);
    } finally {
      clearInterval(trickle);
    }
    expect(parseAnswer(slow.received).status).toBe(408);

    const sse = await SseClient.connect(bridge.url, 'symbols=EURUSD');
    const ws = await WsClient.connect(bridge.url);
    // Two streams: a dashboard stream is over stream.maxConnections.
    expect(parseAnswer(await rawExchange(bridge.port, getRequest('/v1/dashboard/sse')))).toMatchObject({
      status: 503,
      body: { error: { code: 'OVERLOADED' } },
    });

    // An idle socket opened after the streams is closed by the idle timeout; the streams stay.
    const later = await idleSocket(bridge.port);
    await waitFor('the later idle socket closed', () => later.closed);
    expect([sse.status, sse.ended, ws.socket.readyState]).toEqual([200, false, ws.socket.OPEN]);
    sse.close();
    await ws.close();
  });

  it('caps connections per address: the one over http.maxConnectionsPerAddress is told why', async () => {
    const { bridge } = await start({ config: { http: { maxConnectionsPerAddress: 4, idleTimeoutMs: 600_000 } } });
    const held = await Promise.all(Array.from({ length: 4 }, () => idleSocket(bridge.port)));
    const fifth = await idleSocket(bridge.port);
    await waitFor('the fifth refused', () => fifth.closed);
    expect(parseAnswer(fifth.received)).toEqual({
      status: 503,
      body: {
        error: { code: 'OVERLOADED', message: expect.stringMatching(/^this address has its maximum of 4 connections open \(http\.maxConnectionsPerAddress\)/) },
      },
    });
    expect(held.map((socket) => socket.closed)).toEqual([false, false, false, false]);
    held[0]?.socket.destroy();
    await waitFor('a place again', async () => parseAnswer(await rawExchange(bridge.port, getRequest('/health'))).status === 200);
  });
});
