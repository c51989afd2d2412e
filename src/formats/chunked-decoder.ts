import type { RecordSink, TailDecoder } from './types.js';

/**
 * Feeds a tail decoder the bytes of a growing file as they arrive, in runs of any size.
 * A partial record or line at the end of a run is kept and decoded with the next run,
 * so the records decoded never depend on how the writer's bytes were split. Bytes the
 * decoder asks to revisit (a record its writer may still rewrite) are read again from the
 * file: `position` moves back to them.
 */
export class ChunkedDecoder {
  #carry: Buffer | null;

  constructor(
    readonly decoder: TailDecoder,
    /** Offset in the file of the next byte to feed (read). */
    public position: number,
    /** Bytes before `position` fed but not decoded yet (a checkpoint's partial record). */
    pending: Buffer | null = null,
  ) {
    this.#carry = pending !== null && pending.length > 0 ? pending : null;
  }

  /** Bytes fed but not decoded yet (a partial record or line). */
  get pendingBytes(): number {
    return this.#carry?.length ?? 0;
  }

  /** Those bytes, for a checkpoint. */
  get pending(): Buffer | null {
    return this.#carry;
  }

  /** Decodes `bytes`, which start at `position`. */
  feed(bytes: Buffer, sink: RecordSink): void {
    const carried = this.pendingBytes;
    const start = this.position - carried;
    const chunk = carried > 0 ? Buffer.concat([this.#carry as Buffer, bytes]) : bytes;
    const consumed = this.decoder.decode(chunk, start, sink);
    const revisit = this.decoder.revisit ?? 0;
    if (revisit > 0 && consumed >= revisit) {
      this.#carry = null;
      this.position = start + consumed - revisit;
      return;
    }
    // Copy the remainder so a large read buffer is not kept alive by a few bytes.
    this.#carry = consumed < chunk.length ? Buffer.from(chunk.subarray(consumed)) : null;
    this.position += bytes.length;
  }
}
