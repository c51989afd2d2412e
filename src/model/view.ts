/**
 * Views (PROTOCOL.md §8): a subscription to part of the instrument document, named by JSON
 * pointers. A view's document is the document restricted to its parts, and its patches are the
 * document's patches restricted the same way, so a client applying them stays equal to the
 * restriction of the bridge's document. Whole-document subscriptions have no View (null).
 */
import type { PatchOperation } from './patch.js';
import { isTimeframe } from './document.js';

/** Parts one subscription may name. */
export const MAX_VIEW_PARTS = 16;
/** Longest part (a pointer) accepted, in characters. */
export const MAX_PART_LENGTH = 256;

/** A validated, normalised list of parts: sorted, without duplicates or parts inside another. */
export interface View {
  readonly parts: readonly string[];
  /** The same list as one string: views with equal keys are the same view (their frames are shared). */
  readonly key: string;
}

const QUOTE_KEYS = new Set(['bid', 'ask', 'last', 'lastSize', 'time']);
const BOOK_KEYS = new Set(['bids', 'asks', 'time']);
/** Always in a view: a part naming one of them adds nothing. */
const ALWAYS = new Set(['symbol', 'sources']);
const ALWAYS_PARTS = ['/symbol', '/sources'];

/**
 * The view `parts` names, or why it names none (a message that quotes the part). `parts` must be
 * 1 to MAX_VIEW_PARTS JSON pointers to paths the document can have: `/quote[/key]`,
 * `/bars[/timeframe]`, `/book[/bids|asks|time]`, `/indicators[/timeframe[/name]]`,
 * `/fields[/name]`. `/symbol` and `/sources` are accepted and dropped (every view holds them).
 */
export function parseView(parts: unknown): View | string {
  if (!Array.isArray(parts) || parts.length === 0) return 'parts must be a non-empty array of JSON pointers';
  if (parts.length > MAX_VIEW_PARTS) return `parts names ${parts.length} pointers; at most ${MAX_VIEW_PARTS}`;
  const kept = new Set<string>();
  for (const part of parts) {
    const problem = partProblem(part);
    if (problem !== null) return problem;
    const pointer = part as string;
    if (!ALWAYS.has(decode(pointer.slice(1)))) kept.add(pointer);
  }
  const sorted = [...kept].sort();
  const normalised = sorted.filter((part) => !sorted.some((other) => other !== part && isWithin(part, other)));
  return { parts: normalised, key: JSON.stringify(normalised) };
}

/** Why `part` is not a pointer the document schema can have, or null. */
function partProblem(part: unknown): string | null {
  if (typeof part !== 'string') return 'parts must hold strings (JSON pointers such as "/quote")';
  const quoted = JSON.stringify(part.length > 40 ? `${part.slice(0, 40)}…` : part);
  if (part.length > MAX_PART_LENGTH) return `part ${quoted} is longer than ${MAX_PART_LENGTH} characters`;
  if (!part.startsWith('/')) return `part ${quoted} is not a JSON pointer (it must start with "/")`;
  if (/~(?![01])/.test(part)) return `part ${quoted} is not a JSON pointer ("~" must be followed by 0 or 1)`;
  const segments = part.slice(1).split('/').map(decode);
  const [top, child, grandchild] = segments as [string, string | undefined, string | undefined];
  const depth = segments.length;
  const allowed = ((): boolean => {
    switch (top) {
      case 'symbol':
      case 'sources':
        return depth === 1;
      case 'quote':
        return depth === 1 || (depth === 2 && QUOTE_KEYS.has(child as string));
      case 'bars':
        return depth === 1 || (depth === 2 && isTimeframe(child as string));
      case 'book':
        return depth === 1 || (depth === 2 && BOOK_KEYS.has(child as string));
      case 'indicators':
        return depth === 1 || (depth <= 3 && isTimeframe(child as string) && grandchild !== '');
      case 'fields':
        return depth <= 2;
      default:
        return false;
    }
  })();
  return allowed ? null : `part ${quoted} is not a path of the document (see PROTOCOL.md §1: quote, bars/<timeframe>, book, indicators, fields)`;
}

function decode(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** `path` is `part` or inside it. */
function isWithin(path: string, part: string): boolean {
  return path === part || (path.length > part.length && path.startsWith(part) && path[part.length] === '/');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets an own property (a key such as `__proto__` is data here, never a prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Copies into `target` what `source` holds along each of `paths` (segment lists relative to
 * it): the containers on the way as objects holding only what the paths need, and the value at
 * the end of a path. A container that is missing stops the path; one that is not an object is
 * copied whole. Values are shared, not copied.
 */
function restrictInto(target: Record<string, unknown>, source: Record<string, unknown>, paths: readonly (readonly string[])[]): void {
  for (const path of paths) {
    let from = source;
    let to = target;
    for (let i = 0; i < path.length; i++) {
      const key = path[i] as string;
      if (!Object.hasOwn(from, key) || from[key] === undefined) break;
      const value = from[key];
      if (i === path.length - 1 || !isPlainObject(value)) {
        setOwn(to, key, value);
        break;
      }
      if (!Object.hasOwn(to, key)) setOwn(to, key, {});
      to = to[key] as Record<string, unknown>;
      from = value;
    }
  }
}

function segmentsOf(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map(decode);
}

/** The document restricted to `view`: `symbol`, `sources` and the parts it has. */
export function restrictDocument(document: object, view: View): Record<string, unknown> {
  const source = document as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of ALWAYS) if (Object.hasOwn(source, key)) setOwn(out, key, source[key]);
  restrictInto(out, source, view.parts.map(segmentsOf));
  return out;
}

/**
 * A patch of the document restricted to `view`, in the same order: an op inside a part is kept
 * as it is; an op on a container of parts (a `replace` of `/bars` for `/bars/M1`) keeps its path
 * and carries only what the parts hold of its value; any other op is dropped. Applied to the
 * restricted document before the patch, it gives the restricted document after it. Empty when
 * the patch touches nothing of the view.
 */
export function restrictOps(ops: readonly PatchOperation[], view: View): PatchOperation[] {
  const out: PatchOperation[] = [];
  for (const op of ops) {
    if (ALWAYS_PARTS.some((part) => isWithin(op.path, part)) || view.parts.some((part) => isWithin(op.path, part))) {
      out.push(op);
      continue;
    }
    const inside = view.parts.filter((part) => isWithin(part, op.path));
    if (inside.length === 0) continue;
    if (op.op === 'remove') {
      out.push(op);
      continue;
    }
    let value = op.value;
    if (op.path === '' && isPlainObject(value)) {
      value = restrictDocument(value, view);
    } else if (isPlainObject(value)) {
      const depth = segmentsOf(op.path).length;
      const restricted: Record<string, unknown> = {};
      restrictInto(
        restricted,
        value,
        inside.map((part) => segmentsOf(part).slice(depth)),
      );
      value = restricted;
    }
    out.push({ op: op.op, path: op.path, value });
  }
  return out;
}
