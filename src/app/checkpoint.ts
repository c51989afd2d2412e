import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { writeFileAtomically } from '../core/atomic-file.js';
import type { Logger } from '../core/logger.js';
import { restoreIngests, type SavedIngest, type SourceIngestOptions } from '../state/ingest.js';
import { StateError } from '../state/persist.js';
import type { Store } from '../state/store.js';
import type { SavedTail } from '../watch/saved-tail.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointEnvelope, CheckpointSchema } from './checkpoint-schema.js';
import type { SourceSet } from './sources.js';

/**
 * The checkpoint (journal.persistDir/checkpoint.json): where each file was read up to, what
 * identifies it, what its decoder carried and what it contributes to each symbol. It is
 * written at a clean shutdown and every journal.checkpointMs while something changed, so a
 * start reads only what was written since; a file that is not the same any more is read
 * from its start, alone. Unlike the saved state (persist.ts) it is not used up by a start:
 * after a crash it is what the bridge goes on from, in a new epoch.
 */

export const CHECKPOINT_FILE = 'checkpoint.json';

export interface CheckpointOptions {
  dir: string;
  /** 0: only at shutdown. */
  intervalMs: number;
  maxBytes: number;
}

/** What a checkpoint gives the files at start, by path (their contributions are in the store already). */
export interface RestoredFiles {
  tails: Map<string, SavedTail>;
  ingests: Map<string, SavedIngest>;
}

export interface CheckpointContext {
  store: Store;
  logger: Logger;
  /** The configuration's documentShape() now, and its sources' sourceKey()s. */
  shape: string;
  sources: ReadonlySet<string>;
  /** How the files' contributions are built now (the windows they are restored into). */
  ingest: Pick<SourceIngestOptions, 'windows' | 'sessionZone'>;
}

/**
 * Reads the checkpoint in `dir` and puts its contributions into the store. Null when there is
 * none, or when it is refused, whole, with one warning: unreadable, larger than `maxBytes`, not
 * ours or of another version, not checking out, or written under another shape of documents.
 * The files are then read from their start: never a failed start.
 */
export async function loadCheckpoint(dir: string, maxBytes: number, context: CheckpointContext): Promise<RestoredFiles | null> {
  const { logger } = context;
  const path = join(dir, CHECKPOINT_FILE);
  try {
    const restored = await readCheckpoint(path, maxBytes, context);
    if (restored) logger.info({ event: 'checkpoint_loaded', files: restored.tails.size }, 'checkpoint loaded: files go on from where they were read');
    else logger.info({ event: 'checkpoint_absent', dir }, 'no checkpoint: every file is read from its start');
    return restored;
  } catch (error) {
    const refusal =
      error instanceof StateError ? error : new StateError('STATE_UNREADABLE', `cannot read ${CHECKPOINT_FILE}: ${(error as Error).message}`, { cause: error });
    logger.warn(
      { event: 'checkpoint_refused', code: refusal.code, reason: refusal.message, file: path },
      `checkpoint refused (${refusal.message}); every file is read from its start`,
    );
    return null;
  }
}

let checkpointCheck: ReturnType<typeof TypeCompiler.Compile<typeof CheckpointSchema>> | undefined;

async function readCheckpoint(path: string, maxBytes: number, context: CheckpointContext): Promise<RestoredFiles | null> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (size > maxBytes) throw new StateError('STATE_UNREADABLE', `it is ${size} bytes, more than journal.checkpointMaxBytes (${maxBytes})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new StateError('STATE_FOREIGN', 'it is not JSON (cut short, or not a checkpoint)');
  }
  if (!Value.Check(CheckpointEnvelope, parsed)) throw new StateError('STATE_FOREIGN', `it is not a ${CHECKPOINT_FORMAT} of version ${CHECKPOINT_VERSION}`);
  // Compiled: a checkpoint of many files is checked in a few ms, where walking it for errors takes hundreds.
  const schema = (checkpointCheck ??= TypeCompiler.Compile(CheckpointSchema));
  if (!schema.Check(parsed)) {
    const problem = schema.Errors(parsed).First();
    throw new StateError('STATE_INCONSISTENT', problem ? `${problem.path || '/'}: ${problem.message}` : 'it does not check out');
  }
  const checkpoint = parsed;
  if (checkpoint.shape !== context.shape) {
    throw new StateError('STATE_FOREIGN', 'it was written under other bar windows, session zone, book levels or read sizes');
  }
  const tails = new Map<string, SavedTail>();
  const ingests = new Map<string, SavedIngest>();
  for (const { source, files } of checkpoint.sources) {
    // A source whose options changed reads its files anew; one no longer configured is dropped.
    if (!context.sources.has(source)) continue;
    for (const file of files) {
      tails.set(file.path, file.tail);
      ingests.set(file.path, file.ingest);
    }
  }
  try {
    restoreIngests(context.store, ingests, context.ingest);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new StateError('STATE_INCONSISTENT', error.message);
  }
  return { tails, ingests };
}

export interface CheckpointerDeps {
  sources: SourceSet;
  store: Store;
  logger: Logger;
  /** The configuration's documentShape() now. */
  shape: () => string;
}

/** Writes the checkpoint every `intervalMs` while something changed, and once more at close. */
export class Checkpointer {
  readonly #deps: CheckpointerDeps;
  readonly #options: () => CheckpointOptions | null;
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> | null = null;
  /** The store's gseq when the last checkpoint was taken: no commit since, nothing to write. */
  #savedGseq = -1;
  #closing: Promise<void> | null = null;
  /** The last checkpoint written (`gseq`: the store's when it was taken), for /v1/stats. */
  last: { at: number; gseq: number; files: number; bytes: number; ms: number } | null = null;

  /** `options`: read at each turn (they may change live); null while journal.persistDir is not set. */
  constructor(deps: CheckpointerDeps, options: () => CheckpointOptions | null) {
    this.#deps = deps;
    this.#options = options;
  }

  start(): void {
    this.#schedule();
  }

  /** Takes and writes a checkpoint now (the one in flight, if any). */
  write(): Promise<void> {
    this.#writing ??= this.#write().finally(() => (this.#writing = null));
    return this.#writing;
  }

  /** Stops the timer and writes a last checkpoint. Memoised. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      await this.#writing;
      await this.write();
    })();
    return this.#closing;
  }

  #schedule(): void {
    if (this.#closing) return;
    // While checkpoints are off, look again now and then: the interval may be set live.
    const intervalMs = this.#options()?.intervalMs ?? 0;
    const interval = intervalMs > 0 ? intervalMs : IDLE_RECHECK_MS;
    this.#timer = setTimeout(() => void this.#tick(), interval);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    const options = this.#options();
    if (options && options.intervalMs > 0 && this.#deps.store.gseq !== this.#savedGseq) await this.write();
    this.#schedule();
  }

  async #write(): Promise<void> {
    const options = this.#options();
    if (!options) return;
    const { sources, store, logger } = this.#deps;
    const started = performance.now();
    const gseq = store.gseq;
    try {
      const saved = await sources.checkpoint();
      const files = saved.reduce((sum, source) => sum + source.files.length, 0);
      const body = `{"format":"${CHECKPOINT_FORMAT}","version":${CHECKPOINT_VERSION},"savedAt":"${new Date().toISOString()}","shape":${JSON.stringify(this.#deps.shape())},"sources":[${saved
        .map(({ source, files: each }) => `{"source":${JSON.stringify(source)},"files":[${each.join(',')}]}`)
        .join(',')}]}`;
      const bytes = Buffer.byteLength(body);
      if (bytes > options.maxBytes) {
        logger.warn(
          { event: 'checkpoint_too_large', bytes, maxBytes: options.maxBytes },
          `checkpoint of ${bytes} bytes not written: more than journal.checkpointMaxBytes; the last one written stays`,
        );
        return;
      }
      await mkdir(options.dir, { recursive: true });
      await writeFileAtomically(join(options.dir, CHECKPOINT_FILE), body);
      this.#savedGseq = gseq;
      this.last = { at: Date.now(), gseq, files, bytes, ms: Math.round(performance.now() - started) };
      logger.debug({ event: 'checkpoint_written', ...this.last }, 'checkpoint written');
    } catch (error) {
      logger.error({ event: 'checkpoint_failed', err: error, dir: options.dir }, 'checkpoint could not be written; the last one written stays');
    }
  }
}

const IDLE_RECHECK_MS = 1000;
