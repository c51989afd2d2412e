/**
 * Runs the simulator alone, writing export files into a folder until stopped, so a bridge
 * started separately (`npm start -- --watch DIR`) has live files to read.
 *
 *   npx tsx scripts/simulate.ts DIR [updates-per-second]
 */
import { mkdir } from 'node:fs/promises';
import { startSimulator } from '../src/sim/simulator.js';

const [dir, rate] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: npx tsx scripts/simulate.ts DIR [updates-per-second]\n');
  process.exit(2);
}
await mkdir(dir, { recursive: true });
const simulator = await startSimulator({ dir, updatesPerSecond: rate ? Number(rate) : 4 });
process.stderr.write(`writing ${simulator.symbols.join(', ')} into ${dir}; Ctrl-C stops\n`);
const stop = (): void => void simulator.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
