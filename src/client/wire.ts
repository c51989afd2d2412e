import { TapeError, type RaisedErrorCode } from '../model/errors.js';
import type { BridgeNotice, DataMessage, InstrumentDocument, JsonPatchOperation, PatchMessage, SnapshotMessage } from './types.js';

/** What the bridge sends on a WebSocket (PROTOCOL.md §3), validated. */
export type WireMessage =
  DataMessage | { readonly type: 'hello'; readonly epoch: string } | { readonly type: 'pong' } | ({ readonly type: 'error' } & BridgeNotice);

/** A message that does not have the shape the protocol gives it. */
export class WireError extends TapeError {
  override readonly name = 'WireError';
  declare readonly code: 'BAD_MESSAGE';

  constructor(message: string, options?: ErrorOptions) {
    super('BAD_MESSAGE', message, options);
  }
}

/**
 * Parses one message. Returns null for a message type this client does not know (the
 * protocol may gain new ones), and a WireError for anything malformed.
 */
export function parseWireMessage(text: string): WireMessage | null | WireError {
  const value = parseJson(text);
  if (value instanceof WireError) return value;
  switch (value.type) {
    case 'snapshot':
      return readSnapshot(value);
    case 'patch':
      return readPatch(value);
    case 'hello':
      return typeof value.epoch === 'string' ? { type: 'hello', epoch: value.epoch } : new WireError('hello without an epoch');
    case 'pong':
      return { type: 'pong' };
    case 'error':
      return { type: 'error', ...readNotice(value) };
    default:
      return typeof value.type === 'string' ? null : new WireError('message without a type');
  }
}

/** `{symbol, epoch, seq, data}` (a WebSocket or SSE snapshot, or the HTTP snapshot body). */
export function readSnapshot(value: Record<string, unknown>): SnapshotMessage | WireError {
  const head = readHead(value);
  if (head instanceof WireError) return head;
  if (!isObject(value.data)) return new WireError(`snapshot of ${head.symbol} has no data object`);
  return { type: 'snapshot', ...head, data: value.data as unknown as InstrumentDocument };
}

export function readPatch(value: Record<string, unknown>): PatchMessage | WireError {
  const head = readHead(value);
  if (head instanceof WireError) return head;
  const ops = readOps(value.ops);
  if (ops instanceof WireError) return new WireError(`patch ${head.seq} of ${head.symbol}: ${ops.message}`);
  const { base } = value;
  if (base === undefined) return { type: 'patch', ...head, ops };
  if (typeof base !== 'number' || !Number.isSafeInteger(base) || base < 0 || base >= head.seq) {
    return new WireError(`patch ${head.seq} of ${head.symbol}: base must be an integer below seq`);
  }
  return { type: 'patch', ...head, base, ops };
}

/** The patches route's body: `{symbol, epoch, seq, patches: [{seq, base, ops}]}`. */
export function readPatchList(value: unknown): PatchMessage[] | WireError {
  if (!isObject(value) || typeof value.symbol !== 'string' || typeof value.epoch !== 'string' || !Array.isArray(value.patches)) {
    return new WireError('patches response must be {symbol, epoch, patches: [...]}');
  }
  const patches: PatchMessage[] = [];
  for (const item of value.patches) {
    const patch = isObject(item)
      ? readPatch({ symbol: value.symbol, epoch: value.epoch, seq: item.seq, base: item.base, ops: item.ops })
      : new WireError('patch is not an object');
    if (patch instanceof WireError) return patch;
    patches.push(patch);
  }
  return patches;
}

/**
 * `{"error": {"code", "message"}}` of an HTTP error (`status` given), or the fields of an
 * error frame or SSE notice. A body without a code (a proxy's page) becomes `HTTP_<status>`.
 */
export function readNotice(value: unknown, status?: number): BridgeNotice {
  const body = isObject(value) && isObject(value.error) ? value.error : value;
  if (isObject(body) && typeof body.code === 'string') {
    return { code: body.code, message: typeof body.message === 'string' ? body.message : '' };
  }
  return status === undefined
    ? { code: 'BAD_MESSAGE' satisfies RaisedErrorCode, message: 'an error without a code' }
    : { code: `HTTP_${status}`, message: 'the answer has no error code (not from the bridge?)' };
}

export function parseJson(text: string): Record<string, unknown> | WireError {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return new WireError('message is not valid JSON', { cause: error });
  }
  return isObject(value) ? value : new WireError('message is not a JSON object');
}

function readHead(value: Record<string, unknown>): { symbol: string; epoch: string; seq: number } | WireError {
  const { symbol, epoch, seq } = value;
  if (typeof symbol !== 'string' || symbol === '') return new WireError('message without a symbol');
  if (typeof epoch !== 'string' || epoch === '') return new WireError(`message of ${symbol} without an epoch`);
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return new WireError(`message of ${symbol} without a valid seq`);
  return { symbol, epoch, seq };
}

function readOps(value: unknown): JsonPatchOperation[] | WireError {
  if (!Array.isArray(value)) return new WireError('ops must be an array');
  for (const op of value) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      return new WireError('every op must be an object with string "op" and "path"');
    }
  }
  // Each op's own rules (a known op name, a value, a from) are checked when it is applied.
  return value as JsonPatchOperation[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
