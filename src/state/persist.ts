import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomically } from '../core/atomic-file.js';
import type { Logger } from '../core/logger.js';
import type { InstrumentDocument } from '../model/document.js';
import type { SymbolState } from './symbol-state.js';
import type { PatchOperation } from '../model/patch.js';
import { TapeError } from '../model/errors.js';
import { EPOCH_PATTERN } from '../model/wire.js';

/**
 * The persisted journal (`journal.persistDir`): at shutdown every symbol's document, version
 * and journal go to a file per symbol, then a manifest naming them; at the next start they
 * are read back and the bridge keeps its epoch, so clients resume with the patches since
 * their `(epoch, seq)` instead of snapshots.
 *
 * Only a clean shutdown writes the manifest, and a start removes it before serving: after a
 * crash there is none, and the bridge starts a new epoch. State saved while running could
 * not be trusted after a crash anyway: clients may hold versions newer than the last save,
 * and the same `seq` would then name two different documents.
 */

export const MANIFEST_FILE = 'manifest.json';
const FORMAT_VERSION = 1;
const SYMBOL_FILE = /^\d+\.json$/;
/** Symbol files written at once. */
const WRITE_CONCURRENCY = 16;

/** Why a saved state was not taken: unreadable, of another version or epoch, or not checking out. */
export class StateError extends TapeError {
  declare readonly code: 'STATE_UNREADABLE' | 'STATE_FOREIGN' | 'STATE_INCONSISTENT';

  constructor(code: StateError['code'], message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'StateError';
  }
}

export interface SavedEntry {
  seq: number;
  gseq: number;
  ops: readonly PatchOperation[];
}

/** One symbol as saved: its document at `seq`, and the patches held from `floorSeq` up to `seq`. */
export interface SavedSymbol {
  symbol: string;
  seq: number;
  gseq: number;
  updatedAt: number;
  document: InstrumentDocument;
  floorSeq: number;
  floorGseq: number;
  entries: SavedEntry[];
}

export interface SavedState {
  epoch: string;
  /** The bridge-wide commit counter at shutdown (SSE cursors count on it). */
  gseq: number;
  symbols: SavedSymbol[];
}

interface Manifest {
  version: number;
  epoch: string;
  gseq: number;
  savedAt: string;
  symbols: { symbol: string; file: string; seq: number }[];
}

/**
 * Writes the store's state into `dir`: symbol files first (each written to a temporary file
 * and renamed), then the manifest, which makes the save count. Files are numbered, not named
 * after symbols: symbol names may hold any character, and case-insensitive file systems
 * would merge `eurusd` and `EURUSD`.
 */
/** What is saved of the store (Store has it; declared here so that the store may import what is loaded). */
export interface SavableStore {
  readonly epoch: string;
  readonly gseq: number;
  symbols(): Iterable<SymbolState>;
}

export async function saveState(store: SavableStore, dir: string): Promise<{ symbols: number }> {
  await mkdir(dir, { recursive: true });
  await rm(join(dir, MANIFEST_FILE), { force: true });
  const states = [...store.symbols()];
  const listed: Manifest['symbols'] = [];
  // One iterator shared by the writers: each takes the next symbol from it.
  const pending = states.entries();
  const writeNext = async (): Promise<void> => {
    for (const [index, state] of pending) {
      const file = `${index}.json`;
      const entries = (state.journal.since(state.journal.floorSeq) ?? []).map(({ seq, gseq, opsJson }) => ({
        seq,
        gseq,
        ops: JSON.parse(opsJson) as PatchOperation[],
      }));
      const saved: SavedSymbol = {
        symbol: state.symbol,
        seq: state.seq,
        gseq: state.gseq,
        updatedAt: state.updatedAt,
        document: state.document,
        floorSeq: state.journal.floorSeq,
        floorGseq: state.journal.floorGseq,
        entries,
      };
      await writeFileAtomically(join(dir, file), JSON.stringify({ version: FORMAT_VERSION, epoch: store.epoch, ...saved }));
      listed[index] = { symbol: state.symbol, file, seq: state.seq };
    }
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, states.length) }, writeNext));
  const written = new Set(listed.map((entry) => entry.file));
  for (const name of await readdir(dir)) {
    if (SYMBOL_FILE.test(name) && !written.has(name)) await rm(join(dir, name), { force: true });
  }
  const manifest: Manifest = { version: FORMAT_VERSION, epoch: store.epoch, gseq: store.gseq, savedAt: new Date().toISOString(), symbols: listed };
  await writeFileAtomically(join(dir, MANIFEST_FILE), JSON.stringify(manifest));
  return { symbols: states.length };
}

/**
 * Reads the state a clean shutdown saved in `dir` and removes its manifest, so that it is
 * used once. Null when there is none; a state that does not check out is refused whole
 * (a warning says why): one symbol starting over in a kept epoch would reuse its seqs.
 */
export async function loadState(dir: string, logger: Logger): Promise<SavedState | null> {
  const manifestPath = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
    // Consumed before anything is served: a crash from here on leaves no manifest behind.
    await rm(manifestPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      logger.info({ event: 'state_absent', dir }, 'no saved state (first start, or the last one did not shut down cleanly): new epoch');
    } else {
      const failure = new StateError('STATE_UNREADABLE', `cannot read ${MANIFEST_FILE}: ${(error as Error).message}`, { cause: error });
      logger.warn(
        { event: 'state_load_failed', dir, err: failure, reason: failure.message },
        'saved state unreadable; starting a new epoch (clients take snapshots)',
      );
    }
    return null;
  }
  try {
    const manifest = readManifest(parseSaved(text, MANIFEST_FILE));
    const symbols: SavedSymbol[] = [];
    for (const { symbol, file, seq } of manifest.symbols) {
      const saved = readSymbol(parseSaved(await readSaved(join(dir, file), file), file), manifest, file);
      if (saved.symbol !== symbol || saved.seq !== seq)
        throw new StateError('STATE_INCONSISTENT', `${file} holds ${saved.symbol} at seq ${saved.seq}, the manifest ${symbol} at seq ${seq}`);
      symbols.push(saved);
    }
    return { epoch: manifest.epoch, gseq: manifest.gseq, symbols };
  } catch (error) {
    logger.warn(
      { event: 'state_refused', dir, err: error, reason: (error as Error).message },
      'saved state refused; starting a new epoch (clients take snapshots)',
    );
    return null;
  }
}

async function readSaved(path: string, file: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new StateError('STATE_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

function parseSaved(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new StateError('STATE_UNREADABLE', `${file} is not valid JSON`, { cause: error });
  }
}

function readManifest(manifest: unknown): Manifest {
  if (!isRecord(manifest) || manifest.version !== FORMAT_VERSION) throw new StateError('STATE_FOREIGN', `the manifest is not version ${FORMAT_VERSION}`);
  if (typeof manifest.epoch !== 'string' || !isCount(manifest.gseq) || !isList(manifest.symbols))
    throw new StateError('STATE_INCONSISTENT', 'the manifest lacks epoch, gseq or symbols');
  if (!EPOCH_PATTERN.test(manifest.epoch)) throw new StateError('STATE_INCONSISTENT', `the manifest's epoch does not match ${EPOCH_PATTERN}`);
  for (const entry of manifest.symbols) {
    if (!isRecord(entry) || typeof entry.symbol !== 'string' || typeof entry.file !== 'string' || !SYMBOL_FILE.test(entry.file) || !isCount(entry.seq)) {
      throw new StateError('STATE_INCONSISTENT', 'a manifest entry is not {symbol, file, seq}');
    }
  }
  // Checked above, field by field (savedAt is not read back).
  return manifest as unknown as Manifest;
}

/** A symbol file, checked: its epoch, and a journal that leads without a gap from floorSeq to seq. */
function readSymbol(saved: unknown, manifest: Manifest, file: string): SavedSymbol {
  if (!isRecord(saved) || saved.version !== FORMAT_VERSION || saved.epoch !== manifest.epoch) {
    throw new StateError('STATE_FOREIGN', `${file} is not of version ${FORMAT_VERSION} and epoch ${manifest.epoch}`);
  }
  const { symbol, seq, gseq, updatedAt, document, floorSeq, floorGseq, entries } = saved;
  if (typeof symbol !== 'string' || !isCount(seq) || seq < 1 || !isCount(gseq) || gseq > manifest.gseq || typeof updatedAt !== 'number') {
    throw new StateError('STATE_INCONSISTENT', `${file} lacks a valid symbol, seq, gseq or updatedAt`);
  }
  if (!isRecord(document) || document.symbol !== symbol) {
    throw new StateError('STATE_INCONSISTENT', `${file} holds no document of ${symbol}`);
  }
  if (!isCount(floorSeq) || !isCount(floorGseq) || !isList(entries) || floorSeq + entries.length !== seq) {
    throw new StateError('STATE_INCONSISTENT', `${file}: its journal does not lead from its floor to seq ${seq}`);
  }
  let previousGseq = floorGseq;
  entries.forEach((entry, index) => {
    if (!isRecord(entry) || entry.seq !== floorSeq + index + 1 || !isCount(entry.gseq) || entry.gseq <= previousGseq || !Array.isArray(entry.ops)) {
      throw new StateError('STATE_INCONSISTENT', `${file}: journal entry ${index} is out of order`);
    }
    previousGseq = entry.gseq;
  });
  if (previousGseq !== gseq) throw new StateError('STATE_INCONSISTENT', `${file}: its last patch is not its version`);
  return { symbol, seq, gseq, updatedAt, document: document as unknown as InstrumentDocument, floorSeq, floorGseq, entries: entries as SavedEntry[] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isList(value: unknown): value is unknown[] {
  return Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
