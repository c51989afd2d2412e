import type { ResumePoint } from '../hub/hub.js';
import { symbolNameProblem } from '../model/symbol-name.js';
import { ClientError } from '../model/errors.js';
import type { View } from '../model/view.js';
import { readParts } from './view-params.js';

/** A validated WebSocket message from a client (PROTOCOL.md §3). */
export type ClientFrame =
  | { op: 'subscribe'; symbols: string[]; resume: Map<string, ResumePoint>; view: View | null }
  | { op: 'unsubscribe'; symbols: string[] }
  | { op: 'ping'; id: string | number | null };

/** Symbols one subscribe or unsubscribe frame may name. */
export const MAX_SYMBOLS_PER_FRAME = 10_000;

/** Parses and validates a client frame; a ClientError says exactly what is wrong. */
export function parseClientFrame(text: string): ClientFrame | ClientError {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return new ClientError('BAD_REQUEST', 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return new ClientError('BAD_REQUEST', 'frame must be a JSON object with an "op"');
  }
  const frame = value as Record<string, unknown>;
  switch (frame.op) {
    case 'subscribe': {
      const symbols = readSymbols(frame.symbols);
      if (symbols instanceof ClientError) return symbols;
      const resume = readResume(frame.resume);
      if (resume instanceof ClientError) return resume;
      const view = readParts(frame.parts);
      if (view instanceof ClientError) return view;
      return { op: 'subscribe', symbols, resume, view };
    }
    case 'unsubscribe': {
      const symbols = readSymbols(frame.symbols);
      return symbols instanceof ClientError ? symbols : { op: 'unsubscribe', symbols };
    }
    case 'ping': {
      const id = frame.id ?? null;
      if (id !== null && typeof id !== 'string' && typeof id !== 'number') {
        return new ClientError('BAD_REQUEST', 'ping id must be a string or a number');
      }
      return { op: 'ping', id };
    }
    case undefined:
      return new ClientError('BAD_REQUEST', 'frame has no "op"');
    default:
      return new ClientError('UNKNOWN_OP', `unknown op ${JSON.stringify(frame.op)}; expected subscribe, unsubscribe or ping`);
  }
}

function readSymbols(value: unknown): string[] | ClientError {
  if (!Array.isArray(value) || value.length === 0) {
    return new ClientError('BAD_REQUEST', 'symbols must be a non-empty array of strings');
  }
  if (value.length > MAX_SYMBOLS_PER_FRAME) {
    return new ClientError('BAD_REQUEST', `symbols holds ${value.length} entries; at most ${MAX_SYMBOLS_PER_FRAME} per frame`);
  }
  for (const symbol of value) {
    const problem = symbolProblem(symbol);
    if (problem) return new ClientError('BAD_REQUEST', problem);
  }
  return value as string[];
}

/** Why `symbol` is not a valid symbol name, or null when it is. */
export function symbolProblem(symbol: unknown): string | null {
  if (typeof symbol !== 'string') return 'symbols must be a non-empty array of strings';
  const problem = symbolNameProblem(symbol);
  return problem === null ? null : `symbol ${JSON.stringify(symbol.slice(0, 40))}: ${problem}`;
}

function readResume(value: unknown): Map<string, ResumePoint> | ClientError {
  const resume = new Map<string, ResumePoint>();
  if (value === undefined) return resume;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return new ClientError('BAD_REQUEST', 'resume must be an object of symbol to { epoch, seq }');
  }
  for (const [symbol, point] of Object.entries(value)) {
    const p = point as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null || typeof p.epoch !== 'string' || typeof p.seq !== 'number' || !Number.isSafeInteger(p.seq) || p.seq < 0) {
      return new ClientError('BAD_REQUEST', `resume.${symbol} must be { "epoch": string, "seq": non-negative integer }`);
    }
    resume.set(symbol, { epoch: p.epoch, seq: p.seq });
  }
  return resume;
}
