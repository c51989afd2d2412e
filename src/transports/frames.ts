import type { Encoding, StreamMessage } from '../hub/subscriber.js';
import { formatSseId } from '../model/wire.js';

/**
 * A WebSocket text frame of `json` as a server sends it (RFC 6455 §5.2: FIN, opcode 1, no
 * mask, no extension), header and payload in one buffer: built once per message and written
 * as it is to every socket (transports/ws.ts), which ws would otherwise frame per socket.
 */
export function wsTextFrame(json: string): Buffer {
  const length = Buffer.byteLength(json);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
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
  frame.write(json, header, 'utf8');
  return frame;
}

/** WebSocket clients get each message as one text frame; the stream position is not sent. */
export const wsTextEncoding: Encoding = {
  encode: ({ json }: StreamMessage) => wsTextFrame(json),
};

/** SSE clients get each message as an event whose id is the stream position (model/wire.ts SseCursor). */
export const sseEventEncoding: Encoding = {
  encode: ({ json, event, epoch, gseq, base }: StreamMessage) => Buffer.from(`id: ${formatSseId(epoch, gseq, base)}\nevent: ${event}\ndata: ${json}\n\n`),
};

/** An SSE event without an id (a notice, a dashboard summary): `data` is one line of JSON. */
export function sseEvent(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}
