import type { PatchOperation } from '../model/patch.js';

/** Why a patch does not apply to a document: its operation's index and the reason. */
class PatchApplyError extends Error {
  constructor(
    readonly index: number,
    reason: string,
  ) {
    super(`op ${index}: ${reason}`);
    this.name = 'PatchApplyError';
  }
}

/**
 * `document` with `ops` applied, the way the delta engine's own patches are (add, remove,
 * replace). Copy on write: only the containers along each op's path are copied, so the new
 * version shares every untouched part with the old one (as the store's versions do), and the
 * old one is never changed. A patch that does not apply throws PatchApplyError and leaves
 * nothing half done.
 */
export function applyPatch<T>(document: T, ops: readonly PatchOperation[]): T {
  let root: unknown = document;
  /** Containers copied by this patch: written in place by its later ops. */
  const own = new WeakSet<object>();
  ops.forEach((op, index) => {
    // Typed as always having one; a patch read from elsewhere may not.
    if (op.op !== 'remove' && !Object.hasOwn(op, 'value')) throw new PatchApplyError(index, 'an add or replace has no value');
    if (op.path === '') {
      if (op.op === 'remove') throw new PatchApplyError(index, 'cannot remove the whole document');
      root = op.value;
      return;
    }
    const tokens = pointerTokens(op.path, index);
    root = writeAt(root, tokens, 0, op, own, index);
  });
  return root as T;
}

function writeAt(container: unknown, tokens: readonly string[], depth: number, op: PatchOperation, own: WeakSet<object>, index: number): unknown {
  const token = tokens[depth] as string;
  const copy = ownCopy(container, own, index, tokens, depth);
  if (depth < tokens.length - 1) {
    const child = Array.isArray(copy) ? copy[arrayIndex(copy, token, false, index)] : copy[ownKey(copy, token, index)];
    setChild(copy, token, writeAt(child, tokens, depth + 1, op, own, index), index);
    return copy;
  }
  if (Array.isArray(copy)) {
    if (op.op === 'add') copy.splice(arrayIndex(copy, token, true, index), 0, op.value);
    else if (op.op === 'remove') copy.splice(arrayIndex(copy, token, false, index), 1);
    else copy[arrayIndex(copy, token, false, index)] = op.value;
    return copy;
  }
  if (op.op === 'add') setOwn(copy, token, op.value);
  else if (op.op === 'remove') Reflect.deleteProperty(copy, ownKey(copy, token, index));
  else setOwn(copy, ownKey(copy, token, index), op.value);
  return copy;
}

function ownCopy(container: unknown, own: WeakSet<object>, index: number, tokens: readonly string[], depth: number): unknown[] | Record<string, unknown> {
  if (typeof container !== 'object' || container === null) {
    throw new PatchApplyError(index, `/${tokens.slice(0, depth).join('/')} is not an object or array`);
  }
  if (own.has(container)) return container as unknown[] | Record<string, unknown>;
  const copy = Array.isArray(container) ? [...(container as unknown[])] : { ...(container as Record<string, unknown>) };
  own.add(copy);
  return copy;
}

function setChild(container: unknown[] | Record<string, unknown>, token: string, value: unknown, index: number): void {
  if (Array.isArray(container)) container[arrayIndex(container, token, false, index)] = value;
  else setOwn(container, token, value);
}

/** Sets an own data property: `__proto__` is a member name like any other, never the prototype. */
function setOwn(record: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function ownKey(record: object, key: string, index: number): string {
  if (!Object.hasOwn(record, key)) throw new PatchApplyError(index, `no member ${JSON.stringify(key)}`);
  return key;
}

function arrayIndex(array: readonly unknown[], token: string, forAdd: boolean, index: number): number {
  if (forAdd && token === '-') return array.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchApplyError(index, `${JSON.stringify(token)} is not an array index`);
  const at = Number(token);
  if (at > array.length || (!forAdd && at === array.length)) throw new PatchApplyError(index, `index ${at} is out of bounds (length ${array.length})`);
  return at;
}

function pointerTokens(path: string, index: number): string[] {
  if (!path.startsWith('/')) throw new PatchApplyError(index, `path ${JSON.stringify(path)} is not a JSON pointer`);
  return path
    .slice(1)
    .split('/')
    .map((raw) => raw.replaceAll('~1', '/').replaceAll('~0', '~'));
}
