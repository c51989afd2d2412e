import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/client/backoff.js';
import { DocumentMirror } from '../../src/client/mirror.js';
import type { InstrumentDocument } from '../../src/client/types.js';

const clientDir = fileURLToPath(new URL('../../src/client/', import.meta.url));

describe('backoff', () => {
  it('draws each delay uniformly under a ceiling that doubles up to the cap (full jitter)', () => {
    const top = new Backoff({ baseMs: 100, maxMs: 1000 }, () => 0.999_999);
    expect(Array.from({ length: 6 }, () => top.next())).toEqual([99, 199, 399, 799, 999, 999]);
    const bottom = new Backoff({ baseMs: 100, maxMs: 1000 }, () => 0);
    expect(bottom.next()).toBe(0);
    top.reset();
    expect(top.next()).toBe(99);
    const far = new Backoff({ baseMs: 500, maxMs: 30_000 }, () => 0.5);
    for (let i = 0; i < 2000; i++) far.next();
    expect(far.next()).toBe(15_000);
  });
});

describe('document mirror', () => {
  const document = (bid: number): InstrumentDocument => ({ symbol: 'A', sources: [], quote: { bid }, bars: { M1: [] }, fields: {} });

  it('applies patches in seq order to a copy; duplicates change nothing; a gap or another epoch is reported', () => {
    const mirror = new DocumentMirror();
    mirror.snapshot({ type: 'snapshot', symbol: 'A', epoch: 'E', seq: 1, data: document(1) });
    const first = mirror.get('A');
    const outcome = mirror.patch({ type: 'patch', symbol: 'A', epoch: 'E', seq: 2, ops: [{ op: 'replace', path: '/quote/bid', value: 2 }] });
    expect(outcome.kind).toBe('applied');
    expect(first?.document.quote).toEqual({ bid: 1 });
    expect(mirror.get('A')?.document.quote).toEqual({ bid: 2 });
    expect(mirror.patch({ type: 'patch', symbol: 'A', epoch: 'E', seq: 2, ops: [] }).kind).toBe('duplicate');
    expect(mirror.patch({ type: 'patch', symbol: 'A', epoch: 'E', seq: 4, ops: [] }).kind).toBe('gap');
    expect(mirror.patch({ type: 'patch', symbol: 'A', epoch: 'F', seq: 3, ops: [] }).kind).toBe('gap');
    expect(mirror.patch({ type: 'patch', symbol: 'B', epoch: 'E', seq: 1, ops: [] })).toEqual({ kind: 'gap', held: undefined });
  });

  it('rejects a patch whose ops do not all apply, and keeps the held version', () => {
    const mirror = new DocumentMirror();
    mirror.snapshot({ type: 'snapshot', symbol: 'A', epoch: 'E', seq: 1, data: document(1) });
    const held = mirror.get('A');
    for (const ops of [
      [
        { op: 'add', path: '/bars/M1/-', value: { t: 1 } },
        { op: 'remove', path: '/book' },
      ],
      [{ op: 'test', path: '/quote/bid', value: 7 }],
      [{ op: 'jump', path: '/quote' }],
    ]) {
      const outcome = mirror.patch({ type: 'patch', symbol: 'A', epoch: 'E', seq: 2, ops: ops as never });
      expect(outcome.kind).toBe('failed');
      expect(mirror.get('A')).toBe(held);
      expect(held?.document.bars).toEqual({ M1: [] });
    }
  });
});

describe('the SDK runs in browsers', () => {
  it('imports nothing but its own modules, fast-json-patch and eventsource-parser (no Node built-ins)', async () => {
    const files = (await readdir(clientDir, { recursive: true })).filter((file) => file.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const source = await readFile(join(clientDir, file), 'utf8');
      for (const [, typeOnly, specifier] of source.matchAll(/^(?:import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gm)) {
        if (typeOnly || specifier?.startsWith('.')) continue;
        expect(['fast-json-patch', 'eventsource-parser'], `${file} imports ${specifier}`).toContain(specifier);
      }
      expect(source, `${file} uses a Node-only global`).not.toMatch(/\b(Buffer|process|require|NodeJS)\b/);
    }
  });
});
