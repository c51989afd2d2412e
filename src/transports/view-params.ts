import { ClientError } from '../model/errors.js';
import { parseView, type View } from '../model/view.js';

/**
 * `parts` of a subscription (PROTOCOL.md §8): a WebSocket frame's array, or the query
 * parameter's comma-separated list (SSE, HTTP). Absent: the whole document (null).
 */
export function readParts(value: unknown): View | null | ClientError {
  if (value === undefined) return null;
  const view = parseView(value);
  return typeof view === 'string' ? new ClientError('BAD_REQUEST', view) : view;
}

export function readPartsParam(value: unknown): View | null | ClientError {
  if (value === undefined) return null;
  if (typeof value !== 'string') return new ClientError('BAD_REQUEST', 'query parameter parts must be given once: a comma-separated list of JSON pointers');
  return readParts(value.split(',').map((part) => part.trim()));
}
