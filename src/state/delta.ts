import type { PatchOperation } from '../model/patch.js';

/**
 * The delta engine: the RFC 6902 JSON Patch that turns one document into the next.
 *
 * - Unchanged subtrees are skipped by reference (documents share them between versions).
 * - Arrays whose elements have an identity (bars keyed by `t`, book levels keyed by price)
 *   and are ordered by it are diffed by identity: a bar that rolls a full window is one
 *   `remove` and one `add`, never a `replace` of every element.
 * - A flat object (a quote, a bar) whose changed fields would cost more bytes as separate
 *   operations than as one `replace` of the object is replaced whole.
 */

export function diff(before: unknown, after: unknown): PatchOperation[] {
  const ops: PatchOperation[] = [];
  diffValue(before, after, '', ops);
  return ops;
}

function diffValue(a: unknown, b: unknown, path: string, ops: PatchOperation[]): void {
  if (a === b) return;
  if (isPlainObject(a) && isPlainObject(b)) diffObject(a, b, path, ops);
  else if (Array.isArray(a) && Array.isArray(b)) diffArray(a, b, path, ops);
  else ops.push({ op: 'replace', path, value: b });
}

function diffObject(a: Record<string, unknown>, b: Record<string, unknown>, path: string, ops: PatchOperation[]): void {
  const start = ops.length;
  for (const key in a) {
    if (a[key] !== undefined && ownValue(b, key) === undefined) ops.push({ op: 'remove', path: `${path}/${escapeToken(key)}` });
  }
  for (const key in b) {
    const value = b[key];
    if (value === undefined) continue;
    const previous = ownValue(a, key);
    // Paths are built only for what changed: most of a window's bars are equal field by field.
    if (previous === value) continue;
    const child = `${path}/${escapeToken(key)}`;
    if (previous === undefined) ops.push({ op: 'add', path: child, value });
    else diffValue(previous, value, child, ops);
  }
  if (path !== '' && ops.length - start > 1 && isFlat(b) && wholeIsSmaller(ops, start, b, path)) {
    ops.length = start;
    ops.push({ op: 'replace', path, value: b });
  }
}

/** Fixed bytes of `{"op":"replace","path":"","value":}` and the comma between operations. */
const OP_OVERHEAD = 34;

function wholeIsSmaller(ops: PatchOperation[], start: number, b: Record<string, unknown>, path: string): boolean {
  let separate = 0;
  for (let i = start; i < ops.length; i++) {
    const op = ops[i] as PatchOperation;
    separate += OP_OVERHEAD + op.path.length + ('value' in op ? primitiveLength(op.value) : -8);
  }
  return OP_OVERHEAD + path.length + flatObjectLength(b) < separate;
}

function isFlat(value: Record<string, unknown>): boolean {
  for (const key in value) {
    const item = value[key];
    if (typeof item === 'object' && item !== null) return false;
  }
  return true;
}

function flatObjectLength(value: Record<string, unknown>): number {
  let length = 2;
  for (const key in value) {
    const item = value[key];
    if (item !== undefined) length += key.length + 4 + primitiveLength(item);
  }
  return length;
}

function primitiveLength(value: unknown): number {
  if (typeof value === 'number') return String(value).length;
  if (typeof value === 'string') return value.length + 2;
  return String(value).length;
}

type KeyOf = (element: unknown) => number;

const keyOfBar: KeyOf = (element) => (element as { t: number }).t;
const keyOfLevel: KeyOf = (element) => (element as number[])[0] as number;

function diffArray(a: unknown[], b: unknown[], path: string, ops: PatchOperation[]): void {
  const keyOf = identityOf(a, b);
  const direction = keyOf ? orderOf(b.length > 1 ? b : a, keyOf) : 0;
  if (keyOf && direction !== 0 && isOrdered(a, keyOf, direction) && isOrdered(b, keyOf, direction)) {
    diffByIdentity(a, b, keyOf, direction, path, ops);
  } else {
    diffByPosition(a, b, path, ops);
  }
}

/** Bars (objects with a numeric `t`) and book levels (arrays led by a numeric price). */
function identityOf(a: unknown[], b: unknown[]): KeyOf | null {
  const sample = b[0] ?? a[0];
  if (isPlainObject(sample) && typeof sample.t === 'number') {
    return a.every(hasNumericT) && b.every(hasNumericT) ? keyOfBar : null;
  }
  if (Array.isArray(sample) && typeof sample[0] === 'number') {
    return a.every(isLevel) && b.every(isLevel) ? keyOfLevel : null;
  }
  return null;
}

function hasNumericT(element: unknown): boolean {
  return isPlainObject(element) && typeof element.t === 'number';
}

function isLevel(element: unknown): boolean {
  return Array.isArray(element) && typeof element[0] === 'number';
}

/** +1 for ascending keys, -1 for descending, 0 when it cannot tell (fewer than two). */
function orderOf(array: unknown[], keyOf: KeyOf): number {
  if (array.length < 2) return 1;
  return Math.sign(keyOf(array[1]) - keyOf(array[0]));
}

function isOrdered(array: unknown[], keyOf: KeyOf, direction: number): boolean {
  for (let i = 1; i < array.length; i++) {
    if ((keyOf(array[i]) - keyOf(array[i - 1])) * direction <= 0) return false;
  }
  return true;
}

/** A merge walk over two arrays ordered by the same key; indexes follow the patched array. */
function diffByIdentity(a: unknown[], b: unknown[], keyOf: KeyOf, direction: number, path: string, ops: PatchOperation[]): void {
  let i = 0;
  let j = 0;
  let position = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length) {
      const ka = keyOf(a[i]);
      const kb = keyOf(b[j]);
      if (ka === kb) {
        if (a[i] !== b[j]) diffValue(a[i], b[j], `${path}/${position}`, ops);
        i++;
        j++;
        position++;
        continue;
      }
      if ((ka - kb) * direction < 0) {
        ops.push({ op: 'remove', path: `${path}/${position}` });
        i++;
        continue;
      }
      ops.push({ op: 'add', path: `${path}/${position}`, value: b[j] });
      j++;
      position++;
    } else if (i < a.length) {
      ops.push({ op: 'remove', path: `${path}/${position}` });
      i++;
    } else {
      ops.push({ op: 'add', path: `${path}/${position}`, value: b[j] });
      j++;
      position++;
    }
  }
}

function diffByPosition(a: unknown[], b: unknown[], path: string, ops: PatchOperation[]): void {
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) if (a[i] !== b[i]) diffValue(a[i], b[i], `${path}/${i}`, ops);
  for (let i = common; i < b.length; i++) ops.push({ op: 'add', path: `${path}/${i}`, value: b[i] });
  for (let i = a.length - 1; i >= common; i--) ops.push({ op: 'remove', path: `${path}/${i}` });
}

/**
 * The value of `object`'s own property `key`: a key such as `constructor` or `toString`
 * that the object does not hold must not read as the one its prototype inherits.
 */
function ownValue(object: Record<string, unknown>, key: string): unknown {
  const value = object[key];
  return value === undefined || Object.hasOwn(object, key) ? value : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapeToken(token: string): string {
  return token.includes('~') || token.includes('/') ? token.replace(/~/g, '~0').replace(/\//g, '~1') : token;
}
