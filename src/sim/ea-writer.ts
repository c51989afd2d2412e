import { open, type FileHandle } from 'node:fs/promises';
import { byteOrderMark, encodeText } from './text-encoding.js';
import type { TextEncoding } from '../formats/types.js';

/**
 * Files an MQL5 program writes with FileOpen + FileWrite (FORMATS.md §4.2-4.3): UTF-16LE with
 * a BOM (FILE_UNICODE, the default), ANSI (Windows-1252) or UTF-8 (FILE_ANSI with CP_UTF8),
 * fields joined by the delimiter, CRLF after each FileWrite call. An EA either keeps the handle
 * open and appends (FILE_READ|FILE_WRITE + FileSeek to the end), or truncates and rewrites the
 * file each time (FILE_WRITE).
 */
export interface EaFileOptions {
  encoding: TextEncoding;
  delimiter: string;
  /** A first FileWrite of column names. */
  header?: readonly string[];
}

export type EaValue = string | number;

/** `datetime` as FileWrite prints it: `YYYY.MM.DD HH:MI:SS`. */
export function mqlDateTime(time: number): string {
  const iso = new Date(time).toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '.')} ${iso.slice(11, 19)}`;
}

export class EaFileWriter {
  #handle: FileHandle | null = null;

  constructor(
    readonly path: string,
    private readonly options: EaFileOptions,
  ) {}

  /** Bytes of FileWrite calls, one per row. */
  encode(rows: readonly (readonly EaValue[])[]): Buffer {
    const text = rows.map((row) => `${row.join(this.options.delimiter)}\r\n`).join('');
    return encodeText(text, this.options.encoding);
  }

  /** The whole file: BOM (Unicode only), header, rows. */
  content(rows: readonly (readonly EaValue[])[]): Buffer {
    const header = this.options.header ? [this.options.header] : [];
    return Buffer.concat([byteOrderMark(this.options.encoding, this.options.encoding === 'utf16le'), this.encode([...header, ...rows])]);
  }

  /** Opens the file once and keeps the handle, as an EA does in OnInit; writes the header. */
  async openHeld(rows: readonly (readonly EaValue[])[] = []): Promise<void> {
    this.#handle = await open(this.path, 'w');
    await this.#handle.write(this.content(rows));
  }

  /** FileWrite + FileFlush under the held handle; `holdBack` bytes stay unwritten (a flush cut short). */
  async append(rows: readonly (readonly EaValue[])[], holdBack = 0): Promise<Buffer> {
    if (!this.#handle) throw new Error('openHeld() first');
    const bytes = this.encode(rows);
    const cut = bytes.length - holdBack;
    await this.#handle.write(bytes.subarray(0, cut));
    return bytes.subarray(cut);
  }

  async close(): Promise<void> {
    await this.#handle?.close();
    this.#handle = null;
  }
}

/** An append-only JSON lines log. */
export async function appendJsonLines(path: string, records: readonly unknown[]): Promise<void> {
  const handle = await open(path, 'a');
  try {
    await handle.write(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
  } finally {
    await handle.close();
  }
}
