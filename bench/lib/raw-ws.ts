/**
 * A WebSocket client reduced to what a delivery-rate benchmark needs: the opening
 * handshake, one masked text frame (the subscribe), pongs to pings, and counting the frames
 * the server sends without decoding them. Used alike against the bridge and the raw `ws`
 * baselines, so that the clients' own cost (the same for both) is as small as it can be.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** Frame counts of one connection. */
export interface FrameCounts {
  /** Text frames whose JSON starts with `{"type":"patch"`. */
  patches: number;
  /** Every other text frame (hello, snapshot, error). */
  others: number;
  bytes: number;
}

const PATCH_TYPE = Buffer.from('{"type":"patch"');
/** Bytes of a payload needed to tell a patch: `{"type":"pa`. */
const CLASSIFY_BYTES = 11;

/** A masked client frame (RFC 6455 §5.3): clients must mask. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : 4;
  const frame = Buffer.allocUnsafe(headerLength + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  }
  const mask = randomBytes(4);
  mask.copy(frame, headerLength);
  for (let i = 0; i < length; i++) frame[headerLength + 4 + i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return frame;
}

export class CountingWebSocket {
  readonly counts: FrameCounts = { patches: 0, others: 0, bytes: 0 };
  readonly #socket: Socket;
  /** Unparsed bytes: a frame header, or the first bytes of a payload, cut by a read. */
  #carry: Buffer | null = null;
  /** Payload bytes of the current frame still to skip. */
  #skip = 0;
  #open = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Connects, upgrades and sends `subscribe` frame text; resolves once the upgrade is answered. */
  static open(url: URL, subscribe: string): Promise<CountingWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: url.hostname, port: Number(url.port) });
      socket.setNoDelay(true);
      const client = new CountingWebSocket(socket);
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
        socket.write(clientFrame(0x1, Buffer.from(subscribe)));
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

  #read(data: Buffer): void {
    this.counts.bytes += data.length;
    let offset = 0;
    if (this.#skip > 0) {
      const skipped = Math.min(this.#skip, data.length);
      this.#skip -= skipped;
      offset = skipped;
    }
    if (this.#carry) {
      data = Buffer.concat([this.#carry, data.subarray(offset)]);
      offset = 0;
      this.#carry = null;
    }
    while (offset < data.length) {
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
      const start = offset + header;
      const needed = Math.min(length, CLASSIFY_BYTES);
      if (data.length - start < needed) break;
      if (opcode === 0x1) {
        if (length >= CLASSIFY_BYTES && data.compare(PATCH_TYPE, 0, CLASSIFY_BYTES, start, start + CLASSIFY_BYTES) === 0) this.counts.patches++;
        else this.counts.others++;
      } else if (opcode === 0x9) {
        if (data.length - start < length) break;
        this.#socket.write(clientFrame(0xa, data.subarray(start, start + length)));
      } else if (opcode === 0x8) {
        this.#socket.end();
      }
      const end = start + length;
      if (end > data.length) {
        this.#skip = end - data.length;
        return;
      }
      offset = end;
    }
    if (offset < data.length) this.#carry = Buffer.from(data.subarray(offset));
  }
}
