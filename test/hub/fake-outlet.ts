import type { Encoding, Outlet, StreamMessage, TransportKind } from '../../src/hub/subscriber.js';
import type { ErrorCode } from '../../src/model/errors.js';

/** What the hub did to an outlet, in the order it did it. */
export type OutletEvent =
  { type: 'frame'; frame: Buffer } | { type: 'notice'; code: ErrorCode; message: string } | { type: 'close'; code: ErrorCode; message: string };

/**
 * A client connection with no network: it records what the hub writes, notifies and closes,
 * and reports the backlog the test gives it. With `holdWrites` every frame written stays in
 * the backlog until `drain()`, as on a socket whose reader has stopped.
 */
export class FakeOutlet implements Outlet {
  readonly events: OutletEvent[] = [];
  /** Bytes written and "not yet sent": set by the test, or grown by writes with holdWrites. */
  backlogBytes = 0;
  holdWrites = false;
  /** Writes after close(): the hub should have let go of the outlet. */
  writesAfterClose = 0;

  constructor(
    readonly kind: TransportKind,
    readonly encoding: Encoding,
  ) {}

  write(frame: Buffer): void {
    if (this.closed) this.writesAfterClose++;
    this.events.push({ type: 'frame', frame });
    if (this.holdWrites) this.backlogBytes += frame.length;
  }

  notify(code: ErrorCode, message: string): void {
    this.events.push({ type: 'notice', code, message });
  }

  close(code: ErrorCode, message: string): void {
    this.events.push({ type: 'close', code, message });
  }

  drain(): void {
    this.backlogBytes = 0;
  }

  get frames(): Buffer[] {
    return this.events.flatMap((event) => (event.type === 'frame' ? [event.frame] : []));
  }

  get closed(): { code: ErrorCode; message: string } | undefined {
    return this.events.find((event) => event.type === 'close');
  }

  /** Forgets what was recorded so far (the backlog stays). */
  clear(): void {
    this.events.length = 0;
  }
}

/**
 * A trivial encoding, the whole StreamMessage as JSON: it shows the hub hands every
 * encoding the same message and builds nothing per transport kind.
 */
export const messageEncoding: Encoding = {
  encode: (message: StreamMessage) => Buffer.from(JSON.stringify(message)),
};

/** `inner`, counting the frames it builds. */
export function countingEncoding(inner: Encoding): Encoding & { readonly calls: number } {
  let calls = 0;
  return {
    encode(message: StreamMessage): Buffer {
      calls++;
      return inner.encode(message);
    },
    get calls(): number {
      return calls;
    },
  };
}

export function decodeMessageFrame(frame: Buffer): StreamMessage {
  return JSON.parse(frame.toString('utf8')) as StreamMessage;
}

/** A protocol message as the client reads it (PROTOCOL.md: snapshot, patch). */
export interface WireMessage {
  type: string;
  symbol: string;
  epoch: string;
  seq: number;
  data?: unknown;
  ops?: unknown[];
}

/** The payload of an unmasked, unfragmented server text frame (transports/frames.ts wsTextFrame). */
export function decodeWsFrame(frame: Buffer): WireMessage {
  if (frame[0] !== 0x81) throw new Error(`not a final text frame: first byte ${frame[0]}`);
  const length7 = (frame[1] as number) & 0x7f;
  const header = length7 < 126 ? 2 : length7 === 126 ? 4 : 10;
  const length = length7 < 126 ? length7 : length7 === 126 ? frame.readUInt16BE(2) : frame.readUInt32BE(2) * 2 ** 32 + frame.readUInt32BE(6);
  if (frame.length !== header + length) throw new Error(`frame of ${frame.length} bytes says ${header} + ${length}`);
  return JSON.parse(frame.subarray(header).toString('utf8')) as WireMessage;
}

export interface SseEvent {
  id: string;
  event: string;
  message: WireMessage;
}

/** One SSE event as the hub frames it: `id`, `event` and one `data` line (transports/frames.ts sseEventEncoding). */
export function decodeSseFrame(frame: Buffer): SseEvent {
  const text = frame.toString('utf8');
  const match = /^id: ([^\n]+)\nevent: ([^\n]+)\ndata: ([^\n]+)\n\n$/.exec(text);
  if (!match) throw new Error(`not one SSE event: ${JSON.stringify(text.slice(0, 120))}`);
  const [, id, event, data] = match as unknown as [string, string, string, string];
  return { id, event, message: JSON.parse(data) as WireMessage };
}
