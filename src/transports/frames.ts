import type { SymbolState } from '../state/symbol-state.js';

/**
 * Messages in their wire forms. JSON is built by concatenating parts that were serialised
 * once (the document per version, the ops per patch), never per recipient.
 */

export function snapshotMessage(state: SymbolState, epoch: string): string {
  return `{"type":"snapshot","symbol":${state.symbolJson},"epoch":"${epoch}","seq":${state.seq},"data":${state.documentJson()}}`;
}

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

export type SseEvent = 'snapshot' | 'patch';

export function sseFrame(id: string, event: SseEvent, json: string): Buffer {
  return Buffer.from(`id: ${id}\nevent: ${event}\ndata: ${json}\n\n`);
}

/**
 * An SSE stream's position, carried in every event id (and given back as Last-Event-ID):
 * every subscribed symbol the journal could replay from bridge-wide commit `base` is
 * known to the client up to commit `gseq`; any other symbol is unknown (a snapshot is
 * due). In a steady stream base equals gseq and the id is just `<epoch>:<gseq>`. While a
 * burst of snapshots is under way the id keeps the base it started from, so a client cut
 * off mid-burst gets the rest of the snapshots, and never a patch it already has.
 */
export interface SseCursor {
  epoch: string;
  gseq: number;
  base: number;
}

export function formatSseId(epoch: string, gseq: number, base: number = gseq): string {
  return base === gseq ? `${epoch}:${gseq}` : `${epoch}:${gseq}:${base}`;
}

/** Parses an event id; null when it is not one of ours (the client then gets snapshots). */
export function parseSseCursor(id: string): SseCursor | null {
  const parts = id.split(':');
  if (parts.length < 2 || parts.length > 3) return null;
  const [epoch, gseqText, baseText] = parts as [string, string, string | undefined];
  const gseq = Number(gseqText);
  const base = baseText === undefined ? gseq : Number(baseText);
  if (epoch === '' || !Number.isSafeInteger(gseq) || !Number.isSafeInteger(base) || base < 0 || base > gseq) return null;
  return { epoch, gseq, base };
}
