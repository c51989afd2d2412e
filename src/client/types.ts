import type { InstrumentDocument } from '../model/document.js';

export type { InstrumentDocument };

/** An RFC 6902 JSON Patch operation, as the bridge sends them (PROTOCOL.md §3). */
export type JsonPatchOperation =
  { op: 'add' | 'replace' | 'test'; path: string; value: unknown } | { op: 'remove'; path: string } | { op: 'move' | 'copy'; from: string; path: string };

/** A symbol's version: a patch with `seq: N` applies to the document at `seq: N-1` of the same epoch. */
export interface Version {
  readonly epoch: string;
  readonly seq: number;
}

/** How the client is connected: WebSocket, Server-Sent Events, or HTTP long polling. */
export type TransportKind = 'ws' | 'sse' | 'poll';

export const TRANSPORT_KINDS: readonly TransportKind[] = ['ws', 'sse', 'poll'];

export interface SnapshotMessage {
  readonly type: 'snapshot';
  readonly symbol: string;
  readonly epoch: string;
  readonly seq: number;
  readonly data: InstrumentDocument;
}

export interface PatchMessage {
  readonly type: 'patch';
  readonly symbol: string;
  readonly epoch: string;
  readonly seq: number;
  /**
   * The seq of the version it applies to (PROTOCOL.md §8): `seq - 1` on the whole document, the
   * view's previous version on a view. Absent from a bridge older than views: then `seq - 1`.
   */
  readonly base?: number;
  readonly ops: readonly JsonPatchOperation[];
}

/** What every transport delivers to the client, in order per symbol. */
export type DataMessage = SnapshotMessage | PatchMessage;

/** A condition the bridge reports with a code (an `error` frame, an SSE `notice`, an HTTP error body). */
export interface BridgeNotice {
  readonly code: string;
  readonly message: string;
}

export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed';
