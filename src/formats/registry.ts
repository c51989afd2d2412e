import { jsonSnapshotFormat } from './json-snapshot.js';
import { mt5TicksFormat } from './mt5-ticks.js';
import { scidFormat } from './scid.js';
import type { FileFormat } from './types.js';

/** Every format the bridge reads. Adding one is a new file in formats/ and a line here. */
export const FORMATS: readonly FileFormat[] = [scidFormat, mt5TicksFormat, jsonSnapshotFormat];

export const FORMAT_NAMES = FORMATS.map((format) => format.name);

export type FormatChoice = 'auto' | string;

/** Picks the format of a file by its name and, where names are shared, its first bytes. */
export class FormatRegistry {
  readonly #formats: readonly FileFormat[];

  constructor(choice: FormatChoice = 'auto', formats: readonly FileFormat[] = FORMATS) {
    this.#formats = choice === 'auto' ? formats : formats.filter((format) => format.name === choice);
    if (this.#formats.length === 0) throw new Error(`unknown format ${JSON.stringify(choice)}; known: ${FORMAT_NAMES.join(', ')}`);
  }

  /** Whether any format could read a file of this name (files that none could are not opened). */
  couldRead(fileName: string): boolean {
    return this.#formats.some((format) => format.matchesName(fileName));
  }

  /**
   * The format of a file: null when none reads it, undefined when a format needs more
   * bytes than `head` holds to decide.
   */
  detect(fileName: string, head: Buffer): FileFormat | null | undefined {
    let undecided = false;
    for (const format of this.#formats) {
      if (!format.matchesName(fileName)) continue;
      if (!format.sniff) return format;
      const verdict = format.sniff(head);
      if (verdict === true) return format;
      if (verdict === undefined) undecided = true;
    }
    return undecided ? undefined : null;
  }
}
