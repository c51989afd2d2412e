import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { benchmarksPage, readResults } from './bench-docs.js';

/** `npm run docs:bench`: writes docs/benchmarks.md from bench/results/*.json and scripts/benchmarks.template.md. */
const from = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const template = await readFile(from('benchmarks.template.md'), 'utf8');
await writeFile(from('../docs/benchmarks.md'), benchmarksPage(template, await readResults(from('../bench/results'))));
console.log('docs/benchmarks.md: written from bench/results/*.json');
