import { rename, writeFile } from 'node:fs/promises';

/**
 * How a terminal-side program replaces a JSON snapshot: truncating and rewriting the file
 * in place (readers can see it empty or half-written), or writing a temporary file and
 * renaming it over the old one (atomic).
 */
export type JsonWriteMode = 'rewrite' | 'rename';

export async function writeJsonSnapshot(path: string, value: unknown, mode: JsonWriteMode): Promise<void> {
  const text = `${JSON.stringify(value)}\r\n`;
  if (mode === 'rewrite') {
    await writeFile(path, text);
    return;
  }
  const temporary = `${path}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}
