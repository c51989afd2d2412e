import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * docs/benchmarks.md, built from bench/results/*.json and scripts/benchmarks.template.md, so
 * that no figure on the page is typed by hand. The template names each figure by its place in
 * a results file, `{{latency:figures.latencyMs.p50}}`, optionally divided by another
 * (`{{parse:figures.a/baseline.b|pct}}`) and formatted (`|pct`, `|pct1`, `|less`, `|d0`,
 * `|d1`, `|d2`, `|M1`, `|met`, `|date`); `{{runs}}` is the table of the runs. Every target a
 * results file judges must appear in the template (`{{name:targets.N.met|met}}`), so a new
 * target cannot be left off the page. scripts/gen-bench-docs.ts writes the page;
 * test/docs.test.ts checks that it is current.
 */

export type Results = ReadonlyMap<string, unknown>;

export async function readResults(dir: string): Promise<Results> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.json') && !name.endsWith('.quick.json')).sort();
  const entries = await Promise.all(
    names.map(async (name): Promise<[string, unknown]> => [name.replace(/\.json$/, ''), JSON.parse(await readFile(join(dir, name), 'utf8')) as unknown]),
  );
  return new Map(entries);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function at(results: Results, file: string, path: string): unknown {
  if (!results.has(file)) throw new Error(`no bench/results/${file}.json`);
  let value = results.get(file);
  for (const part of path.split('.')) {
    if (!isRecord(value) || !(part in value)) throw new Error(`bench/results/${file}.json has no ${path}`);
    value = value[part];
  }
  return value;
}

function number(value: unknown, where: string): number {
  if (typeof value !== 'number') throw new Error(`${where} is not a number`);
  return value;
}

const FORMATS: Record<string, (value: unknown, where: string) => string> = {
  pct: (value, where) => `${Math.round(number(value, where) * 100)}%`,
  pct1: (value, where) => `${(number(value, where) * 100).toFixed(1)}%`,
  less: (value, where) => `${Math.round((1 - number(value, where)) * 100)}%`,
  d0: (value, where) => grouped(Math.round(number(value, where))),
  d1: (value, where) => number(value, where).toFixed(1),
  d2: (value, where) => number(value, where).toFixed(2),
  M1: (value, where) => (number(value, where) / 1e6).toFixed(1),
  met: (value, where) => {
    if (typeof value !== 'boolean') throw new Error(`${where} is not true or false`);
    return value ? '**met**' : '**not met**';
  },
  date: (value, where) => {
    if (typeof value !== 'string') throw new Error(`${where} is not a date`);
    return `${value.slice(0, 10)} ${value.slice(11, 16)} UTC`;
  },
};

const grouped = (value: number) => value.toLocaleString('en-US', { maximumFractionDigits: 20 });

function plain(value: unknown, where: string): string {
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) >= 10_000 ? grouped(value) : String(value);
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  throw new Error(`${where} is not a number, a string or a boolean`);
}

function figure(results: Results, spec: string): string {
  const [source = '', format] = spec.split('|');
  const colon = source.indexOf(':');
  if (colon < 0) throw new Error(`{{${spec}}} names no results file`);
  const file = source.slice(0, colon);
  const [path = '', divisor] = source.slice(colon + 1).split('/');
  let value = at(results, file, path);
  if (divisor !== undefined) value = number(value, `${file}:${path}`) / number(at(results, file, divisor), `${file}:${divisor}`);
  if (format === undefined) return plain(value, `${file}:${path}`);
  const apply = FORMATS[format];
  if (!apply) throw new Error(`{{${spec}}}: unknown format ${format}`);
  return apply(value, `${file}:${path}`);
}

/** A machine figure as written (a number or a string); '' for anything else. */
function textOf(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

function machineOf(value: unknown): string {
  if (!isRecord(value)) return '';
  const cores = textOf(value.nproc ?? value.cores);
  const cpu = textOf(value.cpuModel ?? value.cpu);
  const memory = textOf(value.memoryGb ?? value.memoryGB);
  return [cores === '' ? '' : `${cores} cores`, cpu, memory === '' ? '' : `${memory} GB`, textOf(value.node)].filter((part) => part !== '').join(', ');
}

function loadOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (isRecord(value) && Array.isArray(value.before))
    return `1-minute load ${String(value.before[0])} before, ${Array.isArray(value.after) ? String(value.after[0]) : '?'} after`;
  return '';
}

/** One row per results file: when it ran, on what, and how loaded the machine was. */
function runsTable(results: Results): string {
  const lines = ['| results | run | mode | machine | load |', '|---|---|---|---|---|'];
  for (const [name, result] of results) {
    if (!isRecord(result)) continue;
    const mode = typeof result.mode === 'string' ? result.mode : result.quick === true ? 'quick' : 'full';
    const machine = machineOf(result.machine) || (typeof result.node === 'string' ? result.node : '');
    lines.push(`| \`bench/results/${name}.json\` | ${FORMATS.date?.(result.date, `${name}:date`) ?? ''} | ${mode} | ${machine} | ${loadOf(result.load)} |`);
  }
  return lines.join('\n');
}

export const GENERATED_NOTE =
  '<!-- Generated by npm run docs:bench from bench/results/*.json and scripts/benchmarks.template.md; edit those, not this file. -->';

/** The page: the template with every figure filled in. Throws on a figure the results lack, or a target left off. */
export function benchmarksPage(template: string, results: Results): string {
  const cited = new Set<string>();
  const page = template.replace(/\{\{([^}]+)\}\}/g, (_match, written: string) => {
    // In a table cell the format's bar is written `\|`.
    const spec = written.replace(/\\\|/g, '|');
    if (spec === 'runs') return runsTable(results);
    const target = /^([\w-]+):targets\.(\d+)\.met\|met$/.exec(spec);
    if (target) cited.add(`${target[1] ?? ''}:${target[2] ?? ''}`);
    return figure(results, spec);
  });
  const missing: string[] = [];
  for (const [name, result] of results) {
    const targets = isRecord(result) && Array.isArray(result.targets) ? result.targets : [];
    targets.forEach((_target, index) => {
      if (!cited.has(`${name}:${index}`)) missing.push(`${name}:targets.${index}`);
    });
  }
  if (missing.length > 0) throw new Error(`scripts/benchmarks.template.md does not show these targets: ${missing.join(', ')}`);
  return `${GENERATED_NOTE}\n${page}`;
}
