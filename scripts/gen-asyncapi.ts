/**
 * Writes docs/asyncapi.json from scripts/asyncapi.ts (test/e2e/asyncapi.test.ts fails when the
 * two differ).
 *
 *   npm run docs:asyncapi
 */
import { writeFile } from 'node:fs/promises';
import { asyncApiDocument } from './asyncapi.js';

await writeFile('docs/asyncapi.json', `${JSON.stringify(asyncApiDocument(), null, 2)}\n`);
