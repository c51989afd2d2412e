import { constants, type Stats } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { sep } from 'node:path';
import { TapeError } from '../model/errors.js';

/**
 * What a path is when it must not be opened, null when it may. Opening a FIFO blocks a libuv thread until
 * a writer comes (four of them stop every read); a device or a socket is no export file.
 */
export function specialKind(stats: Stats): string | null {
  // A folder under a file's name cannot block: its read fails (EISDIR) like any I/O error.
  if (stats.isFile() || stats.isDirectory()) return null;
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** A path that is not read, and why (logged once, shown in status). */
export class RefusedFile extends TapeError {
  constructor(
    readonly kind: 'special' | 'outside' | 'duplicate',
    message: string,
  ) {
    super('FILE_REFUSED', message);
    this.name = 'RefusedFile';
  }
}

// Windows has no O_NONBLOCK (and no FIFOs in folders): plain read-only there.
// @types/node declares it on every platform, hence the optional field.
const platform: { O_NONBLOCK?: number } = constants;
const READ_NONBLOCK = constants.O_RDONLY | (platform.O_NONBLOCK ?? 0);

/**
 * Opens a file for reading without ever blocking on it: O_NONBLOCK makes the open of a
 * FIFO (swapped in after the caller's stat) return at once, and the handle's own fstat
 * refuses whatever is not a regular file.
 */
export async function openRegular(path: string): Promise<FileHandle> {
  const handle = await open(path, READ_NONBLOCK);
  try {
    const kind = specialKind(await handle.stat());
    if (kind !== null) throw new RefusedFile('special', `${kind}; not read`);
    return handle;
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/** Whether `real` is `root` or inside it (both real paths). */
function isInside(root: string, real: string): boolean {
  return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Confines the files of one watched folder: a path whose real path (links resolved) is
 * outside the folder's real path is refused unless links may lead out (`followSymlinks`),
 * and several paths to one real file (links, link loops) read it once: the first path
 * that claims it owns it until it is forgotten.
 */
export class FileGate {
  readonly #root: string;
  readonly #followSymlinks: boolean;
  #realRoot: Promise<string> | null = null;
  /** real path -> the path that reads it */
  readonly #owners = new Map<string, string>();
  /** path -> the real path it owns */
  readonly #owned = new Map<string, string>();

  readonly #onRelease: () => void;

  /** `onRelease`: a real path is no longer read by its path; another path to it may read it now. */
  constructor(root: string, followSymlinks: boolean, onRelease: () => void) {
    this.#root = root;
    this.#followSymlinks = followSymlinks;
    this.#onRelease = onRelease;
  }

  /** The folder may have been deleted and created again (or replaced by a link): resolve it anew. */
  rootChanged(): void {
    this.#realRoot = null;
  }

  /** Resolves `path` and claims its real path; throws RefusedFile (or ENOENT and the like). */
  async admit(path: string): Promise<string> {
    const real = await realpath(path);
    if (!this.#followSymlinks) {
      this.#realRoot ??= realpath(this.#root);
      const root = await this.#realRoot.catch((error: unknown) => {
        this.#realRoot = null;
        throw error;
      });
      if (!isInside(root, real)) {
        this.release(path);
        throw new RefusedFile('outside', `a link to ${real}, outside the watched folder; not read (followSymlinks is off)`);
      }
    }
    const owner = this.#owners.get(real);
    if (owner !== undefined && owner !== path) {
      this.release(path);
      throw new RefusedFile('duplicate', `the same file as ${owner} (through a link); read once, as ${owner}`);
    }
    const previous = this.#owned.get(path);
    if (previous !== undefined && previous !== real) this.#owners.delete(previous);
    this.#owners.set(real, path);
    this.#owned.set(path, real);
    return real;
  }

  /** `path` no longer reads its file: another path to it may (onRelease). Returns whether it owned one. */
  release(path: string): boolean {
    const real = this.#owned.get(path);
    if (real === undefined) return false;
    this.#owned.delete(path);
    this.#owners.delete(real);
    this.#onRelease();
    return true;
  }
}
