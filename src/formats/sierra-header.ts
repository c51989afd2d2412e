import { FormatError, type RandomAccessFile } from './types.js';

/**
 * The header shared by Sierra Chart's binary files (`.scid` FORMATS.md §1.2, `.depth` §2.2):
 * a uint32 magic, then uint32 HeaderSize and RecordSize. Records start at HeaderSize.
 */
export interface SierraFileSpec {
  /** What the file is, for messages. */
  what: string;
  magic: number;
  /** The magic as text, for messages. */
  magicText: string;
  recordSize: number;
}

/** A header claiming more than this is corrupt. */
const MAX_HEADER_SIZE = 4096;
/** Bytes read to validate a header (Sierra's MINIMAL_HEADER_SIZE). */
const MINIMAL_HEADER_SIZE = 16;

/**
 * Validates the header and returns HeaderSize; null while the file is shorter than its
 * header (the writer has not finished). Throws FormatError for a bad magic or sizes.
 */
export async function readSierraHeader(file: RandomAccessFile, spec: SierraFileSpec): Promise<number | null> {
  if (file.size < MINIMAL_HEADER_SIZE) return null;
  const head = await file.read(0, MINIMAL_HEADER_SIZE);
  // Cut while being opened: not ready yet.
  if (head.length < MINIMAL_HEADER_SIZE) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== spec.magic) {
    throw new FormatError('FORMAT_BAD_MAGIC', `not a ${spec.what}: magic is 0x${magic.toString(16)}, expected "${spec.magicText}"`, 0);
  }
  const headerSize = view.getUint32(4, true);
  const recordSize = view.getUint32(8, true);
  if (headerSize < MINIMAL_HEADER_SIZE || headerSize > MAX_HEADER_SIZE) {
    throw new FormatError('FORMAT_BAD_HEADER', `header size ${headerSize} is out of range (${MINIMAL_HEADER_SIZE}..${MAX_HEADER_SIZE})`, 4);
  }
  if (recordSize !== spec.recordSize) {
    throw new FormatError('FORMAT_BAD_HEADER', `record size ${recordSize} is not supported (expected ${spec.recordSize})`, 8);
  }
  return file.size < headerSize ? null : headerSize;
}
