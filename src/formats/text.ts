import { isUtf8 } from 'node:buffer';
import { carriedBoolean, type DecoderCarry } from './carry.js';
import type { RandomAccessFile, TailOpenOptions, TextEncoding } from './types.js';

/**
 * Text decoding for line-based exports (FORMATS.md §4.4): MetaTrader writes UTF-16LE with
 * a BOM by default, or ANSI (Windows-1252) or UTF-8; Sierra Chart writes ASCII.
 */

export interface SniffedEncoding {
  encoding: TextEncoding;
  /** Length of the byte-order mark to skip (0 when there is none). */
  bomBytes: number;
}

/**
 * Windows-1252 bytes 0x80-0x9F (WHATWG index-windows-1252); every other byte is Latin-1.
 * Decoded by hand: Node's TextDecoder('windows-1252') decodes this range as Latin-1 C1
 * controls since 20.18.3 / 22.13.0 (nodejs/node#60888), so 0x80 would not be '€'.
 */
export const WINDOWS_1252_C1 =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';
const C1_RANGE = /[\u0080-\u009f]/g;

function decodeWindows1252(bytes: Buffer): string {
  const latin1 = bytes.toString('latin1');
  return latin1.replace(C1_RANGE, (c) => WINDOWS_1252_C1.charAt(c.charCodeAt(0) - 0x80));
}

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
  return decodeWindows1252(bytes);
}

/** Longest line accepted; a longer run without a line end is garbage and is skipped. */
export const MAX_LINE_BYTES = 64 * 1024;

/** `length`: the line's bytes in the file, without its line end. */
export type LineHandler = (text: string, offset: number, length: number) => void;
/** `offset`: where the over-long line starts; the reader then skips to the next line end. */
export type OverflowHandler = (offset: number) => void;

/** What the decoders report for a line past MAX_LINE_BYTES, wherever the reads cut it. */
export const OVERLONG_LINE = `line longer than the limit (${MAX_LINE_BYTES} bytes); skipped to the next line end`;

/**
 * Splits the lines of a file read in runs (CRLF or LF; in UTF-16LE the line end is the
 * code unit 0x000A at an even offset). It carries one fact from run to run: that it is
 * inside an over-long line, which was reported once and is skipped up to its line end.
 * So what comes out never depends on where the reads cut the bytes.
 */
export class LineReader {
  #skipping = false;

  constructor(readonly encoding: TextEncoding) {}

  checkpoint(): DecoderCarry {
    return { skipping: this.#skipping };
  }

  resume(saved: DecoderCarry): void {
    this.#skipping = carriedBoolean(saved, 'skipping');
  }

  /**
   * Hands over the complete lines at the start of `chunk` and returns the bytes consumed;
   * a trailing partial line is left for the next call. `offset`: the chunk's place in the file.
   */
  read(chunk: Buffer, offset: number, onLine: LineHandler, onOverflow: OverflowHandler): number {
    const wide = this.encoding === 'utf16le';
    const unit = wide ? 2 : 1;
    let start = 0;
    for (;;) {
      const end = findLineEnd(chunk, start, wide);
      if (end < 0) break;
      if (this.#skipping) this.#skipping = false;
      else if (end - start > MAX_LINE_BYTES) onOverflow(offset + start);
      else onLine(decodeText(withoutCr(chunk, start, end, wide), this.encoding), offset + start, end - start);
      start = end + unit;
    }
    const rest = chunk.length - start;
    if (!this.#skipping && rest <= MAX_LINE_BYTES) return start;
    if (!this.#skipping) onOverflow(offset + start);
    this.#skipping = true;
    return chunk.length - (rest % unit);
  }
}

/** The complete lines at the start of one buffer read on its own (a probe, not a tail). */
export function forEachLine(chunk: Buffer, offset: number, encoding: TextEncoding, onLine: LineHandler, onOverflow: OverflowHandler): number {
  return new LineReader(encoding).read(chunk, offset, onLine, onOverflow);
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
    const { first, lineStart } = await firstLineAt(file, position, position === dataStart, options);
    if (first === null) {
      // No dated line in this window (very long lines): widen it, or start at the limit,
      // on a line start when there is one (never in the middle of a line).
      if (position <= limit) return lineStart ?? position;
      continue;
    }
    if (position <= limit || first.time < cutoff) return first.offset;
  }
}

async function lastLineTime(file: RandomAccessFile, options: LineTailOptions, align: (position: number) => number): Promise<number> {
  const position = align(Math.max(options.dataStart, file.size - PROBE_BYTES));
  const bytes = await file.read(position, file.size - position);
  let newest = Number.NaN;
  forEachLine(
    bytes,
    position,
    options.encoding,
    (text) => {
      const time = options.timeOf(text);
      if (!Number.isNaN(time)) newest = time;
    },
    () => undefined,
  );
  return newest;
}

/**
 * The first complete dated line at or after `position` (skipping a partial one unless
 * `atLineStart`), and the first line start seen there (null when the bytes read hold no
 * line end).
 */
async function firstLineAt(
  file: RandomAccessFile,
  position: number,
  atLineStart: boolean,
  options: LineTailOptions,
): Promise<{ first: { offset: number; time: number } | null; lineStart: number | null }> {
  // Read from one code unit earlier: when `position` is a line start, the line skipped as
  // partial is then the empty rest of the previous line, not the line at `position`.
  const back = atLineStart ? 0 : options.encoding === 'utf16le' ? 2 : 1;
  const from = position - back;
  const bytes = await file.read(from, Math.min(PROBE_BYTES, file.size - position) + back);
  let first: { offset: number; time: number } | null = null;
  let lineStart: number | null = atLineStart ? position : null;
  let skipFirst = !atLineStart;
  const consumed = forEachLine(
    bytes,
    from,
    options.encoding,
    (text, offset) => {
      if (first) return;
      if (skipFirst) {
        skipFirst = false;
        return;
      }
      lineStart ??= offset;
      const time = options.timeOf(text);
      if (!Number.isNaN(time)) first = { offset, time };
    },
    () => undefined,
  );
  // The skipped partial line was the last complete one: the next line starts after it.
  if (lineStart === null && consumed > 0) lineStart = from + consumed;
  return { first, lineStart };
}
