import { constants, deflateRawSync } from 'node:zlib';
import type { Encoding, StreamMessage } from '../hub/subscriber.js';
import { formatSseId } from '../model/wire.js';

/**
 * A WebSocket text frame of `json` as a server sends it (RFC 6455 §5.2: FIN, opcode 1, no
 * mask, no extension), header and payload in one buffer: built once per message and written
 * as it is to every socket (transports/ws.ts), which ws would otherwise frame per socket.
 */
export function wsTextFrame(json: string): Buffer {
  const length = Buffer.byteLength(json);
  const frame = Buffer.allocUnsafe(wsHeaderBytes(length) + length);
  frame.write(json, writeWsHeader(frame, 0x81, length), 'utf8');
  return frame;
}

/** The bytes of a frame header for `length` bytes of payload. */
const wsHeaderBytes = (length: number): number => (length < 126 ? 2 : length < 65_536 ? 4 : 10);

/** Writes a server frame's header (first byte `first`: FIN, RSV1, opcode) at the start of `frame`; returns where the payload goes. */
function writeWsHeader(frame: Buffer, first: number, length: number): number {
  frame[0] = first;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  return wsHeaderBytes(length);
}

/** The empty stored block a sync flush ends with, which permessage-deflate leaves off (RFC 7692 §7.2.1). */
const SYNC_FLUSH_TAIL = 4;

/**
 * A WebSocket text frame of `json` compressed for permessage-deflate with no context
 * takeover (RFC 7692): each message is deflated on its own, so the same compressed frame is
 * valid on every connection that negotiated it, and is built once per message as the
 * plain frame is. RSV1 marks it compressed; a message under `thresholdBytes` goes plain.
 */
export function wsDeflateFrame(json: string, thresholdBytes: number): Buffer {
  const text = Buffer.from(json);
  if (text.length < thresholdBytes) return wsTextFrame(json);
  const deflated = deflateRawSync(text, { finishFlush: constants.Z_SYNC_FLUSH });
  const length = deflated.length - SYNC_FLUSH_TAIL;
  const frame = Buffer.allocUnsafe(wsHeaderBytes(length) + length);
  deflated.copy(frame, writeWsHeader(frame, 0xc1, length), 0, length);
  return frame;
}

/** The encoding of connections that negotiated permessage-deflate (one object per threshold, so the hub shares its frames). */
export function wsDeflateEncoding(thresholdBytes: number): Encoding {
  return { encode: ({ json }: StreamMessage) => wsDeflateFrame(json, thresholdBytes) };
}

/** WebSocket clients get each message as one text frame; the stream position is not sent. */
export const wsTextEncoding: Encoding = {
  encode: ({ json }: StreamMessage) => wsTextFrame(json),
};

/** SSE clients get each message as an event whose id is the stream position (model/wire.ts SseCursor). */
export const sseEventEncoding: Encoding = {
  encode: ({ json, event, epoch, gseq, base, relay }: StreamMessage) =>
    Buffer.from(`id: ${formatSseId(epoch, gseq, base, relay)}\nevent: ${event}\ndata: ${json}\n\n`),
};

/** An SSE event without an id (a notice, a dashboard summary): `data` is one line of JSON. */
export function sseEvent(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}
