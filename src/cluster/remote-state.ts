import type { Redis } from 'ioredis';
import type { InstrumentDocument } from '../model/document.js';
import type { PatchOperation } from '../model/patch.js';
import { EPOCH_PATTERN } from '../model/wire.js';
import { applyPatch } from '../state/apply-patch.js';
import type { ClusterKeys } from './keys.js';

/** One version as Redis holds it: a patch from the version before, or a whole document. */
export type RemoteVersion =
  | { readonly kind: 'patch'; readonly epoch: string; readonly seq: number; readonly ops: readonly PatchOperation[] }
  | { readonly kind: 'snapshot'; readonly epoch: string; readonly seq: number; readonly document: InstrumentDocument };

/** Something in Redis that is not what this layout writes: `key` names where it was found. */
export class ClusterDataError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`${key}: ${reason}`);
    this.name = 'ClusterDataError';
  }
}

const OPS = new Set(['add', 'remove', 'replace']);

/** What is taken from Redis at most: a message's or document's characters, a stream's entries read at once. */
export interface RemoteLimits {
  /** cluster.maxMessageBytes. */
  readonly maxBytes: number;
  /** More than the writers keep (their MAXLEN, approximate): a longer stream is not one of this layout's. */
  readonly maxEntries: number;
}

/** A stream entry's or channel message's text as a version of `symbol`; throws ClusterDataError. */
export function parseVersion(text: string, symbol: string, key: string, maxBytes: number): RemoteVersion {
  const value = jsonObjectOf(text, 'message', key, maxBytes);
  const { type, epoch, seq } = value;
  if (value.symbol !== symbol) throw new ClusterDataError(key, `names symbol ${JSON.stringify(value.symbol)}, not ${JSON.stringify(symbol)}`);
  if (typeof epoch !== 'string' || !EPOCH_PATTERN.test(epoch)) throw new ClusterDataError(key, 'has no valid epoch');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) throw new ClusterDataError(key, 'has no valid seq');
  if (type === 'patch') return { kind: 'patch', epoch, seq, ops: opsOf(value.ops, key) };
  if (type === 'snapshot') return { kind: 'snapshot', epoch, seq, document: documentOf(value.data, symbol, key) };
  throw new ClusterDataError(key, `has type ${JSON.stringify(type)}, not patch or snapshot`);
}

/** A symbol's top version in Redis, rebuilt from its stored document and the stream after it. */
export interface RemoteTop {
  readonly epoch: string;
  readonly seq: number;
  readonly document: InstrumentDocument;
  /** How it was rebuilt: the whole version it starts from, and each patch after it with the document it makes. */
  readonly from: { readonly seq: number; readonly document: InstrumentDocument };
  readonly steps: readonly RemoteStep[];
  /** The version of the stored document (`doc`), null when there is none. */
  readonly storedSeq: number | null;
}

/** A patch of the stream and the version it makes. */
export interface RemoteStep {
  readonly seq: number;
  readonly ops: readonly PatchOperation[];
  readonly document: InstrumentDocument;
}

/**
 * The versions of `symbol` after `afterSeq` in `epoch`, when the stream still holds them all
 * (null when it does not, or when the symbol is in another epoch). The caller applies them.
 */
export async function readVersionsAfter(
  redis: Redis,
  keys: ClusterKeys,
  symbol: string,
  epoch: string,
  afterSeq: number,
  limits: RemoteLimits,
): Promise<RemoteVersion[] | null> {
  const [metaEpoch] = await redis.hmget(keys.meta(symbol), 'epoch');
  if (metaEpoch !== epoch) return null;
  const versions = await readLog(redis, keys, symbol, `${afterSeq + 1}-0`, limits);
  const first = versions[0];
  if (first !== undefined && first.seq !== afterSeq + 1) return null;
  return versions.filter((version) => version.epoch === epoch);
}

/**
 * The symbol's top version: its stored document with the stream's versions after it (or the
 * last whole document in the stream), at least the version the meta hash names when read (a
 * later one when one was published meanwhile). Null when Redis holds nothing of the symbol; throws
 * ClusterDataError when what it holds does not add up.
 */
export async function readTop(redis: Redis, keys: ClusterKeys, symbol: string, limits: RemoteLimits): Promise<RemoteTop | null> {
  const [[epoch = null, top = null], docText] = await Promise.all([redis.hmget(keys.meta(symbol), 'epoch', 'seq'), redis.get(keys.doc(symbol))]);
  if (epoch === null || top === null) return null;
  const topSeq = Number(top);
  if (!EPOCH_PATTERN.test(epoch) || !Number.isSafeInteger(topSeq) || topSeq < 1) throw new ClusterDataError(keys.meta(symbol), 'has no valid epoch and seq');
  const stored = docText === null ? null : storedDocument(docText, symbol, keys.doc(symbol), limits.maxBytes);
  let from = stored;
  let steps: RemoteStep[] = [];
  const versions = await readLog(redis, keys, symbol, from ? `${from.seq + 1}-0` : '-', limits);
  for (const version of versions) {
    if (version.epoch !== epoch) continue;
    const at = steps.at(-1) ?? from;
    if (version.kind === 'snapshot') {
      from = { seq: version.seq, document: version.document };
      steps = [];
    } else if (at && version.seq === at.seq + 1) {
      steps.push({ seq: version.seq, ops: version.ops, document: applyOrThrow(at.document, version.ops, keys.log(symbol), version.seq) });
    } else if (at && version.seq > at.seq + 1) {
      throw new ClusterDataError(keys.log(symbol), `has no version ${at.seq + 1} (next is ${version.seq})`);
    }
  }
  if (!from) throw new ClusterDataError(keys.doc(symbol), `holds no document, and the stream no whole version, to rebuild version ${topSeq} from`);
  const last = steps.at(-1) ?? from;
  // The stream is read after the meta hash: a version published in between takes it past the
  // seq read, and is as good (the script writes both at once). Behind it is what does not add up.
  if (last.seq < topSeq) throw new ClusterDataError(keys.meta(symbol), `says version ${topSeq}, the document and stream give ${last.seq}`);
  return { epoch, seq: last.seq, document: last.document, from, steps, storedSeq: stored?.seq ?? null };
}

/** `ops` applied to `document`; a patch that does not apply is bad data in `key`. */
export function applyOrThrow(document: InstrumentDocument, ops: readonly PatchOperation[], key: string, seq: number): InstrumentDocument {
  try {
    return applyPatch(document, ops);
  } catch (error) {
    throw new ClusterDataError(key, `version ${seq} does not apply: ${(error as Error).message}`);
  }
}

/** The stream's versions from entry id `start` on, oldest first. */
async function readLog(redis: Redis, keys: ClusterKeys, symbol: string, start: string, limits: RemoteLimits): Promise<RemoteVersion[]> {
  const key = keys.log(symbol);
  const entries = await redis.xrange(key, start, '+', 'COUNT', limits.maxEntries + 1);
  if (entries.length > limits.maxEntries)
    throw new ClusterDataError(key, `holds more than ${limits.maxEntries} entries from ${start}, more than any writer keeps`);
  return entries.map(([id, fields]) => {
    const at = fields.indexOf('m');
    const text = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
    if (text === undefined) throw new ClusterDataError(`${key} ${id}`, 'entry has no field m');
    const version = parseVersion(text, symbol, `${key} ${id}`, limits.maxBytes);
    if (id !== `${version.seq}-0`) throw new ClusterDataError(`${key} ${id}`, `entry id does not match its seq ${version.seq}`);
    return version;
  });
}

function storedDocument(text: string, symbol: string, key: string, maxBytes: number): { seq: number; document: InstrumentDocument } {
  const value = jsonObjectOf(text, 'document', key, maxBytes);
  if (typeof value.seq !== 'number' || !Number.isSafeInteger(value.seq) || value.seq < 1) throw new ClusterDataError(key, 'is not {"seq","data"}');
  return { seq: value.seq, document: documentOf(value.data, symbol, key) };
}

/** `text` (a `what` found at `key`) as a JSON object, within `maxBytes`. */
function jsonObjectOf(text: string, what: string, key: string, maxBytes: number): Record<string, unknown> {
  if (text.length > maxBytes) throw new ClusterDataError(key, `${what} of ${text.length} characters is over cluster.maxMessageBytes (${maxBytes})`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ClusterDataError(key, `not JSON (${(error as Error).message})`);
  }
  if (!isRecord(value)) throw new ClusterDataError(key, 'not a JSON object');
  return value;
}

function opsOf(value: unknown, key: string): PatchOperation[] {
  if (!Array.isArray(value)) throw new ClusterDataError(key, 'ops is not an array');
  return value.map((op: unknown, index) => {
    if (!isRecord(op) || typeof op.op !== 'string' || !OPS.has(op.op) || typeof op.path !== 'string' || (op.op !== 'remove' && !('value' in op))) {
      throw new ClusterDataError(key, `op ${index} is not an add, remove or replace with a path (and a value)`);
    }
    return op as PatchOperation;
  });
}

function documentOf(value: unknown, symbol: string, key: string): InstrumentDocument {
  if (!isRecord(value) || value.symbol !== symbol || !isRecord(value.bars) || !Array.isArray(value.sources)) {
    throw new ClusterDataError(key, `does not hold a document of ${JSON.stringify(symbol)}`);
  }
  return value as unknown as InstrumentDocument;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
