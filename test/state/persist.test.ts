import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TapeError } from '../../src/model/errors.js';
import { FileIngest } from '../../src/state/ingest.js';
import { loadState, MANIFEST_FILE, saveState, StateError } from '../../src/state/persist.js';
import { Store } from '../../src/state/store.js';
import { LogCapture } from '../helpers/bridge.js';
import { tempDir } from '../helpers/temp.js';

const T0 = 1_763_640_000_000;

/** A folder holding the saved state of a store with two symbols. */
async function savedState(): Promise<string> {
  const store = new Store({ journalSize: 10, epoch: 'e1' });
  const ingest = new FileIngest(store, { key: '/f', source: 'ndjson', barBasis: 'auto', windows: {}, onProblem: () => undefined });
  ingest.begin(true);
  ingest.tick('A', { time: T0, bid: 1, ask: 2 });
  ingest.tick('B', { time: T0, bid: 3, ask: 4 });
  ingest.finish();
  const dir = await tempDir();
  await saveState(store, dir);
  return dir;
}

/** Loads the state of `dir` and returns the warning that refused it, which must be the only line. */
async function refusal(dir: string): Promise<Record<string, unknown>> {
  const logs = new LogCapture('info');
  expect(await loadState(dir, logs.logger)).toBeNull();
  expect(logs.lines).toHaveLength(1);
  return logs.lines[0]!;
}

describe('saved state errors', () => {
  it('loads a state that checks out', async () => {
    const dir = await savedState();
    const logs = new LogCapture('info');
    expect((await loadState(dir, logs.logger))?.symbols.map((symbol) => symbol.symbol)).toEqual(['A', 'B']);
    expect(logs.lines).toEqual([]);
  });

  it('a symbol file that is not JSON is refused as STATE_UNREADABLE, with the parser error as its cause', async () => {
    const dir = await savedState();
    await writeFile(join(dir, '1.json'), '{"version": 1, "epoch": ');
    const line = await refusal(dir);
    expect(line).toMatchObject({ level: 40, event: 'state_refused', dir, err: { type: 'StateError', code: 'STATE_UNREADABLE' } });
    // pino prints the cause's message after the error's own.
    expect((line.err as { message: string }).message).toMatch(/^1\.json is not valid JSON: .*JSON/);
  });

  it('a missing symbol file is STATE_UNREADABLE with the I/O error as its cause', async () => {
    const dir = await savedState();
    await rm(join(dir, '0.json'));
    expect(await refusal(dir)).toMatchObject({ event: 'state_refused', err: { code: 'STATE_UNREADABLE', message: expect.stringContaining('ENOENT') } });
  });

  it('a manifest of another version is STATE_FOREIGN; an epoch that is not one, or a symbol file not matching its manifest entry, STATE_INCONSISTENT', async () => {
    const foreign = await savedState();
    const manifest = JSON.parse(await readFile(join(foreign, MANIFEST_FILE), 'utf8')) as Record<string, unknown>;
    await writeFile(join(foreign, MANIFEST_FILE), JSON.stringify({ ...manifest, version: 99 }));
    expect(await refusal(foreign)).toMatchObject({ event: 'state_refused', err: { code: 'STATE_FOREIGN' } });

    const badEpoch = await savedState();
    await writeFile(join(badEpoch, MANIFEST_FILE), JSON.stringify({ ...manifest, epoch: 'e1:"' }));
    expect(await refusal(badEpoch)).toMatchObject({ event: 'state_refused', err: { code: 'STATE_INCONSISTENT', message: expect.stringMatching(/epoch/) } });

    const swapped = await savedState();
    const entries = manifest.symbols as { symbol: string }[];
    await writeFile(
      join(swapped, MANIFEST_FILE),
      JSON.stringify({ ...manifest, symbols: entries.map((entry, index) => ({ ...entry, symbol: entries[1 - index]!.symbol })) }),
    );
    expect(await refusal(swapped)).toMatchObject({
      event: 'state_refused',
      err: { code: 'STATE_INCONSISTENT', message: expect.stringMatching(/holds A at seq/) },
    });
  });

  it('no manifest is no saved state (state_absent), a manifest that cannot be read is state_load_failed', async () => {
    const dir = await savedState();
    await rm(join(dir, MANIFEST_FILE));
    expect(await refusal(dir)).toMatchObject({ level: 30, event: 'state_absent' });
    const folder = await savedState();
    await rm(join(folder, MANIFEST_FILE));
    // A folder under the manifest's name: its read fails with EISDIR.
    await mkdir(join(folder, MANIFEST_FILE));
    expect(await refusal(folder)).toMatchObject({
      level: 40,
      event: 'state_load_failed',
      err: { code: 'STATE_UNREADABLE', message: expect.stringContaining('EISDIR') },
    });
  });

  it('StateError is a TapeError with its code and cause', () => {
    const cause = new Error('disk');
    const error = new StateError('STATE_UNREADABLE', 'cannot read', { cause });
    expect(error).toBeInstanceOf(TapeError);
    expect(error).toMatchObject({ name: 'StateError', code: 'STATE_UNREADABLE', cause });
  });
});
