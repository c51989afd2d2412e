import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `data` to `path` so that a crash or power cut leaves the old content or the new,
 * never a mix: into a temporary file beside it, flushed to disk, renamed over `path`, and
 * the folder flushed so that the rename itself lasts.
 */
export async function writeFileAtomically(path: string, data: string | Buffer): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    const file = await open(temporary, 'w');
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncFolder(dirname(path));
}

/** Flushes a folder's entries; a no-op where folders cannot be opened (Windows). */
async function syncFolder(dir: string): Promise<void> {
  let folder;
  try {
    folder = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await folder.sync().catch(() => undefined);
  } finally {
    await folder.close();
  }
}
