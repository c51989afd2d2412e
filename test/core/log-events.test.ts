import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * `event: 'a'`, or a union of literals (`event: 'a' | 'b'`, a parameter's type). The SSE event
 * names the hub frames messages with (`event: 'snapshot'`, PROTOCOL.md) are not log events.
 */
const EVENT_LITERALS = /\bevent: ('[a-z_]+'(?:\s*\|\s*'[a-z_]+')*)/g;
const SSE_EVENTS = new Set(['snapshot', 'patch']);

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => join(entry.parentPath, entry.name));
}

/** Every log event key in src/, with the files that log it. */
async function eventsInCode(): Promise<Map<string, string[]>> {
  const events = new Map<string, string[]>();
  for (const file of await sourceFiles(join(ROOT, 'src'))) {
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(EVENT_LITERALS)) {
      for (const [, key] of match[1]!.matchAll(/'([a-z_]+)'/g)) {
        if (SSE_EVENTS.has(key!)) continue;
        events.set(key!, [...(events.get(key!) ?? []), file.slice(ROOT.length + 1)]);
      }
    }
  }
  return events;
}

/** The rows of the "Log events" table in docs/operations.md: key and level. */
async function eventsInDocs(): Promise<Map<string, string>> {
  const text = await readFile(join(ROOT, 'docs', 'operations.md'), 'utf8');
  const section = /^## Log events\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(text)?.[1];
  expect(section, 'docs/operations.md has a "## Log events" section').toBeDefined();
  const rows = new Map<string, string>();
  for (const [, key, level] of section!.matchAll(/^\| `([a-z_]+)` \| ([a-z, ]+) \|/gm)) {
    expect(rows.has(key!), `${key} is listed once`).toBe(false);
    rows.set(key!, level!);
  }
  return rows;
}

describe('log events', () => {
  it('every event key logged in src/ is in the table of docs/operations.md, and every row of the table is logged', async () => {
    const code = await eventsInCode();
    const docs = await eventsInDocs();
    // The scan finds what it must: the keys operators alert on.
    for (const key of [
      'breaker_open',
      'read_failed',
      'read_stalled',
      'file_skipped',
      'slow_consumer_dropped',
      'state_refused',
      'data_refused',
      'config_refused',
    ]) {
      expect(code.has(key), `${key} is logged`).toBe(true);
    }
    const undocumented = [...code].filter(([key]) => !docs.has(key)).map(([key, files]) => `${key} (${[...new Set(files)].join(', ')})`);
    const unlogged = [...docs.keys()].filter((key) => !code.has(key));
    expect(undocumented, 'logged but not in the table').toEqual([]);
    expect(unlogged, 'in the table but logged nowhere').toEqual([]);
  });

  it('keys are snake_case and each row names its level', async () => {
    const docs = await eventsInDocs();
    expect(docs.size).toBeGreaterThan(0);
    for (const [key, levels] of docs) {
      expect(key).toMatch(/^[a-z]+(_[a-z]+)+$/);
      for (const level of levels.split(', ')) expect(['debug', 'info', 'warn', 'error'], `${key}: ${level}`).toContain(level);
    }
  });
});
