import { isUtf8 } from 'node:buffer';
import type { RandomAccessFile, TailOpenOptions } from './types.js';

/**
 * Text decoding for line-based exports (FORMATS.md §4.4): MetaTrader writes UTF-16LE with
 * a BOM by default, or ANSI (Windows-1252) or UTF-8; Sierra Chart writes ASCII.
 */
export type TextEncoding = 'utf8' | 'utf16le' | 'windows-1252';

export interface SniffedEncoding {
  encoding: TextEncoding;
  /** Length of the byte-order mark to skip (0 when there is none). */
  bomBytes: number;
}

const windows1252 = new TextDecoder('windows-1252');

/** Decides the encoding from the first bytes of a file (BOM, UTF-16 zero pattern, UTF-8 validity). */
export function sniffEncoding(head: Buffer): SniffedEncoding {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf16le', bomBytes: 2 };
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf8', bomBytes: 3 };
  if (looksLikeUtf16le(head)) return { encoding: 'utf16le', bomBytes: 0 };
  return { encoding: isUtf8(trimPartialUtf8(head)) ? 'utf8' : 'windows-1252', bomBytes: 0 };
}

/** ASCII text in UTF-16LE has a zero at every odd byte and almost never at an even one. */
function looksLikeUtf16le(head: Buffer): boolean {
  const pairs = Math.min(64, head.length >> 1);
  if (pairs < 2) return false;
  let oddZeros = 0;
  let evenZeros = 0;
  for (let i = 0; i < pairs; i++) {
    if (head[2 * i] === 0) evenZeros++;
    if (head[2 * i + 1] === 0) oddZeros++;
  }
  return oddZeros >= pairs * 0.8 && evenZeros <= pairs * 0.1;
}

/** Drops an incomplete multi-byte sequence at the end, which a cut-off head may hold. */
function trimPartialUtf8(head: Buffer): Buffer {
  let end = head.length;
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const byte = head[end - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    if (byte >= 0xc0) end -= back; // a lead byte whose sequence may be cut
    break;
  }
  return head.subarray(0, end);
}

export function decodeText(bytes: Buffer, encoding: TextEncoding): string {
  if (encoding === 'utf16le') return bytes.toString('utf16le');
  if (encoding === 'utf8' && isUtf8(bytes)) return bytes.toString('utf8');
  // UTF-8 that is not valid UTF-8 is, in practice, an ANSI (Windows-1252) line.
  return windows1252.decode(bytes);
}

/** Longest line accepted; a longer run without a line end is garbage and is skipped. */
export const MAX_LINE_BYTES = 64 * 1024;

export type LineHandler = (text: string, offset: number) => void;
export type OverflowHandler = (offset: number, length: number) => void;

/**
 * Splits the complete lines at the start of `chunk` (CRLF or LF; in UTF-16LE the line end
 * is the code unit 0x000A at an even offset) and returns the bytes consumed. A trailing
 * partial line is left for the next call. `offset` is the chunk's position in the file.
 */
export function forEachLine(
  chunk: Buffer,
  offset: number,
  encoding: TextEncoding,
  onLine: LineHandler,
  onOverflow: OverflowHandler,
): number {
  const wide = encoding === 'utf16le';
  const unit = wide ? 2 : 1;
  let start = 0;
  for (;;) {
    const end = findLineEnd(chunk, start, wide);
    if (end < 0) break;
    if (end - start > MAX_LINE_BYTES) onOverflow(offset + start, end + unit - start);
    else onLine(decodeText(withoutCr(chunk, start, end, wide), encoding), offset + start);
    start = end + unit;
  }
  if (chunk.length - start > MAX_LINE_BYTES) {
    onOverflow(offset + start, chunk.length - start);
    return chunk.length - ((chunk.length - start) % unit);
  }
  return start;
}

/** The first complete line of `chunk` and its length with the line end, or null. */
export function firstLine(chunk: Buffer, encoding: TextEncoding): { text: string; length: number } | null {
  const wide = encoding === 'utf16le';
  const end = findLineEnd(chunk, 0, wide);
  if (end < 0) return null;
  return { text: decodeText(withoutCr(chunk, 0, end, wide), encoding), length: end + (wide ? 2 : 1) };
}

/** The bytes of the line chunk[start, end) without the CR of a CRLF line end. */
function withoutCr(chunk: Buffer, start: number, end: number, wide: boolean): Buffer {
  const unit = wide ? 2 : 1;
  const cr = end - start >= unit && chunk[end - unit] === 0x0d && (!wide || chunk[end - 1] === 0);
  return chunk.subarray(start, cr ? end - unit : end);
}

function findLineEnd(chunk: Buffer, from: number, wide: boolean): number {
  if (!wide) return chunk.indexOf(0x0a, from);
  let at = from;
  for (;;) {
    const found = chunk.indexOf(0x0a, at);
    if (found < 0 || found + 1 >= chunk.length) return -1;
    if ((found - from) % 2 === 0 && chunk[found + 1] === 0) return found;
    at = found + 1;
  }
}

export interface LineTailOptions extends TailOpenOptions {
  /** Offset of the first data line (after BOM and header). */
  dataStart: number;
  encoding: TextEncoding;
  /** Epoch ms of a data line, or NaN when the line has none. */
  timeOf(line: string): number;
}

const PROBE_BYTES = 64 * 1024;

/**
 * Offset of the first line the document needs in a large time-ordered text file: looks
 * back from the end in doubling windows until a line older than `historyMs` before the
 * newest line is found, so opening a 500 MB export reads only its recent part.
 */
export async function lineTailStart(file: RandomAccessFile, options: LineTailOptions): Promise<number> {
  const { dataStart, encoding } = options;
  const unit = encoding === 'utf16le' ? 2 : 1;
  const align = (position: number): number => position - ((position - dataStart) % unit);
  if (file.size - dataStart <= PROBE_BYTES) return dataStart;

  const newest = await lastLineTime(file, options, align);
  if (Number.isNaN(newest)) return dataStart;
  const cutoff = newest - options.historyMs;
  const limit = Math.max(dataStart, file.size - options.maxBackfillBytes);
  for (let window = PROBE_BYTES; ; window *= 2) {
    const position = align(Math.max(limit, file.size - window));
    const first = await firstLineAt(file, position, position === dataStart, options);
    if (first === null) {
      // No dated line in this window (very long lines): widen it, or start at the limit.
      if (position <= limit) return position;
      continue;
    }
    if (position <= limit || first.time < cutoff) return first.offset;
  }
}

async function lastLineTime(
  file: RandomAccessFile,
  options: LineTailOptions,
  align: (position: number) => number,
): Promise<number> {
  const position = align(Math.max(options.dataStart, file.size - PROBE_BYTES));
  const bytes = await file.read(position, file.size - position);
  let newest = Number.NaN;
  forEachLine(bytes, position, options.encoding, (text) => {
    const time = options.timeOf(text);
    if (!Number.isNaN(time)) newest = time;
  }, () => undefined);
  return newest;
}

/** The first complete line at or after `position` (skipping a partial one unless `atLineStart`). */
async function firstLineAt(
  file: RandomAccessFile,
  position: number,
  atLineStart: boolean,
  options: LineTailOptions,
): Promise<{ offset: number; time: number } | null> {
  const bytes = await file.read(position, Math.min(PROBE_BYTES, file.size - position));
  let found: { offset: number; time: number } | null = null;
  let skipFirst = !atLineStart;
  forEachLine(bytes, position, options.encoding, (text, offset) => {
    if (found) return;
    if (skipFirst) {
      skipFirst = false;
      return;
    }
    const time = options.timeOf(text);
    if (!Number.isNaN(time)) found = { offset, time };
  }, () => undefined);
  return found;
}
