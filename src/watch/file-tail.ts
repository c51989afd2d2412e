import { stat, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FormatRegistry } from '../formats/registry.js';
import { CarryMismatch } from '../formats/carry.js';
import { ChunkedDecoder } from '../formats/chunked-decoder.js';
import { errorKind } from '../formats/record-guard.js';
import {
  FormatError,
  type FormatErrorCode,
  type CommitTiming,
  type FileFormat,
  type OpenReadCycleSink,
  type RandomAccessFile,
  type ReadCycleSink,
  type TailDecoder,
  type TailOpenOptions,
  type WholeDecodeResult,
  type WholeDecoder,
} from '../formats/types.js';
import type { Logger } from '../core/logger.js';
import { openRegular, RefusedFile, specialKind } from './file-gate.js';
import { sniffEncoding } from '../formats/text.js';
import { hashOf, type SavedFile, type SavedTail } from './saved-tail.js';

/**
 * What a read found: new data, nothing new, a reason to try again soon (locked by the
 * writer, not ready yet), a fault (an I/O error, a lock held for good, a file that cannot
 * be read as its format: the file's circuit breaker counts these), or that the file is gone.
 */
export type ReadOutcome = 'changed' | 'unchanged' | 'retry' | 'failed' | 'gone';

export interface FileTailOptions extends TailOpenOptions {
  registry: FormatRegistry;
  /** Opens the sink of a file's records once its format is known (the composition builds it from the store). */
  openIngest: OpenReadCycleSink;
  logger: Logger;
  /** Largest read per call while catching up, and per back-fill step (a step holds the event loop while it decodes). */
  chunkBytes: number;
  /** Largest whole-file source accepted. */
  maxWholeBytes: number;
  /** Told of each problem (bad record or line, unreadable file), for counters. */
  onProblem?: (path: string) => void;
  /** Counts the bytes read. */
  readBytes?: { add(bytes: number): void };
  /**
   * Opens the file for reading (`fs.promises.open` unless given). Tests pass an opener that
   * fails as a Windows sharing violation does, which cannot be produced on Linux.
   */
  openFile?: (path: string) => Promise<FileHandle>;
  /**
   * Says whether the file may be read before it is opened: throws RefusedFile when it is a
   * link out of the watched folder, or another path to a file already read (FileGate).
   */
  admit?: (path: string) => Promise<unknown>;
  /** Where a checkpoint left this file (asked once, when the file is first opened): reading goes on from there if it is the same file. */
  savedTail?: (path: string) => SavedTail | undefined;
  /** Told whether a file a checkpoint held went on from it, or was read again from its start (and why). */
  onResume?: (path: string, outcome: { resumed: true } | { resumed: false; reason: string }) => void;
  /**
   * On a file's first opening without a checkpoint to go on from, history beyond its last
   * this-many bytes is read later, by back-fill() (0 or absent: all of it at once).
   */
  tailFirstBytes?: number;
}

/** A file's history still to be read behind its tail (FileTail.backfill), in bytes. */
export interface BackfillProgress {
  bytesLeft: number;
  bytesTotal: number;
}

/** How far a file was read, for the dashboard's sources panel (GET /v1/sources). */
export interface FileReading {
  /** The file's size at the last read that went through; null before one. */
  size: number | null;
  /** Bytes of it read so far (a tail's position, a whole file's length). */
  bytesRead: number;
  /** `utf8`, `utf16le`, `windows-1252` for text, `binary` for Sierra's files; null until known. */
  encoding: string | null;
  /** Records applied since the file was first seen. */
  records: number;
  /** When the last read that went through began (epoch ms); null before one. */
  lastReadAt: number | null;
}

/** What went wrong with a file, for health and metrics. */
export interface FileProblems {
  /** Bad records or lines skipped, and content rejected, since the file was first seen. */
  count: number;
  /** The last problem: why, where and when (epoch ms). */
  last: { reason: string; offset: number; at: number } | null;
}

/** Errors that mean the writer holds the file (Windows sharing violations): retry, never give up. */
const LOCKED = new Set(['EBUSY', 'EPERM', 'EACCES']);
/** Whole-file sources that stay half-written this many reads in a row are reported. */
const INCOMPLETE_REPORT_AFTER = 10;
/**
 * Locked reads in a row before a warning (they are normal while a writer holds a file);
 * from then on each locked read is a failure for the file's circuit breaker.
 */
const LOCKED_REPORT_AFTER = 20;
/** Warnings logged per file (what a decoder assumed about it), however often it is rewritten. */
const WARNINGS_PER_FILE = 4;
/** Problems logged per read; the rest are counted in one line. */
const PROBLEMS_LOGGED_PER_READ = 10;

interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

interface TailState {
  chunks: ChunkedDecoder;
  dev: number;
  ino: number;
  fingerprintBytes: number;
  fingerprint: Buffer;
  /** The last bytes read before `chunks.position`: a rewrite that grew past them changes them. */
  tailMark: Buffer;
  /** The end of the bytes fed so far (`chunks.position`, or past it by what the decoder revisits or keeps pending). */
  readTo: number;
}

/**
 * A file read tail first: a decoder of its own reads the history from where a whole read
 * starts, into an ingest of its own that stages everything it reads. Once it has read up to
 * where the live tail stands, it takes the live decoder's and ingest's place, and its commit
 * publishes the whole history as an ordinary patch: the document is then what a whole read
 * gives.
 */
interface Backfill {
  chunks: ChunkedDecoder;
  ingest: ReadCycleSink;
  from: number;
}

/**
 * How far apart two writes may be and still get the same modification time: FAT and exFAT
 * keep 2 s, Linux file systems the kernel's clock tick (a few ms).
 */
const MTIME_RESOLUTION_MS = 2000;
/** Bytes before the read position compared on every read, to see a rewrite that grew back. */
const TAIL_MARK_BYTES = 64;
/** Reads a checkpoint waits for before it gives up on a file that never stops being read (it is then read again at the next start). */
const CHECKPOINT_WAITS = 100;
/** Leading bytes read before a file is first opened as its format: its header, and its fingerprint for most formats. */
const HEAD_BYTES = 4096;

interface WholeState {
  decoder: WholeDecoder;
  /** The version last handled (decoded, or given up on). */
  identity: FileIdentity | null;
  content: Buffer | null;
  /** The version last found half-written, and how many reads in a row found it so. */
  incomplete: FileIdentity | null;
  incompleteReads: number;
}

/**
 * Reads one file as it changes: append-only formats by byte offset (only new bytes; a
 * partial last record waits for the rest; a shrink, a new inode or a changed head means
 * the file was rewritten and is read again from its start), whole-file formats by
 * re-reading and decoding only when the bytes changed.
 */
export class FileTail {
  readonly path: string;
  readonly #options: FileTailOptions;
  readonly #logger: Logger;
  /** undefined until a format claims the file; null when none does. */
  #format: FileFormat | null | undefined;
  #ingest: ReadCycleSink | null = null;
  #tail: TailState | null = null;
  #whole: WholeState | null = null;
  /** The next read builds the file's contributions anew (first read, or after a rewrite). */
  #fresh = true;
  /** The identity of a file that could not be read as its format: skipped until it changes. */
  #rejected: FileIdentity | null = null;
  #lockedReads = 0;
  /** Problems in the current read (for the log cap). */
  #problems = 0;
  /** A read found data before: later changes are timed (what the first read finds is history). */
  #seen = false;
  #lastFailure: string | null = null;
  /** The file as the last read that went through found it, and when (Date.now()) that read began; null after anything else. */
  #settled: { identity: FileIdentity; checkedAt: number } | null = null;
  /** Failed reads in a row (only the first of a run is logged as an error). */
  #failures = 0;
  /** Why the file is not read (not a regular file, a link out of the folder), while it is not. */
  #refused: string | null = null;
  readonly #problemsSeen: FileProblems = { count: 0, last: null };
  readonly #progress: { size: number | null; records: number; lastReadAt: number | null; wholeEncoding: string | null } = {
    size: null,
    records: 0,
    lastReadAt: null,
    wholeEncoding: null,
  };
  /** Warnings logged for this file (a few per file: what was assumed about its content). */
  readonly #warnings = new Set<string>();
  /** The read in flight: a checkpoint waits for it, so that it saves the file between read cycles. */
  #reading: Promise<ReadOutcome> | null = null;
  /** The end of the last read or back-fill step: the next waits for it (they share the file's decoder state). */
  #turn: Promise<unknown> = Promise.resolve();
  #backfill: Backfill | null = null;
  /** Whether the checkpoint's entry for this file was asked for (only the first opening may go on from it). */
  #askedSaved = false;

  constructor(path: string, options: FileTailOptions) {
    this.path = path;
    this.#options = options;
    this.#logger = options.logger.child({ file: path });
  }

  get format(): FileFormat | null | undefined {
    return this.#format;
  }

  /** Why the last read failed, while it is failing. */
  get lastFailure(): string | null {
    return this.#lastFailure;
  }

  /** Why the file is skipped (a FIFO, a device, a link out of the folder), while it is. */
  get refused(): string | null {
    return this.#refused;
  }

  /** A skipped file is looked at again on its next read, changed or not (another path to it went away). */
  reconsider(): void {
    if (this.#refused !== null) this.#settled = null;
  }

  /** Problems found in this file so far. */
  get problems(): Readonly<FileProblems> {
    return this.#problemsSeen;
  }

  /** How far the file was read, in what encoding, and when. */
  get reading(): FileReading {
    const { size, records, lastReadAt, wholeEncoding } = this.#progress;
    const tail = this.#tail;
    const encoding = tail ? (tail.chunks.decoder.textLayout?.()?.encoding ?? 'binary') : wholeEncoding;
    const bytesRead = tail ? tail.chunks.position : (this.#whole?.content?.length ?? 0);
    return { size, bytesRead, encoding, records, lastReadAt };
  }

  /** The history still to read behind the tail, while there is some (tail-first opening). */
  get backfillProgress(): BackfillProgress | null {
    const backfill = this.#backfill;
    const tail = this.#tail;
    if (!backfill || !tail) return null;
    return { bytesLeft: Math.max(0, tail.readTo - backfill.chunks.position), bytesTotal: tail.readTo - backfill.from };
  }

  async read(): Promise<ReadOutcome> {
    const reading = this.#inTurn(() => this.#read());
    this.#reading = reading;
    let outcome: ReadOutcome;
    try {
      outcome = await reading;
    } finally {
      if (this.#reading === reading) this.#reading = null;
    }
    if (outcome === 'changed' || outcome === 'unchanged') {
      this.#lastFailure = null;
      this.#failures = 0;
    }
    return outcome;
  }

  /**
   * Reads the next run of the history behind the tail (chunkBytes); true while
   * there is more. The step that reaches the live tail commits the whole history.
   */
  backfill(): Promise<boolean> {
    return this.#inTurn(() => this.#backfillStep());
  }

  #inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(work);
    this.#turn = run.catch(() => undefined);
    return run;
  }

  /**
   * Where the file's reading stands and what its ingest holds (the JSON of a SavedFile), taken between two read cycles
   * (the read in flight is waited for). Null when there is nothing to go on from: no format
   * reads it as a tail, nothing was read yet, or a read never stopped long enough. Whole-file
   * sources are not saved: they are small, and read again at start.
   */
  async checkpoint(): Promise<string | null> {
    for (let waits = 0; this.#reading; waits++) {
      if (waits >= CHECKPOINT_WAITS) return null;
      await this.#reading.catch(() => undefined);
    }
    const ingest = this.#ingest;
    const tail = this.#tail;
    const format = this.#format;
    // A file still back-filling holds only its tail: it is read again at the next start.
    if (!ingest || !tail || !format || this.#fresh || this.#backfill) return null;
    // Serialised at once: the windows' newest bars are drafts the next read may change.
    const saved: SavedFile = { path: this.path, tail: savedTailOf(format.name, tail), ingest: ingest.checkpoint() };
    return JSON.stringify(saved);
  }

  async #read(): Promise<ReadOutcome> {
    const readAt = performance.now();
    const checkedAt = Date.now();
    let handle: FileHandle | undefined;
    try {
      // The same inode, size and modification time as at the last read that went through:
      // nothing to read, and one stat instead of opening the file (follow-up reads, the safety
      // poll). Unless it was modified just before that read: a rewrite to the same size within
      // the file system's timestamp resolution keeps the modification time.
      const settled = this.#settled;
      this.#settled = null;
      const found = await stat(this.path);
      if (settled && sameIdentity(settled.identity, identityOf(found)) && found.mtimeMs < settled.checkedAt - MTIME_RESOLUTION_MS) {
        this.#settled = settled;
        this.#progress.lastReadAt = checkedAt;
        return 'unchanged';
      }
      // Only regular files, inside the folder, are opened: a FIFO would hold a thread for good.
      const special = specialKind(found);
      if (special !== null) return await this.#refuse(`${special}; not read`, identityOf(found));
      await this.#options.admit?.(this.path);
      handle = await (this.#options.openFile ?? openRegular)(this.path);
      const identity = identityOf(await handle.stat());
      // Replaced between the checks and the open (a link turned elsewhere, a writer's rename): look again.
      if (identity.ino !== found.ino) return 'retry';
      if (this.#refused !== null) this.#logger.info({ event: 'file_readable', was: this.#refused }, 'file read again');
      this.#refused = null;
      if (this.#rejected && sameIdentity(this.#rejected, identity)) return 'failed';
      this.#rejected = null;
      const format = await this.#detect(handle, identity.size);
      this.#lockedReads = 0;
      if (format === undefined) return 'retry';
      if (format === null) return 'unchanged';
      const timing = this.#seen ? { writtenAt: identity.mtimeMs, readAt } : null;
      try {
        const outcome =
          format.mode === 'tail' ? await this.#readTail(handle, identity, format, timing) : await this.#readWhole(handle, identity, format, timing);
        if (outcome === 'changed') this.#seen = true;
        if (outcome === 'changed' || outcome === 'unchanged') {
          this.#settled = { identity, checkedAt };
          this.#progress.size = identity.size;
          this.#progress.lastReadAt = checkedAt;
        }
        return outcome;
      } catch (error) {
        if (!(error instanceof FormatError)) throw error;
        this.#tail = null;
        this.#dropBackfill();
        this.#reject(identity, error);
        return 'failed';
      }
    } catch (error) {
      if (error instanceof RefusedFile) return await this.#refuse(error.message, null);
      return this.#failed(error);
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  async #detect(handle: FileHandle, size: number): Promise<FileFormat | null | undefined> {
    if (this.#format !== undefined) return this.#format;
    const head = await readAt(handle, 0, Math.min(size, HEAD_BYTES));
    const format = this.#options.registry.detect(basename(this.path), head);
    if (format === undefined) return undefined;
    this.#format = format;
    if (format === null) {
      this.#logger.debug('no format reads this file; ignored');
      return null;
    }
    this.#ingest = this.#openIngest(format, 0);
    this.#logger.debug({ format: format.name, symbol: format.symbolFor(basename(this.path)) }, 'file recognised');
    return format;
  }

  /** The file's sink; problems before `reportedFrom` only (those after were reported by the live tail's reading). */
  #openIngest(format: FileFormat, reportedFrom: number): ReadCycleSink {
    return this.#options.openIngest({
      key: this.path,
      source: format.name,
      barBasis: format.barBasis,
      onProblem: (offset, reason, line, kind) => {
        if (reportedFrom > 0 && offset >= reportedFrom) return;
        this.#problem(kind === 'refused' ? 'data_refused' : 'record_skipped', offset, reason, line);
      },
    });
  }

  async #readTail(handle: FileHandle, identity: FileIdentity, format: FileFormat & { mode: 'tail' }, timing: CommitTiming | null): Promise<ReadOutcome> {
    let tail = this.#tail;
    if (tail && (await this.#wasRewritten(handle, tail, identity))) {
      this.#logger.info({ size: identity.size, readUpTo: tail.chunks.position }, 'file rewritten or replaced; reading it again from the start');
      tail = this.#tail = null;
      this.#fresh = true;
      this.#dropBackfill();
    }
    if (!tail) {
      const firstOpening = !this.#askedSaved;
      const saved = firstOpening ? this.#options.savedTail?.(this.path) : undefined;
      this.#askedSaved = true;
      tail = saved ? await this.#resume(handle, identity, format, saved) : null;
      tail ??= await this.#open(handle, identity, format, firstOpening && !saved);
      if (!tail) return 'retry';
      this.#tail = tail;
    }
    const chunks = tail.chunks;
    if (identity.size === chunks.position) return 'unchanged';

    const ingest = this.#ingest as ReadCycleSink;
    ingest.begin(this.#fresh, timing);
    this.#problems = 0;
    // Read to the end; a decoder may move the position back over a record it revisits.
    for (;;) {
      const from = chunks.position;
      const read = await feedRun(handle, chunks, Math.min(this.#options.chunkBytes, identity.size - from), ingest);
      if (read === 0) break;
      this.#options.readBytes?.add(read);
      tail.readTo = from + read;
      if (tail.readTo >= identity.size) break;
    }
    tail.tailMark = await tailMark(handle, chunks.position);
    this.#reportSkippedProblems();
    const records = ingest.finish();
    this.#progress.records += records;
    if (records > 0) this.#fresh = false;
    return records > 0 ? 'changed' : 'unchanged';
  }

  /**
   * Opens the file from its start, as its format chooses where history begins. On a first
   * opening with `tailFirstBytes`, the live reading begins that many bytes from the end
   * instead (the decoder choosing the record or line there), and a back-fill reads the
   * history before it.
   */
  async #open(handle: FileHandle, identity: FileIdentity, format: FileFormat & { mode: 'tail' }, tailFirst: boolean): Promise<TailState | null> {
    // The header the decoder checks and the fingerprint later reads compare against are the
    // same bytes: read apart, a rewrite between them (a file replaced while its first read
    // runs) would leave a fingerprint of the new content that nothing tells from the old.
    const head = await readAt(handle, 0, Math.min(identity.size, HEAD_BYTES));
    const file = randomAccess(handle, identity.size, head);
    const decoder = this.#newDecoder(format);
    const start = await decoder.open(file, this.#options);
    if (!start) return null;
    const tailBytes = tailFirst ? (this.#options.tailFirstBytes ?? 0) : 0;
    let live = { decoder, offset: start.offset };
    if (tailBytes > 0 && identity.size - start.offset > tailBytes) {
      const tailDecoder = this.#newDecoder(format);
      const tailStart = await tailDecoder.open(file, { ...this.#options, maxBackfillBytes: Math.min(tailBytes, this.#options.maxBackfillBytes) });
      if (tailStart && tailStart.offset > start.offset) {
        const ingest = this.#openIngest(format, tailStart.offset);
        ingest.begin(true);
        this.#backfill = { chunks: new ChunkedDecoder(decoder, start.offset), ingest, from: start.offset };
        live = { decoder: tailDecoder, offset: tailStart.offset };
      }
    }
    return {
      chunks: new ChunkedDecoder(live.decoder, live.offset),
      dev: identity.dev,
      ino: identity.ino,
      fingerprintBytes: start.fingerprintBytes,
      fingerprint:
        start.fingerprintBytes <= head.length
          ? head.subarray(0, start.fingerprintBytes)
          : await readAt(handle, 0, Math.min(identity.size, start.fingerprintBytes)),
      tailMark: await tailMark(handle, live.offset),
      readTo: live.offset,
    };
  }

  async #backfillStep(): Promise<boolean> {
    const backfill = this.#backfill;
    const tail = this.#tail;
    if (!backfill || !tail) return false;
    let handle: FileHandle | undefined;
    try {
      handle = await (this.#options.openFile ?? openRegular)(this.path);
      // Rewritten since the live tail's last read: that read is about to see it, and read the file again from its start.
      if (await this.#wasRewritten(handle, tail, identityOf(await handle.stat()))) {
        this.#dropBackfill();
        return false;
      }
      const target = tail.readTo;
      const from = backfill.chunks.position;
      this.#problems = 0;
      const read = await feedRun(handle, backfill.chunks, Math.min(this.#options.chunkBytes, target - from), backfill.ingest);
      this.#options.readBytes?.add(read);
      this.#reportSkippedProblems();
      if (from + read < target) return true;
      // Caught up: this decoder has read every byte the live one has, from where a whole read starts.
      const records = backfill.ingest.finish();
      this.#progress.records += records;
      if (records > 0) this.#fresh = false;
      tail.chunks = backfill.chunks;
      this.#ingest = backfill.ingest;
      this.#backfill = null;
      return false;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Held by its writer: the next step tries again.
      if (code !== undefined && LOCKED.has(code)) return true;
      if (code !== 'ENOENT')
        this.#logger.warn({ event: 'backfill_failed', err: error }, 'history behind the tail could not be read; the file is read again from its start');
      this.#dropBackfill();
      // Read again from its start by the next read (a whole read), unless it is gone.
      this.#tail = null;
      this.#fresh = true;
      this.#settled = null;
      return false;
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  #dropBackfill(): void {
    this.#backfill?.ingest.abandon();
    this.#backfill = null;
  }

  #newDecoder(format: FileFormat & { mode: 'tail' }): TailDecoder {
    return format.createDecoder({
      fileName: basename(this.path),
      symbol: format.symbolFor(basename(this.path)),
      options: this.#options.registry.options,
      warn: (message) => this.#warn(message),
    });
  }

  /**
   * Goes on where a checkpoint left the file, when it is still that file: the same device,
   * inode and format, at least as long, the same leading bytes and bytes before the offset.
   * Null otherwise (it is then read from its start, as on a first start).
   */
  async #resume(handle: FileHandle, identity: FileIdentity, format: FileFormat & { mode: 'tail' }, saved: SavedTail): Promise<TailState | null> {
    const refuse = (reason: string): null => {
      this.#options.onResume?.(this.path, { resumed: false, reason });
      this.#logger.info({ event: 'checkpoint_file_reread', reason }, `checkpoint does not fit the file (${reason}); reading it from its start`);
      return null;
    };
    if (saved.format !== format.name) return refuse(`read as ${saved.format} then, as ${format.name} now`);
    if (saved.dev !== identity.dev || saved.ino !== identity.ino) return refuse('another file (device or inode) at this path');
    if (identity.size < saved.position) return refuse(`shorter (${identity.size} bytes) than where reading stood (${saved.position})`);
    const head = await readAt(handle, 0, saved.headBytes);
    if (head.length !== saved.headBytes || hashOf(head) !== saved.headHash) return refuse('its leading bytes changed');
    const mark = await readAt(handle, saved.position - saved.markBytes, saved.markBytes);
    if (mark.length !== saved.markBytes || hashOf(mark) !== saved.markHash) return refuse('the bytes before where reading stood changed');
    const decoder = this.#newDecoder(format);
    // Opened for its layout only (the header, the text encoding and columns): where it would start is not used, nor looked for.
    const start = await decoder.open(randomAccess(handle, identity.size), { ...this.#options, historyMs: 0, maxBackfillBytes: 0 });
    if (!start) return refuse('its header cannot be read');
    try {
      decoder.resume(saved.decoder);
    } catch (error) {
      if (error instanceof CarryMismatch) return refuse(error.message);
      throw error;
    }
    this.#fresh = false;
    this.#options.onResume?.(this.path, { resumed: true });
    return {
      chunks: new ChunkedDecoder(decoder, saved.position, saved.pending === null ? null : Buffer.from(saved.pending, 'base64')),
      dev: identity.dev,
      ino: identity.ino,
      fingerprintBytes: start.fingerprintBytes,
      fingerprint: await readAt(handle, 0, Math.min(identity.size, start.fingerprintBytes)),
      tailMark: await tailMark(handle, saved.position),
      readTo: saved.position,
    };
  }

  /**
   * A shrink, a new inode, different leading bytes, or different bytes just before where
   * reading goes on (a rewrite that grew back past it): the file is not the one we were reading.
   */
  async #wasRewritten(handle: FileHandle, tail: TailState, identity: FileIdentity): Promise<boolean> {
    if (identity.ino !== tail.ino || identity.dev !== tail.dev || identity.size < tail.chunks.position) return true;
    const head = await readAt(handle, 0, Math.min(identity.size, tail.fingerprintBytes));
    const common = Math.min(head.length, tail.fingerprint.length);
    if (head.compare(tail.fingerprint, 0, common, 0, common) !== 0) return true;
    if (head.length > tail.fingerprint.length) tail.fingerprint = head;
    return !(await tailMark(handle, tail.chunks.position)).equals(tail.tailMark);
  }

  async #readWhole(handle: FileHandle, identity: FileIdentity, format: FileFormat & { mode: 'whole' }, timing: CommitTiming | null): Promise<ReadOutcome> {
    const whole = (this.#whole ??= {
      decoder: format.createDecoder({
        fileName: basename(this.path),
        symbol: format.symbolFor(basename(this.path)),
        options: this.#options.registry.options,
      }),
      identity: null,
      content: null,
      incomplete: null,
      incompleteReads: 0,
    });
    if (whole.identity && sameIdentity(whole.identity, identity)) return 'unchanged';
    if (identity.size > this.#options.maxWholeBytes) {
      this.#reject(
        identity,
        new FormatError('FORMAT_TOO_LARGE', `file is ${identity.size} bytes, more than the ${this.#options.maxWholeBytes} a whole-file source may hold`, 0),
      );
      return 'failed';
    }
    const content = await readAt(handle, 0, identity.size);
    this.#options.readBytes?.add(content.length);
    if (whole.content?.equals(content)) {
      whole.identity = identity;
      return 'unchanged';
    }
    const ingest = this.#ingest as ReadCycleSink;
    ingest.begin(false, timing);
    this.#problems = 0;
    let result: WholeDecodeResult;
    try {
      result = whole.decoder.decode(content, ingest, { mtimeMs: identity.mtimeMs });
    } catch (error) {
      // What the decoder could not isolate to one record: the file keeps its last good state. Its
      // error is not kept as the cause: its message may quote the input (errorKind says why).
      ingest.abandon();
      this.#reject(identity, new FormatError('FORMAT_UNDECODABLE', `content could not be decoded (${errorKind(error)}); keeping the last good state`, 0));
      return 'failed';
    }
    if (!result.ok) {
      // A writer mid-rewrite changes the file between reads; one that left it broken does not.
      const same = whole.incomplete !== null && sameIdentity(whole.incomplete, identity);
      whole.incompleteReads = same ? whole.incompleteReads + 1 : 1;
      whole.incomplete = identity;
      if (whole.incompleteReads < INCOMPLETE_REPORT_AFTER) return 'retry';
      this.#reject(
        identity,
        new FormatError('FORMAT_TRUNCATED', `${result.incomplete} (unchanged after ${INCOMPLETE_REPORT_AFTER} reads); keeping the last good state`, 0),
      );
      return 'failed';
    }
    whole.identity = identity;
    whole.content = content;
    whole.incomplete = null;
    this.#progress.wholeEncoding = sniffEncoding(content.subarray(0, 64)).encoding;
    this.#reportSkippedProblems();
    const records = ingest.finish();
    this.#progress.records += records;
    return records > 0 ? 'changed' : 'unchanged';
  }

  /**
   * A decoder's doubt about the file, logged once per file: the same doubt with other counts
   * (the file grew, or was rewritten) is not told again.
   */
  #warn(message: string): void {
    const key = message.replace(/\d+/g, '#');
    if (this.#warnings.has(key) || this.#warnings.size >= WARNINGS_PER_FILE) return;
    this.#warnings.add(key);
    this.#logger.warn({ event: 'format_doubt' }, message);
  }

  #failed(error: unknown): ReadOutcome {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'gone';
    if (code !== undefined && LOCKED.has(code)) {
      this.#lockedReads++;
      if (this.#lockedReads < LOCKED_REPORT_AFTER) {
        this.#logger.debug({ code }, 'file locked by its writer; retrying');
        return 'retry';
      }
      if (this.#lockedReads === LOCKED_REPORT_AFTER) {
        this.#logger.warn({ event: 'file_locked', code, attempts: this.#lockedReads }, 'file held locked by its writer; still retrying');
      }
      this.#lastFailure = `held locked by its writer (${code}) for ${this.#lockedReads} reads in a row`;
      return 'failed';
    }
    this.#lastFailure = `read failed: ${(error as Error).message}`;
    if (++this.#failures === 1) this.#logger.error({ event: 'read_failed', err: error }, 'read failed; retrying');
    else this.#logger.debug({ err: error, failures: this.#failures }, 'read failed again');
    return 'failed';
  }

  /**
   * The file is not read (`identity`: as stat saw it, so that later reads are one stat until
   * it changes); warned once per reason.
   */
  async #refuse(reason: string, identity: FileIdentity | null): Promise<ReadOutcome> {
    if (reason !== this.#refused) this.#logger.warn({ event: 'file_skipped', reason }, `file skipped: ${reason}`);
    this.#refused = reason;
    this.#settled = {
      identity: identity ?? identityOf(await stat(this.path).catch(() => ({ dev: -1, ino: -1, size: -1, mtimeMs: -1 }))),
      checkedAt: Date.now(),
    };
    return 'unchanged';
  }

  /** The file cannot be read as its format: skipped (a failed read) until it changes. */
  #reject(identity: FileIdentity, error: FormatError): void {
    this.#rejected = identity;
    this.#lastFailure = error.message;
    this.#problem('file_rejected', error.offset, error.message, undefined, error.code);
  }

  #problem(event: 'record_skipped' | 'data_refused' | 'file_rejected', offset: number, reason: string, line?: number, code?: FormatErrorCode): void {
    this.#options.onProblem?.(this.path);
    this.#problemsSeen.count++;
    this.#problemsSeen.last = { reason, offset, at: Date.now() };
    this.#problems++;
    if (this.#problems <= PROBLEMS_LOGGED_PER_READ) {
      this.#logger.warn({ event, offset, ...(line === undefined ? {} : { line }), ...(code === undefined ? {} : { code }) }, reason);
    }
  }

  #reportSkippedProblems(): void {
    const skipped = this.#problems - PROBLEMS_LOGGED_PER_READ;
    if (skipped > 0) this.#logger.warn({ event: 'problems_not_logged', skipped }, `${skipped} more problems in this read were not logged one by one`);
  }
}

function identityOf(stats: { dev: number; ino: number; size: number; mtimeMs: number }): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
}

function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

function savedTailOf(format: string, tail: TailState): SavedTail {
  const pending = tail.chunks.pending;
  return {
    format,
    dev: tail.dev,
    ino: tail.ino,
    position: tail.chunks.position,
    pending: pending ? pending.toString('base64') : null,
    headBytes: tail.fingerprint.length,
    headHash: hashOf(tail.fingerprint),
    markBytes: tail.tailMark.length,
    markHash: hashOf(tail.tailMark),
    decoder: tail.chunks.decoder.checkpoint(),
  };
}

/** Up to `length` bytes at `position` (fewer at the end of the file). */
export async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  if (length <= 0) return Buffer.alloc(0);
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

/** Reads up to `length` bytes at `chunks.position` and feeds them to `sink`; returns how many were read. */
async function feedRun(handle: FileHandle, chunks: ChunkedDecoder, length: number, sink: ReadCycleSink): Promise<number> {
  const bytes = await readAt(handle, chunks.position, length);
  if (bytes.length > 0) chunks.feed(bytes, sink);
  return bytes.length;
}

/** The bytes just before `position` (up to TAIL_MARK_BYTES). */
function tailMark(handle: FileHandle, position: number): Promise<Buffer> {
  const from = Math.max(0, position - TAIL_MARK_BYTES);
  return readAt(handle, from, position - from);
}

/** Reads of `handle`; those within `head` (the file's leading bytes, read before) are served from it. */
export function randomAccess(handle: FileHandle, size: number, head: Buffer = Buffer.alloc(0)): RandomAccessFile {
  return {
    size,
    read: (offset, length) =>
      offset + Math.min(length, size - offset) <= head.length
        ? Promise.resolve(head.subarray(offset, offset + Math.min(length, size - offset)))
        : readAt(handle, offset, length),
  };
}
