/**
 * The NATS peer of the fan-out scenario: a `nats-server` (2.9, the Debian package) with its
 * WebSocket listener, a publisher speaking the NATS protocol over TCP, and a WebSocket client
 * reduced to what a delivery count needs (like raw-ws.ts for the bridge): the handshake,
 * CONNECT and one SUB, PONG to the server's PINGs, and a count of the MSGs it gets.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FrameCounts } from './raw-ws.js';

/** The subject every message goes to and every client subscribes to. */
const NATS_SUBJECT = 'fanout';

/** The `nats-server` on the PATH, or null with why (the scenario then skips the NATS peer). */
export function natsServerBinary(): { path: string; version: string } | null {
  const found = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) return null;
  return { path: 'nats-server', version: found.stdout.trim() };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface NatsServer {
  child: ChildProcess;
  pid: number;
  /** NATS protocol (the publisher). */
  port: number;
  /** WebSocket (the clients). */
  wsUrl: string;
}

/** Starts nats-server on two free ports of 127.0.0.1, WebSocket without TLS or compression; resolves once both listen. */
export async function startNatsServer(dir: string): Promise<NatsServer> {
  const port = await freePort();
  const wsPort = await freePort();
  const config = join(dir, 'nats.conf');
  await writeFile(config, `listen: "127.0.0.1:${port}"\nwebsocket {\n  listen: "127.0.0.1:${wsPort}"\n  no_tls: true\n  compression: false\n}\n`);
  const child = spawn('nats-server', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (log.includes('Server is ready')) {
        child.stderr.off('data', onData);
        child.stderr.resume();
        resolve();
      }
    };
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}:\n${log}`)));
  });
  return { child, pid: child.pid as number, port, wsUrl: `ws://127.0.0.1:${wsPort}/` };
}

/** A NATS publisher on the TCP port: `publish(payload)` sends one PUB to NATS_SUBJECT. */
export async function natsPublisher(port: number): Promise<{ publish(payload: Buffer): void; close(): void }> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('data', () => resolve());
    socket.once('error', reject);
  });
  socket.on('data', (data: Buffer) => {
    if (data.includes('PING')) socket.write('PONG\r\n');
  });
  socket.write('CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\n');
  return {
    publish: (payload) => {
      socket.write(Buffer.concat([Buffer.from(`PUB ${NATS_SUBJECT} ${payload.length}\r\n`), payload, Buffer.from('\r\n')]));
    },
    close: () => socket.destroy(),
  };
}

/** A masked client frame (RFC 6455 §5.3). */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : 4;
  const frame = Buffer.allocUnsafe(header + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  }
  const mask = randomBytes(4);
  mask.copy(frame, header);
  for (let i = 0; i < length; i++) frame[header + 4 + i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return frame;
}

const CRLF = Buffer.from('\r\n');

/** Counts MSGs as patches, and INFO and PONG as others (INFO and the PONG to its PING: subscribed). */
export class NatsCountingWebSocket {
  readonly counts: FrameCounts = { patches: 0, others: 0, bytes: 0 };
  readonly #socket: Socket;
  /** Bytes of a frame header cut by a read. */
  #headerCarry: Buffer | null = null;
  /** Payload bytes of the current data frame still to come. */
  #frameLeft = 0;
  /** A protocol line cut by a frame or a read. */
  #lineCarry: Buffer | null = null;
  /** Bytes of a MSG's payload (and its CRLF) still to skip. */
  #skip = 0;
  #open = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  static open(url: URL): Promise<NatsCountingWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: url.hostname, port: Number(url.port) });
      socket.setNoDelay(true);
      const client = new NatsCountingWebSocket(socket);
      let head = Buffer.alloc(0);
      const onHandshake = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHandshake);
        if (!head.subarray(0, 12).toString().startsWith('HTTP/1.1 101')) {
          socket.destroy();
          reject(new Error(`upgrade refused: ${head.subarray(0, end).toString().split('\r\n')[0]}`));
          return;
        }
        client.#open = true;
        socket.on('data', (data: Buffer) => client.#read(data));
        client.#send(`CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nSUB ${NATS_SUBJECT} 1\r\nPING\r\n`);
        const rest = head.subarray(end + 4);
        if (rest.length > 0) client.#read(rest);
        resolve(client);
      };
      socket.on('data', onHandshake);
      socket.once('error', (error) => (client.#open ? undefined : reject(error)));
      socket.on('error', () => undefined);
      socket.once('connect', () => {
        socket.write(
          `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
    });
  }

  get open(): boolean {
    return this.#open && !this.#socket.destroyed;
  }

  close(): void {
    this.#socket.destroy();
  }

  #send(text: string): void {
    this.#socket.write(clientFrame(0x2, Buffer.from(text)));
  }

  /** WebSocket frames: data frames' payloads go to #protocol in order. */
  #read(data: Buffer): void {
    this.counts.bytes += data.length;
    if (this.#headerCarry) {
      data = Buffer.concat([this.#headerCarry, data]);
      this.#headerCarry = null;
    }
    let offset = 0;
    while (offset < data.length) {
      if (this.#frameLeft > 0) {
        const take = Math.min(this.#frameLeft, data.length - offset);
        this.#protocol(data.subarray(offset, offset + take));
        this.#frameLeft -= take;
        offset += take;
        continue;
      }
      const available = data.length - offset;
      if (available < 2) break;
      const opcode = (data[offset] as number) & 0x0f;
      let length = (data[offset + 1] as number) & 0x7f;
      let header = 2;
      if (length === 126) {
        if (available < 4) break;
        length = data.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (available < 10) break;
        length = data.readUInt32BE(offset + 2) * 2 ** 32 + data.readUInt32BE(offset + 6);
        header = 10;
      }
      if (opcode >= 0x8) {
        // Control frames are short and answered whole.
        if (available < header + length) break;
        if (opcode === 0x9) this.#socket.write(clientFrame(0xa, data.subarray(offset + header, offset + header + length)));
        else if (opcode === 0x8) this.#socket.end();
        offset += header + length;
        continue;
      }
      this.#frameLeft = length;
      offset += header;
    }
    if (offset < data.length) this.#headerCarry = Buffer.from(data.subarray(offset));
  }

  /** The NATS protocol stream: MSG lines counted and their payloads skipped. */
  #protocol(chunk: Buffer): void {
    let offset = 0;
    if (this.#lineCarry) {
      chunk = Buffer.concat([this.#lineCarry, chunk]);
      this.#lineCarry = null;
    }
    while (offset < chunk.length) {
      if (this.#skip > 0) {
        const skipped = Math.min(this.#skip, chunk.length - offset);
        this.#skip -= skipped;
        offset += skipped;
        continue;
      }
      const end = chunk.indexOf(CRLF, offset);
      if (end < 0) {
        this.#lineCarry = Buffer.from(chunk.subarray(offset));
        return;
      }
      const first = chunk[offset];
      if (first === 0x4d /* M */) {
        // MSG <subject> <sid> [reply-to] <#bytes>
        const size = Number(chunk.subarray(chunk.lastIndexOf(0x20, end) + 1, end).toString('latin1'));
        this.#skip = size + 2;
        this.counts.patches++;
      } else if (first === 0x50 /* P */ && chunk[offset + 1] === 0x49 /* I */) {
        this.#send('PONG\r\n');
      } else if (first === 0x49 /* I */ || first === 0x50 /* P */) {
        this.counts.others++;
      }
      offset = end + 2;
    }
  }
}
