import { createHash } from 'node:crypto';
import type { DecoderCarry } from '../formats/carry.js';

/**
 * Where a file's reading stood at a checkpoint, and what identifies the file it was (the
 * model is Filebeat's registry): device and inode, a hash of its leading bytes and one of
 * the bytes just before the offset. A file that still has them goes on from the offset;
 * any other is read again from its start.
 */
export interface SavedTail {
  /** The format that read it. */
  format: string;
  dev: number;
  ino: number;
  /** Bytes fed to the decoder, and those of them it has not decoded yet (a partial record, base64). */
  position: number;
  pending: string | null;
  headBytes: number;
  headHash: string;
  markBytes: number;
  markHash: string;
  /** What the decoder carried (TailDecoder.checkpoint). */
  decoder: DecoderCarry;
}

/** One file as a checkpoint holds it: its reading, and its ingest as the state saved it (opaque here). */
export interface SavedFile {
  path: string;
  tail: SavedTail;
  ingest: unknown;
}

export function hashOf(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64url');
}
