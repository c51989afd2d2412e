import jsonpatch from 'fast-json-patch';
import type { InstrumentDocument, JsonPatchOperation, PatchMessage, SnapshotMessage, Version } from './types.js';

/** A symbol's document as the client holds it, with its version. Frozen: never changed in place. */
export interface HeldDocument extends Version {
  readonly document: InstrumentDocument;
}

export type PatchOutcome =
  | { readonly kind: 'applied'; readonly held: HeldDocument }
  /** Already held (a replay overlapping what arrived live): nothing to do. */
  | { readonly kind: 'duplicate' }
  /** Does not follow the held version (a seq skipped, another epoch, or no snapshot yet). */
  | { readonly kind: 'gap'; readonly held: HeldDocument | undefined }
  /** Follows the held version but does not apply to it; the held document is unchanged. */
  | { readonly kind: 'failed'; readonly held: HeldDocument; readonly error: Error };

/**
 * The documents a client holds, one per symbol, kept by applying patches in `seq` order.
 * A patch is applied to a copy, which becomes the new version only when every operation
 * applied: a document handed out is never half-patched, and never changes afterwards.
 */
export class DocumentMirror {
  readonly #held = new Map<string, HeldDocument>();

  get(symbol: string): HeldDocument | undefined {
    return this.#held.get(symbol);
  }

  symbols(): IterableIterator<string> {
    return this.#held.keys();
  }

  delete(symbol: string): void {
    this.#held.delete(symbol);
  }

  /** Holds the snapshot's document; returns the version it replaced, if any. */
  snapshot(message: SnapshotMessage): { held: HeldDocument; previous: HeldDocument | undefined } {
    const previous = this.#held.get(message.symbol);
    const held: HeldDocument = { epoch: message.epoch, seq: message.seq, document: deepFreeze(message.data) };
    this.#held.set(message.symbol, held);
    return { held, previous };
  }

  patch(message: PatchMessage): PatchOutcome {
    const current = this.#held.get(message.symbol);
    if (current?.epoch !== message.epoch) return { kind: 'gap', held: current };
    if (message.seq <= current.seq) return { kind: 'duplicate' };
    // A view's patches may skip seqs (PROTOCOL.md §8): `base` says which version each follows.
    if ((message.base ?? message.seq - 1) !== current.seq) return { kind: 'gap', held: current };
    let document: InstrumentDocument;
    try {
      document = applyOps(current.document, message.ops);
    } catch (error) {
      return { kind: 'failed', held: current, error: error instanceof Error ? error : new Error(String(error)) };
    }
    const held: HeldDocument = { epoch: message.epoch, seq: message.seq, document: deepFreeze(document) };
    this.#held.set(message.symbol, held);
    return { kind: 'applied', held };
  }
}

/**
 * Applies RFC 6902 operations to a copy of `document` and returns the copy, or throws.
 * Validating: an op whose path does not resolve throws instead of inventing structure.
 */
export function applyOps<T>(document: T, ops: readonly JsonPatchOperation[]): T {
  return jsonpatch.applyPatch(document, ops, true, false).newDocument;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
