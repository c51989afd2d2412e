/**
 * The seeds' "before" (seed 004): an HTTP endpoint that reads and parses the symbol's file
 * on every request and answers its content. Counts the file reads it makes.
 *
 *   (forked by bench/polling.ts) polling-server.ts <folder>
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify from 'fastify';

const folder = process.argv[2] as string;
let reads = 0;
const app = Fastify({ logger: false });
app.get<{ Params: { symbol: string } }>('/v1/quote/:symbol', async (request) => {
  reads++;
  return JSON.parse(await readFile(join(folder, `${request.params.symbol}.json`), 'utf8')) as unknown;
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.send?.({ url: `${url}/v1/quote` });
process.on('message', () => process.send?.({ reads }));
process.on('disconnect', () => process.exit(0));
