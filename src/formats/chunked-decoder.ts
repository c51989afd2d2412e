import type { RecordSink, TailDecoder } from './types.js';

/**
 * Feeds a tail decoder the bytes of a growing file as they arrive, in runs of any size.
 * A partial record or line at the end of a run is kept and decoded with the next run,
 * so the records decoded never depend on how the writer's bytes were split. Bytes the
 * decoder asks to revisit (a record its writer may still rewrite) are read again from the
 * file: `position` moves back to them.
 */
/** Bytes of a run joined with a partial record carried from the run before (ChunkedDecoder.#joined). */
const JOIN_BYTES = 64 * 1024;

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
    const consumed = carried > 0 ? this.#joined(this.#carry as Buffer, bytes, start, sink) : this.decoder.decode(bytes, start, sink);
    this.position += bytes.length;
    const revisit = this.decoder.revisit ?? 0;
    if (revisit > 0 && consumed >= revisit) {
      this.#carry = null;
      this.position = start + consumed - revisit;
      return;
    }
    // Copy the remainder so a large read buffer is not kept alive by a few bytes.
    if (consumed >= carried) this.#carry = consumed < carried + bytes.length ? Buffer.from(bytes.subarray(consumed - carried)) : null;
    else this.#carry = Buffer.concat([(this.#carry as Buffer).subarray(consumed), bytes]);
  }

  /**
   * Decodes `carry` (a partial record) followed by `bytes`: joined with the head of the run
   * only, then in the run itself from the end of the record the carry began. Joining the
   * whole run would copy a megabyte to complete a few bytes. A record longer than the head
   * (a very long line) has the whole run joined.
   */
  #joined(carry: Buffer, bytes: Buffer, start: number, sink: RecordSink): number {
    const head = Buffer.concat([carry, bytes.subarray(0, Math.min(bytes.length, JOIN_BYTES))]);
    const consumed = this.decoder.decode(head, start, sink);
    if (consumed > carry.length) {
      const at = consumed - carry.length;
      return at < bytes.length ? consumed + this.decoder.decode(bytes.subarray(at), start + consumed, sink) : consumed;
    }
    if (head.length === carry.length + bytes.length) return consumed;
    return consumed + this.decoder.decode(Buffer.concat([carry.subarray(consumed), bytes]), start + consumed, sink);
  }
}
