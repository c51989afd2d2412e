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

const EPOCH_TEXT = '[A-Za-z0-9_-]{1,64}';
/** What an epoch may be: it is part of SSE event ids (`<epoch>:<gseq>`) and of hand-built JSON. */
export const EPOCH_PATTERN = new RegExp(`^${EPOCH_TEXT}$`);
/** An edge's cursor scope: its node id (cluster.nodeId) and its process's random suffix. */
const SCOPE_TEXT = '[A-Za-z0-9_.-]{1,64}\\.[0-9a-f]{6}';
const SCOPE = new RegExp(`^${SCOPE_TEXT}$`);
/** Positions a relayed cursor names at most (one per edge a client moved through while being caught up). */
export const MAX_RELAY_POSITIONS = 8;
/**
 * Every SSE id the bridge sends (SseCursor, RelayedCursor): `<epoch>:<gseq>[:<base>]`, on an
 * edge `<epoch>.<scope>:<gseq>[:<base>]`, and in a catch-up from another edge's cursor
 * `<epoch>.<scope>:<gseq>~<scope>:<gseq>…`.
 */
export const SSE_ID_PATTERN = `^${EPOCH_TEXT}(\\.${SCOPE_TEXT})?:[0-9]+(:[0-9]+|(~${SCOPE_TEXT}:[0-9]+){1,${MAX_RELAY_POSITIONS}})?$`;

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

/** `relay`: the positions a stream resumed from on another edge, until it holds what they held (RelayedCursor). */
export function formatSseId(epoch: string, gseq: number, base: number = gseq, relay: string | null = null): string {
  if (relay !== null) return `${epoch}:${gseq}~${relay}`;
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

/**
 * An edge node's cursor (docs/cluster.md): `<epoch>.<scope>:<gseq>` is a position in the
 * commit order of one edge process (`scope`, its node id and a random suffix), which that
 * process logs in Redis, so that any edge can tell which version of every symbol the client
 * held there. A stream resumed on another edge carries, until it is caught up, the positions it
 * resumed from: `<epoch>.<scope>:<gseq>~<scope>:<gseq>…`, newest first; the client then holds,
 * of every symbol the oldest position held, the latest version any position held, and nothing
 * else. `epoch` is the namespace's.
 */
export interface RelayedCursor {
  readonly epoch: string;
  readonly positions: readonly { readonly scope: string; readonly gseq: number }[];
}

/** Parses an edge cursor without a snapshot base (a single node's cursors are not relayed); null when it is not one. */
export function parseRelayedCursor(id: string): RelayedCursor | null {
  const dot = id.indexOf('.');
  if (dot <= 0) return null;
  const parts = id.slice(dot + 1).split('~');
  if (parts.length > MAX_RELAY_POSITIONS) return null;
  const positions: { scope: string; gseq: number }[] = [];
  for (const part of parts) {
    const colon = part.lastIndexOf(':');
    const scope = part.slice(0, colon);
    const gseqText = part.slice(colon + 1);
    if (colon < 0 || !SCOPE.test(scope) || !/^[0-9]{1,15}$/.test(gseqText)) return null;
    positions.push({ scope, gseq: Number(gseqText) });
  }
  const epoch = id.slice(0, dot);
  return EPOCH_PATTERN.test(epoch) ? { epoch, positions } : null;
}

/** A relayed cursor as text (what follows `~` in the ids of a stream resumed from it). */
export function formatRelayPositions(positions: RelayedCursor['positions']): string {
  return positions.map(({ scope, gseq }) => `${scope}:${gseq}`).join('~');
}

/**
 * What a relayed cursor resolves to: the version the client holds of each symbol it holds
 * (the whole document's seq), and the positions to carry in the ids of its catch-up.
 */
export interface RelayedResume {
  readonly epoch: string;
  readonly held: ReadonlyMap<string, number>;
  readonly relay: string;
}
