import type { ScanFile, ScanReport } from './scan.js';

/**
 * The human report of `tapebridge scan`: per folder, a table with one row per file, and
 * under each row how it is read (format and why, text layout, timeframe and how it was
 * inferred, times in the source's zone), its warnings and, for a file that cannot be read,
 * why not.
 */

const COLUMNS = ['FILE', 'FORMAT', 'SYMBOL', 'TF', 'RECORDS', 'FIRST (UTC)', 'LAST (UTC)'] as const;
/** Cells longer than this are cut (a long symbol list), so that a row stays one line. */
const MAX_CELL = 40;
const HEADER_NAMES_SHOWN = 8;

export function scanTable(report: ScanReport): string {
  const out: string[] = [];
  let next = 0;
  for (const folder of report.folders) {
    if (folder.error !== null) {
      out.push(`${folder.folder}: ${folder.error}`, '');
      continue;
    }
    const files = report.files.slice(next, (next += folder.files));
    out.push(
      `${folder.folder} (${files.length} file${files.length === 1 ? '' : 's'}, times read in ${folder.zone})${folder.note === null ? '' : `: ${folder.note}`}`,
    );
    const rows = files.map(cells);
    const widths = COLUMNS.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] as string).length)));
    const line = (row: readonly string[]): string =>
      row
        .map((cell, column) => (column === 4 ? cell.padStart(widths[column] as number) : cell.padEnd(widths[column] as number)))
        .join('  ')
        .trimEnd();
    out.push(`  ${line(COLUMNS)}`);
    files.forEach((file, index) => {
      out.push(`  ${line(rows[index] as string[])}`);
      for (const detail of details(file)) out.push(`      ${detail}`);
    });
    out.push('');
  }
  out.push(summary(report));
  return `${out.join('\n')}\n`;
}

function cells(file: ScanFile): string[] {
  const symbol = file.symbol === null ? '-' : Array.isArray(file.symbol) ? file.symbol.join(',') : file.symbol;
  const timeframe = file.timeframe === null ? (file.counts.bars > 0 ? '?' : '-') : Array.isArray(file.timeframe) ? file.timeframe.join(',') : file.timeframe;
  return [
    cut(file.path),
    file.error !== null ? `${file.format ?? '?'} (unreadable)` : (file.format ?? '-'),
    cut(symbol),
    timeframe,
    String(file.records),
    file.first === null ? '-' : utc(file.first),
    file.last === null ? '-' : utc(file.last),
  ];
}

function details(file: ScanFile): string[] {
  const lines: string[] = [];
  lines.push(`format: ${file.format ?? 'none'}${file.formatReason === '' ? '' : `, ${file.formatReason}`}`);
  if (file.encoding !== null) {
    const parts = [file.encoding];
    if (file.delimiter !== null) parts.push(`delimiter ${delimiterName(file.delimiter)}`);
    if (file.delimiter !== null || file.header !== null) parts.push(file.header === null ? 'no header' : `header ${headerText(file.header)}`);
    lines.push(`text: ${parts.join(', ')}`);
  }
  if (file.timeframeReason !== null) lines.push(`timeframe: ${file.timeframe === null ? '' : `${String(file.timeframe)}, `}${file.timeframeReason}`);
  if (file.firstLocal !== null && file.lastLocal !== null && file.zone !== 'UTC') lines.push(`in ${file.zone}: ${file.firstLocal} to ${file.lastLocal}`);
  for (const warning of file.warnings) lines.push(`warning: ${warning}`);
  if (file.error !== null) lines.push(`error: ${file.error}`);
  return lines;
}

function summary(report: ScanReport): string {
  const read = report.files.filter((file) => file.format !== null && file.error === null).length;
  const unreadable = report.files.filter((file) => file.error !== null).length;
  const ignored = report.files.length - read - unreadable;
  const warned = report.files.filter((file) => file.warnings.length > 0).length;
  return `${report.files.length} files: ${read} read, ${ignored} not read, ${unreadable} cannot be read; ${warned} with warnings`;
}

function utc(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace('Z', '')
    .replace(/\.000$/, '');
}

function cut(text: string): string {
  return text.length <= MAX_CELL ? text : `${text.slice(0, MAX_CELL - 1)}…`;
}

function delimiterName(delimiter: string): string {
  return delimiter === '\t' ? 'tab' : `'${delimiter}'`;
}

function headerText(header: readonly string[]): string {
  const shown = header.slice(0, HEADER_NAMES_SHOWN).join(', ');
  return header.length > HEADER_NAMES_SHOWN ? `${shown}, … (${header.length} columns)` : shown;
}
