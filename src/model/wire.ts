/**
 * The wire protocol's messages (PROTOCOL.md) as JSON text: every message the bridge sends a
 * client is built here, and only here. The data messages are built by concatenating parts
 * that were serialised once (the document per version, the ops per patch), never per
 * recipient. Framing (WebSocket frames, SSE event lines) is the transports' (frames.ts).
 */
import type { ErrorCode } from './errors.js';
import type { PatchOperation } from './patch.js';
import { MAX_SYMBOL_LENGTH } from './symbol-name.js';

export type DataEvent = 'snapshot' | 'patch';

/** The `:symbol` route parameter (PROTOCOL.md §5), as every route that has one validates it. */
export interface SymbolParams {
  symbol: string;
}

/** JSON schema of SymbolParams: a name longer than any symbol is refused before the route runs. */
export const SYMBOL_PARAMS_SCHEMA = {
  type: 'object',
  required: ['symbol'],
  properties: { symbol: { type: 'string', minLength: 1, maxLength: MAX_SYMBOL_LENGTH } },
} as const;

/** `snapshot` (§3, §4): `symbolJson` and `documentJson` are already JSON. */
export function snapshotMessage(symbolJson: string, epoch: string, seq: number, documentJson: string): string {
  return `{"type":"snapshot","symbol":${symbolJson},"epoch":"${epoch}","seq":${seq},"data":${documentJson}}`;
}

/**
 * `patch` (§3, §4, §8), in one JSON.stringify (keys in PROTOCOL.md's order). `base` is the seq
 * of the version the patch applies to: `seq - 1` on the whole document, the view's previous
 * version on a view. The journal keeps this text and takes the ops' JSON as a slice of it, from
 * patchOpsOffset.
 */
export function patchMessage(symbol: string, epoch: string, seq: number, base: number, ops: readonly PatchOperation[]): string {
  return JSON.stringify({ type: 'patch', symbol, epoch, seq, base, ops });
}

/** patchMessage's text from ops already serialised (`symbolJson` too): the same bytes, with no second stringify. */
export function patchMessageOfJson(symbolJson: string, epoch: string, seq: number, base: number, opsJson: string): string {
  return `{"type":"patch","symbol":${symbolJson},"epoch":"${epoch}","seq":${seq},"base":${base},"ops":${opsJson}}`;
}

/** `{"type":"patch","symbol":` `,"epoch":"` `","seq":` `,"base":` `,"ops":`: what precedes the ops, but the values. */
const PATCH_PREFIX_LENGTH = '{"type":"patch","symbol":,"epoch":"","seq":,"base":,"ops":'.length;

/** Where the ops' JSON starts in patchMessage's text (an epoch never needs escaping: store.ts EPOCH_PATTERN). */
export function patchOpsOffset(symbolJson: string, epoch: string, seq: number, base: number): number {
  return PATCH_PREFIX_LENGTH + symbolJson.length + epoch.length + String(seq).length + String(base).length;
}

/** `hello`, the first message on a WebSocket (§3); `node` names the node that serves it (§7). */
export function helloMessage(epoch: string, server: string, heartbeatMs: number, node: string): string {
  return JSON.stringify({ type: 'hello', epoch, server, heartbeatMs, node });
}

/** `pong`, the answer to a client's ping, with its id (§3). */
export function pongMessage(id: string | number | null): string {
  return JSON.stringify({ type: 'pong', id });
}

/** `error` (§3): a WebSocket error frame's text, and an SSE `notice` event's data (§4). */
export function errorMessage(code: ErrorCode, message: string): string {
  return JSON.stringify({ type: 'error', code, message });
}

/** `{ "error": { "code", "message" } }`, the body of every HTTP error (§5). */
export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/** `GET /v1/symbols/:symbol` (§5): the snapshot without its `type`. */
export function snapshotBody(symbolJson: string, epoch: string, seq: number, documentJson: string): string {
  return `{"symbol":${symbolJson},"epoch":"${epoch}","seq":${seq},"data":${documentJson}}`;
}

/** A patch as the patches answer lists it: `opsJson` is already JSON; `base` as in patchMessage. */
export interface HeldPatch {
  readonly seq: number;
  readonly base: number;
  readonly opsJson: string;
}

/** `GET /v1/symbols/:symbol/patches` (§5, §8): every patch after the one asked for, oldest first. */
export function patchesAnswer(symbolJson: string, epoch: string, seq: number, patches: readonly HeldPatch[]): string {
  const list = patches.map((entry) => `{"seq":${entry.seq},"base":${entry.base},"ops":${entry.opsJson}}`).join(',');
  return `{"symbol":${symbolJson},"epoch":"${epoch}","seq":${seq},"patches":[${list}]}`;
}

/** What heads a dashboard `summary` (§4). */
export interface SummaryHead {
  epoch: string;
  time: number;
  intervalMs: number;
  staleAfterMs: number;
}

/** `summary`, the dashboard stream's event (§4): `health` and `symbols` as the token may see them. */
export function summaryMessage(head: SummaryHead, health: object, symbols: readonly object[]): string {
  return JSON.stringify({ type: 'summary', ...head, health, symbols });
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
