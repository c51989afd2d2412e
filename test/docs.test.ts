import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { benchmarksPage, readResults } from '../scripts/bench-docs.js';
import { configKeys, withConfigTable } from '../scripts/config-docs.js';
import { resolveConfig, type ConfigLayer } from '../src/app/config.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFile(join(root, path), 'utf8');
/** Pages other branches are writing: their links may lead nowhere until those branches are merged. */
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const outsideCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, heading = ''] of outsideCode.matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*_]/g, (mark) => (mark === '_' ? '_' : ''));
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** The targets of inline links and images outside code: `[text](target)`. */
function linksOf(markdown: string): string[] {
  const outsideCode = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...outsideCode.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?: "[^"]*")?\)/g)].map(([, target = '']) => target);
}

describe('the docs', () => {
  it('docs/configuration.md holds the table generated from the config schema', async () => {
    const page = await read('docs/configuration.md');
    expect(page === withConfigTable(page), 'docs/configuration.md is not current: run npm run docs:config').toBe(true);
    const rows = new Set([...page.matchAll(/^\| `([^`]+)` \|/gm)].map(([, key]) => key));
    expect(configKeys().filter((key) => key !== '' && !rows.has(key))).toEqual([]);
  });

  it('docs/benchmarks.md is what bench/results/*.json give', async () => {
    const expected = benchmarksPage(await read('scripts/benchmarks.template.md'), await readResults(join(root, 'bench/results')));
    expect((await read('docs/benchmarks.md')) === expected, 'docs/benchmarks.md is not current: run npm run docs:bench').toBe(true);
  });

  it('docs/benchmarks.md shows every target of PRODUCT.md', async (context) => {
    const product = join(root, '../shared/PRODUCT.md');
    if (!existsSync(product)) context.skip('../shared/PRODUCT.md is not here');
    const text = await readFile(product, 'utf8');
    const table = text.slice(text.indexOf('## Targets'));
    const targets = [...table.matchAll(/^\| ([^|]+?) \| [^|]+ \|$/gm)].map(([, what = '']) => what).filter((what) => what !== 'what' && !/^-+$/.test(what));
    expect(targets.length).toBeGreaterThan(5);
    const page = await read('docs/benchmarks.md');
    const shown = (what: string) =>
      page.toLowerCase().includes(
        what
          .toLowerCase()
          .replace(/ \(.*\)$/, '')
          .split(',')[0] ?? what,
      );
    expect(targets.filter((what) => !shown(what))).toEqual([]);
  });

  it('every relative link and anchor in README.md and docs/*.md resolves', async () => {
    const broken: string[] = [];
    for (const page of pages) {
      const markdown = await read(page);
      for (const target of linksOf(markdown)) {
        if (/^[a-z][a-z+.-]*:/i.test(target)) continue;
        const [path = '', anchor] = target.split('#');
        const file = path === '' ? join(root, page) : join(root, dirname(page), decodeURIComponent(path));
        if (!existsSync(file)) {
          broken.push(`${page}: ${target} (no ${relative(root, file)})`);
          continue;
        }
        if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(await readFile(file, 'utf8')).has(anchor)) {
          broken.push(`${page}: ${target} (no heading #${anchor} in ${relative(root, file)})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('the README keeps the two commands and maps every page of docs/', async () => {
    const readme = await read('README.md');
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test ');
    const mapped = new Set(linksOf(readme).map((target) => target.split('#')[0]));
    const unmapped = pages.filter((page) => page.startsWith('docs/') && !mapped.has(page));
    expect(unmapped).toEqual([]);
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
  });

  it("the README's config example is a valid configuration", async () => {
    const blocks = [...(await read('README.md')).matchAll(/^```json\n([\s\S]*?)^```/gm)].map(([, json = '']) => json);
    const configs = blocks.filter((json) => json.trimStart().startsWith('{ "sources"'));
    expect(configs).toHaveLength(1);
    for (const json of configs) expect(resolveConfig(JSON.parse(json) as ConfigLayer).sources.length).toBeGreaterThan(0);
  });
});
