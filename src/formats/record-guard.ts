import type { RecordSink } from './types.js';

/**
 * Decodes one record so that whatever it throws (a RangeError from nesting too deep for the
 * stack, a bug a hostile record finds) is that record's problem: it is reported with its
 * offset, without quoting the file's bytes, and the records around it are decoded as usual.
 * The sink is told where the record starts first, so that what it refuses names the place.
 */
export function decodeRecord(sink: RecordSink, offset: number, length: number, decode: () => void): void {
  sink.at?.(offset);
  try {
    decode();
  } catch (error) {
    sink.problem(offset, `record of ${length} bytes could not be decoded (${errorKind(error)}); skipped`);
  }
}

/** What kind of failure `error` is, never its message (which may quote the input). */
export function errorKind(error: unknown): string {
  if (error instanceof RangeError) return 'RangeError: too deeply nested or too large';
  return error instanceof Error ? error.name : typeof error;
}
