/**
 * Writes docs/grafana-dashboard.json from scripts/grafana.ts (test/e2e/grafana.test.ts fails when
 * the two differ).
 *
 *   npm run docs:grafana
 */
import { writeFile } from 'node:fs/promises';
import { grafanaDashboard } from './grafana.js';

await writeFile('docs/grafana-dashboard.json', `${JSON.stringify(grafanaDashboard(), null, 2)}\n`);
