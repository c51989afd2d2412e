import { WINDOWS_1252_C1 } from '../formats/text.js';
import type { TextEncoding } from '../formats/types.js';

/** Bytes of `text` as a writer in `encoding` puts them on disk (no BOM). */
export function encodeText(text: string, encoding: TextEncoding): Buffer {
  if (encoding !== 'windows-1252') return Buffer.from(text, encoding);
  const bytes = Buffer.alloc(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const c1 = WINDOWS_1252_C1.indexOf(text.charAt(i));
    bytes[i] = c1 >= 0 && code > 0xff ? 0x80 + c1 : code <= 0xff ? code : 0x3f; // '?' where 1252 has no byte
  }
  return bytes;
}

/** The byte-order mark a writer puts first: MQL5's FILE_UNICODE writes FF FE; ANSI writes none. */
export function byteOrderMark(encoding: TextEncoding, withBom: boolean): Buffer {
  if (!withBom) return Buffer.alloc(0);
  return encoding === 'utf16le' ? Buffer.from([0xff, 0xfe]) : encoding === 'utf8' ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0);
}
