import type { JsonObject, JsonValue } from '../model/document.js';

/**
 * What a tail decoder carries from one read to the next (TailDecoder.checkpoint), as JSON:
 * numbers that are not finite (a NaN "no time yet", an infinite bound) are saved as null.
 */
export type DecoderCarry = JsonObject;

/** A saved carry that does not fit the decoder: the file is read again from its start. */
export class CarryMismatch extends Error {
  constructor(what: string) {
    super(`saved decoder state does not fit: ${what}`);
    this.name = 'CarryMismatch';
  }
}

/** A number as saved: null for NaN and the infinities. */
export function savedNumber(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}

/** The number saved under `key`; `absent` where null was saved (savedNumber). */
export function carriedNumber(saved: JsonObject, key: string, absent: number): number {
  const value = saved[key];
  if (value === null) return absent;
  if (typeof value !== 'number') throw new CarryMismatch(`${key} is not a number`);
  return value;
}

export function carriedString(saved: JsonObject, key: string): string {
  const value = saved[key];
  if (typeof value !== 'string') throw new CarryMismatch(`${key} is not a string`);
  return value;
}

export function carriedBoolean(saved: JsonObject, key: string): boolean {
  const value = saved[key];
  if (typeof value !== 'boolean') throw new CarryMismatch(`${key} is not a boolean`);
  return value;
}

/** The carry of a part (the line reader, the time reader) saved under `key`. */
export function carriedPart(saved: JsonObject, key: string): JsonObject {
  const value: JsonValue | undefined = saved[key];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new CarryMismatch(`${key} is not an object`);
  return value;
}

/** The number saved under `key`, undefined where null was saved. */
export function carriedOptional(saved: JsonObject, key: string): number | undefined {
  const value = carriedNumber(saved, key, Number.NaN);
  return Number.isNaN(value) ? undefined : value;
}
