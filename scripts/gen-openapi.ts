/**
 * Writes docs/openapi.json: the OpenAPI description a bridge serves at /v1/openapi.json
 * (test/e2e/openapi.test.ts fails when the two differ).
 *
 *   npm run docs:openapi
 */
import { writeFile } from 'node:fs/promises';
import { startBridge } from '../src/app/bridge.js';
import { resolveConfig } from '../src/app/config.js';
import { createLogger } from '../src/core/logger.js';

const bridge = await startBridge(resolveConfig({ port: 0, sources: [] }), { logger: createLogger('silent') });
try {
  const description: unknown = await (await fetch(`${bridge.url}/v1/openapi.json`)).json();
  await writeFile('docs/openapi.json', `${JSON.stringify(description, null, 2)}\n`);
} finally {
  await bridge.close();
}
