import { relative } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { maySee, type Principal } from './auth.js';
/** A file being read (watch/ FileReport), with the watched folder it is in and the symbols it feeds. */
export interface SourceFile {
  path: string;
  folder: string;
  format: string | null;
  /** `utf8`, `utf16le`, `windows-1252`, or `binary`; null until known. */
  encoding: string | null;
  /** Its size at the last read that went through; null before one. */
  size: number | null;
  bytesRead: number;
  /** Records applied since the file was first seen. */
  records: number;
  /** Epoch ms the last read that went through began; null before one. */
  lastReadAt: number | null;
  /** `CLOSED`, `OPEN` or `HALF_OPEN`; null before its first read was scheduled. */
  breaker: string | null;
  /** Why its last read failed, while it is failing. */
  failure: string | null;
  problems: { count: number; last: { reason: string; offset: number; at: number } | null };
  /** The symbols its records went to (after aliases and renames), sorted; empty before any. */
  symbols: string[];
}

/** What the files are, read when asked (the app layer knows the folders and the store). */
export type SourceFiles = () => SourceFile[];

/**
 * `GET /v1/sources` (docs/protocol.md): one row per file being read, for the dashboard's sources
 * panel. A token sees the files whose every symbol it may see; a file that feeds no symbol
 * (yet), and the folders' absolute paths, only an admin token or one that sees every symbol
 * (as /v1/stats and the detail of /health show paths to admins).
 */
export function registerSourcesRoute(app: FastifyInstance, files: SourceFiles): void {
  app.get('/v1/sources', async (request, reply) => {
    const principal = request.principal;
    const rows = files()
      .filter((file) => principal !== null && visible(principal, file))
      .map((file) => row(file, principal !== null && everything(principal)))
      .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    return reply.type('application/json').header('cache-control', 'no-cache').send({ time: Date.now(), files: rows });
  });
}

function everything(principal: Principal): boolean {
  return principal.admin || principal.symbols === null;
}

function visible(principal: Principal, file: SourceFile): boolean {
  if (everything(principal)) return true;
  return file.symbols.length > 0 && file.symbols.every((symbol) => maySee(principal, symbol));
}

/** One file as the route answers it: its path relative to its folder, and the folder for tokens that see every file. */
export type SourceRow = Omit<SourceFile, 'path' | 'folder'> & { file: string; folder?: string };

function row({ folder, path, ...rest }: SourceFile, everything: boolean): SourceRow {
  const file = relative(folder, path).split('\\').join('/');
  return everything ? { folder, file, ...rest } : { file, ...rest };
}
