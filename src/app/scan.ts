import { opendir, stat, type FileHandle } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { ChunkedDecoder } from '../formats/chunked-decoder.js';
import { errorKind } from '../formats/record-guard.js';
import { parseFileName } from '../formats/file-names.js';
import { FormatRegistry, FORMATS } from '../formats/registry.js';
import { sniffEncoding } from '../formats/text.js';
import { FormatError, type FileFormat, type TailOpenOptions, type TextLayoutSummary } from '../formats/types.js';
import type { Timeframe } from '../model/document.js';
import { TimeZone } from '../model/zone.js';
import { FileGate, openRegular, RefusedFile, specialKind } from '../watch/file-gate.js';
import { randomAccess, readAt } from '../watch/file-tail.js';
import { includeFilter } from '../watch/source-watcher.js';
import { DEFAULT_SOURCE, type Config, type SourceConfig } from './config.js';
import { formatOptionsOf, symbolMapperOf } from './source-options.js';
import { duration, localTime, ScanSink } from './scan-sink.js';

/**
 * `tapebridge scan`: what the bridge would make of each file of its folders, read once with
 * the bridge's own detection, decoders and source options, into a sink that only counts.
 */

/** One file as `tapebridge scan --json` reports it (PROTOCOL.md §7; keys beyond the contract's are additions). */
export interface ScanFile {
  /** Relative to its folder, `/`-separated. */
  path: string;
  /** The folder, as given. */
  folder: string;
  /** The format that reads it, null when none does. */
  format: string | null;
  formatReason: string;
  encoding: string | null;
  delimiter: string | null;
  /** The header's names, null when the file has none (or is not text). */
  header: readonly string[] | null;
  /** The symbol published (after aliases and renames); a list for a file of several; null when it gave none. */
  symbol: string | string[] | null;
  /** The bars' timeframe, a list when a file holds several, null for ticks or bars of no window's length. */
  timeframe: Timeframe | Timeframe[] | null;
  timeframeReason: string | null;
  /** Ticks, bars, books and whole-file documents read. */
  records: number;
  counts: { ticks: number; bars: number; books: number; documents: number; skipped: number };
  /** Earliest and latest record time, epoch ms; null when no record has one. */
  first: number | null;
  last: number | null;
  /** The zone the source reads local times in (its timeZone). */
  zone: string;
  firstLocal: string | null;
  lastLocal: string | null;
  bytes: number;
  warnings: string[];
  /** Why the file cannot be read at all (the bridge would reject it); null when it can. */
  error: string | null;
}

/** A folder scanned (once per configured source of its path). */
export interface ScanFolder {
  /** As given. */
  folder: string;
  /** The source's timeZone. */
  zone: string;
  files: number;
  /** Why it could not be listed (it does not exist, is not a folder); null when it could. */
  error: string | null;
  /** Said of a folder listed only in part (more files than MAX_FILES). */
  note: string | null;
}

export interface ScanReport {
  /** Empty when the files went to `onFile`. */
  files: ScanFile[];
  folders: ScanFolder[];
}

export interface ScanOptions {
  /** The clock records are compared with (default Date.now()). */
  now?: number;
  /** Given each file as it is scanned, instead of keeping it in the report (a folder of any size, printed as it goes). */
  onFile?: (file: ScanFile) => void | Promise<void>;
}

/** Leading bytes a format is detected from, as the watcher reads them. */
const HEAD_BYTES = 4096;
/** Files listed per folder: a folder holding more is reported cut short. */
const MAX_FILES = 100_000;
/** A file's whole history: decoders start at its first record. */
const WHOLE_FILE: TailOpenOptions = { historyMs: Number.MAX_SAFE_INTEGER, maxBackfillBytes: Number.MAX_SAFE_INTEGER };
/**
 * The sources `folders` name: each folder with the options of the configured sources of that
 * path (all of them, when several), or the default options when none is configured there;
 * with no folder, every configured source.
 */
function sourcesToScan(config: Config, folders: readonly string[]): { folder: string; source: SourceConfig }[] {
  if (folders.length === 0) return config.sources.map((source) => ({ folder: source.path, source }));
  return folders.flatMap((folder) => {
    const configured = config.sources.filter((source) => resolve(source.path) === resolve(folder));
    const sources = configured.length > 0 ? configured : [{ ...DEFAULT_SOURCE, path: folder }];
    return sources.map((source) => ({ folder, source }));
  });
}

/** Reads every file of the folders once, one at a time, and says what the bridge would make of each. */
export async function scanFolders(config: Config, folders: readonly string[], options: ScanOptions = {}): Promise<ScanReport> {
  const report: ScanReport = { files: [], folders: [] };
  const onFile = options.onFile ?? ((file: ScanFile) => void report.files.push(file));
  for (const { folder, source } of sourcesToScan(config, folders)) {
    const entry: ScanFolder = { folder, zone: source.timeZone, files: 0, error: null, note: null };
    report.folders.push(entry);
    const listed = await listFiles(resolve(source.path), source.depth);
    if (typeof listed === 'string') {
      entry.error = listed;
      continue;
    }
    const scanner = new SourceScanner(config, source, folder, options.now ?? Date.now(), listed.paths);
    for (const path of listed.paths) await onFile(await scanner.scan(path));
    entry.files = listed.paths.length;
    if (listed.cut) entry.note = `more than ${MAX_FILES} files: the first ${MAX_FILES} found were scanned`;
  }
  return report;
}

/** Every entry below `root` up to `depth` folder levels (what the watcher would see), sorted; or why it cannot be listed. */
async function listFiles(root: string, depth: number): Promise<{ paths: string[]; cut: boolean } | string> {
  const found = await stat(root).catch((error: unknown) => (error as NodeJS.ErrnoException).code ?? 'unreadable');
  if (typeof found === 'string') return found === 'ENOENT' ? 'the folder does not exist' : `the folder cannot be read (${found})`;
  if (!found.isDirectory()) return 'not a folder';
  const paths: string[] = [];
  let cut = false;
  const walk = async (dir: string, level: number): Promise<void> => {
    // A sub-folder that cannot be listed is left out, as the watcher leaves it; the folder itself must list.
    const entries = await opendir(dir).catch((error: unknown) => {
      if (dir === root) throw error;
      return [];
    });
    for await (const entry of entries) {
      if (paths.length >= MAX_FILES) {
        cut = true;
        return;
      }
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (level < depth) await walk(path, level + 1);
      } else {
        paths.push(path);
      }
    }
  };
  await walk(root, 0);
  return { paths: paths.sort(), cut };
}

/** The files of one source, read with its options. */
class SourceScanner {
  readonly #config: Config;
  readonly #source: SourceConfig;
  readonly #folder: string;
  readonly #root: string;
  readonly #now: number;
  readonly #registry: FormatRegistry;
  readonly #zone: TimeZone;
  readonly #sessionZone: TimeZone;
  readonly #mapSymbol: (symbol: string) => string;
  readonly #included: (relativePath: string) => boolean;
  /** Links out of the folder and second paths to one file, refused as the watcher refuses them. */
  readonly #gate: FileGate;
  /** The newest file of each series (Sierra's depth files, one per day): only that one is read. */
  readonly #series = new Map<string, { path: string; rank: string }>();

  constructor(config: Config, source: SourceConfig, folder: string, now: number, paths: readonly string[]) {
    this.#config = config;
    this.#source = source;
    this.#folder = folder;
    this.#root = resolve(source.path);
    this.#now = now;
    const formatOptions = formatOptionsOf(source, config.document.bookLevels);
    this.#registry = new FormatRegistry(source.format, formatOptions);
    this.#zone = formatOptions.timeZone;
    this.#sessionZone = TimeZone.parse(config.document.sessionZone);
    this.#mapSymbol = symbolMapperOf(source.symbols) ?? ((symbol) => symbol);
    this.#included = includeFilter(source.include);
    this.#gate = new FileGate(this.#root, source.followSymlinks, () => undefined);
    for (const path of paths) {
      const series = this.#registry.seriesOf(basename(path));
      const current = series && this.#series.get(series.key);
      if (series && (!current || current.rank < series.rank)) this.#series.set(series.key, { path, rank: series.rank });
    }
  }

  async scan(path: string): Promise<ScanFile> {
    const name = basename(path);
    const file = this.#emptyFile(relative(this.#root, path).split(sep).join('/'));
    if (!this.#registry.couldRead(name)) {
      file.formatReason = 'no format reads files named like this';
      file.warnings.push('unknown file: no format reads files named like this; the bridge ignores it');
      return file;
    }
    if (!this.#included(file.path)) {
      file.formatReason = "excluded by the source's include globs";
      file.warnings.push(`not read: the source's include (${this.#source.include.join(', ')}) leaves it out`);
      return file;
    }
    const series = this.#registry.seriesOf(name);
    const current = series && this.#series.get(series.key)?.path;
    if (current && current !== path) file.warnings.push(`not read by the bridge: ${JSON.stringify(basename(current))} is the newer file of its series`);
    let handle: FileHandle | undefined;
    try {
      const found = await stat(path);
      const special = found.isDirectory() ? 'a link to a folder' : specialKind(found);
      if (special !== null) {
        file.formatReason = `${special}; not read`;
        file.warnings.push(`not read: ${special}`);
        return file;
      }
      try {
        await this.#gate.admit(path);
      } catch (error) {
        if (!(error instanceof RefusedFile)) throw error;
        file.formatReason = 'refused by the folder rules';
        file.warnings.push(`not read: ${error.message}`);
        return file;
      }
      handle = await openRegular(path);
      const size = (await handle.stat()).size;
      file.bytes = size;
      const head = await readAt(handle, 0, Math.min(size, HEAD_BYTES));
      const format = this.#registry.detect(name, head);
      if (format === undefined) {
        file.formatReason = 'too short to tell its format yet';
        file.warnings.push('too short to tell its format: the bridge waits for more bytes');
        return file;
      }
      if (format === null) {
        file.formatReason = `its name fits ${namesFitting(name)} but its content does not`;
        file.warnings.push(`unknown file: ${file.formatReason}; the bridge ignores it`);
        return file;
      }
      file.format = format.name;
      file.formatReason = this.#reasonFor(format, name);
      const sink = new ScanSink(this.#mapSymbol, this.#now + this.#config.watch.maxFutureMs, this.#config.document.maxSymbolsPerFile);
      const warn = (message: string): void => addOnce(file.warnings, message);
      if (format.mode === 'tail') await this.#readTail(handle, size, head, format, name, sink, warn, file);
      else await this.#readWhole(handle, size, format, name, sink, file);
      this.#summarise(file, sink, format, name);
    } catch (error) {
      file.error =
        error instanceof FormatError
          ? error.message
          : `cannot be read: ${(error as NodeJS.ErrnoException).code ?? errorKind(error)} (${(error as Error).message})`;
    } finally {
      await handle?.close().catch(() => undefined);
    }
    return file;
  }

  #emptyFile(path: string): ScanFile {
    return {
      path,
      folder: this.#folder,
      format: null,
      formatReason: '',
      encoding: null,
      delimiter: null,
      header: null,
      symbol: null,
      timeframe: null,
      timeframeReason: null,
      records: 0,
      counts: { ticks: 0, bars: 0, books: 0, documents: 0, skipped: 0 },
      first: null,
      last: null,
      zone: this.#zone.spec,
      firstLocal: null,
      lastLocal: null,
      bytes: 0,
      warnings: [],
      error: null,
    };
  }

  #reasonFor(format: FileFormat, name: string): string {
    if (this.#source.format !== 'auto') return "the source's format";
    const fitting = FORMATS.filter((candidate) => candidate.matchesName(name));
    const before = fitting.slice(0, fitting.indexOf(format)).map((candidate) => candidate.name);
    if (!format.sniff) return 'by name';
    return before.length > 0 ? `by name and content; not ${before.join(', ')}` : 'by name and content';
  }

  async #readTail(
    handle: FileHandle,
    size: number,
    head: Buffer,
    format: FileFormat & { mode: 'tail' },
    name: string,
    sink: ScanSink,
    warn: (message: string) => void,
    file: ScanFile,
  ): Promise<void> {
    const decoder = format.createDecoder({ fileName: name, symbol: format.symbolFor(name), options: this.#registry.options, warn });
    const start = await decoder.open(randomAccess(handle, size, head), WHOLE_FILE);
    const layout = decoder.textLayout?.() ?? null;
    if (layout) setLayout(file, layout);
    if (!start) {
      file.warnings.push('too short to read yet: the bridge waits for its first complete record');
      return;
    }
    // In runs of watch.chunkBytes, as the watcher reads: a file of any size is never held whole.
    const chunks = new ChunkedDecoder(decoder, start.offset);
    for (let readTo = start.offset; readTo < size;) {
      const from = chunks.position;
      const bytes = await readAt(handle, from, Math.min(this.#config.watch.chunkBytes, size - from));
      if (bytes.length === 0) break;
      chunks.feed(bytes, sink);
      readTo = from + bytes.length;
    }
    if (chunks.pendingBytes > 0) file.warnings.push(`the last ${chunks.pendingBytes} bytes are a partial record: the bridge waits for the rest`);
  }

  async #readWhole(handle: FileHandle, size: number, format: FileFormat & { mode: 'whole' }, name: string, sink: ScanSink, file: ScanFile): Promise<void> {
    const maxWholeBytes = this.#config.watch.maxWholeBytes;
    if (size > maxWholeBytes)
      throw new FormatError('FORMAT_TOO_LARGE', `file is ${size} bytes, more than the ${maxWholeBytes} a whole-file source may hold (watch.maxWholeBytes)`, 0);
    const decoder = format.createDecoder({ fileName: name, symbol: format.symbolFor(name), options: this.#registry.options });
    const { mtimeMs } = await handle.stat();
    const content = await readAt(handle, 0, size);
    let result;
    try {
      result = decoder.decode(content, sink, { mtimeMs });
    } catch (error) {
      throw new FormatError('FORMAT_UNDECODABLE', `content could not be decoded (${errorKind(error)})`, 0);
    }
    if (!result.ok)
      throw new FormatError(
        'FORMAT_TRUNCATED',
        `${result.incomplete} (half-written, or broken: the bridge keeps reading it and reports it after a few reads)`,
        0,
      );
    file.encoding = sniffEncoding(content.subarray(0, HEAD_BYTES)).encoding;
  }

  #summarise(file: ScanFile, sink: ScanSink, format: FileFormat, name: string): void {
    const symbols = [...sink.symbols];
    file.symbol = symbols.length === 0 ? null : symbols.length === 1 ? (symbols[0] as string) : symbols;
    const timeframes = [...sink.timeframes];
    file.timeframe = timeframes.length === 0 ? null : timeframes.length === 1 ? (timeframes[0] as Timeframe) : timeframes;
    file.timeframeReason = this.#timeframeReason(sink, format, name);
    file.counts = { ...sink.counts };
    file.records = sink.counts.ticks + sink.counts.bars + sink.counts.books + sink.counts.documents;
    if (sink.first !== Number.POSITIVE_INFINITY) {
      // Whole ms: a fraction is Sierra's same-millisecond counter, or a file system's sub-ms mtime.
      file.first = Math.floor(sink.first);
      file.last = Math.floor(sink.last);
      file.firstLocal = localTime(sink.first, this.#zone);
      file.lastLocal = localTime(sink.last, this.#zone);
    }
    for (const problem of sink.problems) file.warnings.push(problem);
    if (sink.counts.skipped > sink.problems.length) file.warnings.push(`${sink.counts.skipped - sink.problems.length} more records skipped`);
    if (sink.future.count > 0) {
      file.warnings.push(
        `${sink.future.count} record(s) stamped more than ${duration(this.#config.watch.maxFutureMs)} ahead of the clock (the bridge refuses them: watch.maxFutureMs), ` +
          `up to ${duration(sink.future.most - this.#now)} ahead; ${zoneHint(sink.future.most - this.#now, this.#zone)}`,
      );
    }
    const oddDaily = sink.dailyOpens(this.#sessionZone);
    if (oddDaily !== null) {
      file.warnings.push(
        `D1 bars open at ${oddDaily} in ${this.#sessionZone.spec} (document.sessionZone), not at midnight: the source's timeZone (${this.#zone.spec}) looks wrong, or set document.sessionZone to the zone the days begin in`,
      );
    }
    const oddWeek = sink.oddWeekOpen();
    if (oddWeek !== null) {
      file.warnings.push(
        `${oddWeek}, when no market with a weekend opens (Sunday 20:00 to Monday 16:00 UTC): the source's timeZone (${this.#zone.spec}) looks wrong by whole hours`,
      );
    }
    for (const refused of sink.refusedNames) file.warnings.push(refused);
    if (file.records === 0 && file.error === null && !file.warnings.some((warning) => warning.startsWith('too short'))) file.warnings.push('no records');
  }

  #timeframeReason(sink: ScanSink, format: FileFormat, name: string): string | null {
    if (sink.counts.bars === 0) return sink.counts.ticks > 0 ? 'ticks: the bridge builds every window from them' : null;
    if (format.name === 'json') return 'the bar windows the JSON holds';
    if (this.#source.timeframe !== 'auto') return `the source's timeframe is ${this.#source.timeframe}`;
    const named = parseFileName(name).timeframe;
    if (sink.timeframes.size === 0) {
      const length = sink.lengthMs === null ? 'of unknown or sub-minute length' : `of ${duration(sink.lengthMs)}`;
      return `bars ${length}, merged into the windows ${sink.lengthMs === null ? 'as finer bars' : 'their length divides'}${named ? ` (named ${named.token})` : ''}`;
    }
    if (named) return `named in the file name (${named.token})`;
    return 'inferred from the spacing of the first rows';
  }
}

function setLayout(file: ScanFile, layout: TextLayoutSummary): void {
  file.encoding = layout.encoding;
  file.delimiter = layout.delimiter;
  file.header = layout.header;
}

function addOnce(list: string[], message: string): void {
  if (!list.includes(message)) list.push(message);
}

function namesFitting(name: string): string {
  return FORMATS.filter((format) => format.matchesName(name))
    .map((format) => format.name)
    .join(', ');
}

/** A gap ahead of the clock that is close to whole hours is most likely a zone read wrong. */
function zoneHint(aheadMs: number, zone: TimeZone): string {
  const hours = Math.round(aheadMs / 3_600_000);
  if (hours >= 1 && Math.abs(aheadMs - hours * 3_600_000) < 15 * 60_000) {
    return `about ${hours} h: the file's times are likely in a zone ${hours} h east of ${zone.spec}; set the source's timeZone`;
  }
  return "check the source's timeZone and the writer's clock";
}
