import { appendFile, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';

/**
 * One export file as the soak's writers keep it: what it holds once every write has
 * completed (`content`), and what is on disk right now, which may lag behind (a record or
 * line cut short, a file deleted or corrupted for a while). `settle()` makes the disk hold
 * `content` again, so that a checkpoint can compare the bridge with a fresh parse of it.
 */
export class ModelFile {
  content: Buffer = Buffer.alloc(0);
  /** Bytes at the end of `content` not yet on disk (a write cut short). */
  #pending: Buffer = Buffer.alloc(0);
  /** The disk does not hold a prefix of `content` (deleted, corrupted, half-rewritten). */
  #broken = false;
  /** A held write handle (an EA's FileOpen kept open): appends go through it. */
  #handle: FileHandle | null = null;

  constructor(
    readonly path: string,
    /** Appends go through a handle held open, as an EA that keeps its file open writes. */
    readonly held = false,
  ) {}

  get broken(): boolean {
    return this.#broken || this.#pending.length > 0;
  }

  /** Writes the whole file (truncating in place, or by rename). */
  async replace(content: Buffer, how: 'truncate' | 'rename' = 'truncate'): Promise<void> {
    this.content = content;
    this.#pending = Buffer.alloc(0);
    this.#broken = false;
    if (this.held) {
      await this.#handle?.close();
      this.#handle = await open(this.path, 'w');
      await this.#handle.write(content);
      return;
    }
    if (how === 'rename') {
      const temporary = `${this.path}.tmp`;
      await writeFile(temporary, content);
      await rename(temporary, this.path);
    } else {
      await writeFile(this.path, content);
    }
  }

  /** Appends `bytes`, leaving the last `holdBack` of them (and of earlier ones) for the next write. */
  async append(bytes: Buffer, holdBack = 0): Promise<void> {
    if (this.#broken) await this.replace(this.content);
    const out = Buffer.concat([this.#pending, bytes]);
    const cut = Math.max(0, out.length - holdBack);
    this.content = Buffer.concat([this.content, bytes]);
    this.#pending = Buffer.from(out.subarray(cut));
    if (cut === 0) return;
    if (this.#handle) await this.#handle.write(out.subarray(0, cut));
    else await appendFile(this.path, out.subarray(0, cut));
  }

  /** Rewrites the last `bytes.length` bytes in place (Sierra's forming bar record). */
  async overwriteEnd(bytes: Buffer): Promise<void> {
    await this.settle();
    const at = this.content.length - bytes.length;
    this.content = Buffer.concat([this.content.subarray(0, at), bytes]);
    const handle = await open(this.path, 'r+');
    try {
      await handle.write(bytes, 0, bytes.length, at);
    } finally {
      await handle.close();
    }
  }

  /** Deletes the file; it comes back with its content at the next write or settle. */
  async remove(): Promise<void> {
    await this.#handle?.close();
    this.#handle = null;
    this.#broken = true;
    await rm(this.path, { force: true });
  }

  /** Puts other bytes on disk for a while (a corrupted header, a half-written rewrite). */
  async scribble(bytes: Buffer): Promise<void> {
    await this.#handle?.close();
    this.#handle = null;
    this.#broken = true;
    await writeFile(this.path, bytes);
  }

  /** Makes the disk hold `content`. */
  async settle(): Promise<void> {
    if (this.#broken || (this.held && !this.#handle)) await this.replace(this.content);
    else if (this.#pending.length > 0) await this.append(Buffer.alloc(0));
  }

  async close(): Promise<void> {
    await this.#handle?.close();
    this.#handle = null;
  }
}
