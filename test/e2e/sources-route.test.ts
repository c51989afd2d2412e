import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SourceRow } from '../../src/transports/sources-route.js';
import { startTestBridge } from '../helpers/bridge.js';
import { getJson } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';

const ADMIN = 'admin-token-0123456789abcdef';
const FX = 'fx-token-0123456789abcdef';
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

describe('GET /v1/sources', () => {
  it('lists every file read with its reading, and a token only the files of symbols it may see', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const bridge = await startTestBridge([dir], {
      auth: {
        tokens: [
          { name: 'admin', token: ADMIN, admin: true },
          { name: 'fx', token: FX, symbols: ['EUR*'] },
        ],
      },
    });
    const sources = async (token: string): Promise<SourceRow[]> => {
      const { status, body } = await getJson<{ time: number; files: SourceRow[] }>(`${bridge.url}/v1/sources`, bearer(token));
      expect(status).toBe(200);
      return body.files;
    };
    const names = (await readdir(dir)).sort();
    await waitFor('every file read', async () => (await sources(ADMIN)).every((row) => row.lastReadAt !== null && row.symbols.length > 0));
    const all = await sources(ADMIN);
    expect(all.map((row) => row.file)).toEqual(names);
    for (const row of all) {
      expect(row.folder).toBe(dir);
      expect(row.breaker).toBe('CLOSED');
      expect(row.bytesRead).toBe(row.size);
      expect(row.records).toBeGreaterThan(0);
      expect(row.problems).toEqual({ count: 0, last: null });
    }
    const scid = all.find((row) => row.file.endsWith('.scid'));
    expect(scid).toMatchObject({ format: 'sierra-scid', encoding: 'binary', symbols: ['ESZ25_FUT_CME'] });
    expect(all.find((row) => row.symbols.includes('EURUSD'))?.encoding).toMatch(/^(utf8|utf16le)$/);

    // The fx token sees EURUSD's files only, without the folder's path.
    const fx = await sources(FX);
    expect(fx.length).toBeGreaterThan(0);
    expect(fx.every((row) => row.symbols.every((symbol) => symbol.startsWith('EUR')) && row.folder === undefined)).toBe(true);
    expect(fx.map((row) => row.file)).toEqual(all.filter((row) => row.symbols.every((symbol) => symbol.startsWith('EUR'))).map((row) => row.file));
    expect((await getJson(`${bridge.url}/v1/sources`)).status).toBe(401);

    // A file that is not JSON: its problem, where it was found, and its breaker; only for a token that sees every symbol.
    await writeFile(join(dir, 'BROKEN.json'), '{"bid": 1.5, oops}');
    await waitFor('the broken file reported', async () => (await sources(ADMIN)).some((row) => row.file === 'BROKEN.json' && row.problems.last !== null));
    const broken = (await sources(ADMIN)).find((row) => row.file === 'BROKEN.json') as SourceRow;
    expect(broken.problems.last?.reason).toMatch(/decoded|JSON|truncated/i);
    expect(typeof broken.problems.last?.offset).toBe('number');
    expect(broken.symbols).toEqual([]);
    expect((await sources(FX)).some((row) => row.file === 'BROKEN.json')).toBe(false);
  });
});
