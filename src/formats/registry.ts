import { csvFormat } from './csv.js';
import { depthFormat } from './depth.js';
import { jsonSnapshotFormat } from './json-snapshot.js';
import { mt5BarsFormat } from './mt5-bars.js';
import { mt5TicksFormat } from './mt5-ticks.js';
import { ndjsonFormat } from './ndjson.js';
import { scidFormat } from './scid.js';
import { sierraTextFormat } from './sierra-text.js';
import { DEFAULT_FORMAT_OPTIONS, type FileFormat, type FileSeries, type FormatOptions } from './types.js';
import { TapeError } from '../model/errors.js';

/**
 * Every format the bridge reads. Adding one is a new file in formats/ and a line here.
 * Where names are shared (`.csv`, `.txt`), the first whose sniff accepts a file reads it:
 * the generic CSV reader comes last.
 */
export const FORMATS: readonly FileFormat[] = [
  scidFormat,
  depthFormat,
  mt5TicksFormat,
  mt5BarsFormat,
  sierraTextFormat,
  jsonSnapshotFormat,
  ndjsonFormat,
  csvFormat,
];

export const FORMAT_NAMES = FORMATS.map((format) => format.name);

/** A format's name (FORMAT_NAMES), or 'auto'. */
export type FormatChoice = string;

/** Picks the format of a file by its name and, where names are shared, its first bytes. */
export class FormatRegistry {
  readonly #formats: readonly FileFormat[];
  /** A source that names its format: its files are that format, and one that is not is reported. */
  readonly #forced: boolean;
  readonly options: FormatOptions;

  constructor(choice: FormatChoice = 'auto', options: FormatOptions = DEFAULT_FORMAT_OPTIONS, formats: readonly FileFormat[] = FORMATS) {
    this.#forced = choice !== 'auto';
    this.#formats = choice === 'auto' ? formats : formats.filter((format) => format.name === choice);
    if (this.#formats.length === 0) throw new TapeError('FORMAT_UNKNOWN', `unknown format ${JSON.stringify(choice)}; known: ${FORMAT_NAMES.join(', ')}`);
    this.options = options;
  }

  /** Whether any format could read a file of this name (files that none could are not opened). */
  couldRead(fileName: string): boolean {
    return this.#formats.some((format) => format.matchesName(fileName));
  }

  /**
   * The format of a file: null when none reads it, undefined when a format needs more
   * bytes than `head` holds to decide (formats are asked in order).
   */
  detect(fileName: string, head: Buffer): FileFormat | null | undefined {
    for (const format of this.#formats) {
      if (!format.matchesName(fileName)) continue;
      if (!format.sniff || this.#forced) return format;
      const verdict = format.sniff(head, this.options, fileName);
      // An undecided format comes before any later one: wait for more bytes.
      if (verdict !== false) return verdict === true ? format : undefined;
    }
    return null;
  }

  /** The series a file belongs to, when a format that could read it keeps one file per day. */
  seriesOf(fileName: string): FileSeries | null {
    for (const format of this.#formats) {
      if (format.matchesName(fileName) && format.seriesOf) return format.seriesOf(fileName);
    }
    return null;
  }
}
