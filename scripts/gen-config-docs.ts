import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { withConfigTable } from './config-docs.js';

/** `npm run docs:config`: rewrites the generated table of docs/configuration.md from the config schema. */
const page = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
await writeFile(page, withConfigTable(await readFile(page, 'utf8')));
console.log('docs/configuration.md: the table of every key is current');
