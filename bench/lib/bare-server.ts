/**
 * The HTTP scenario's baseline: a bare fastify route in its own process, answering
 * `GET /v1/symbols/:symbol` with a fixed JSON string of the size given, an ETag, and 304 on
 * a matching If-None-Match: the snapshot route with nothing of the bridge behind it.
 *
 *   (forked by bench/http.ts) bare-server.ts <bytes>
 */
import Fastify from 'fastify';

const bytes = Number(process.argv[2]);
const body = JSON.stringify({ symbol: 'S00_FUT_CME', epoch: 'bare', seq: 1, data: { pad: 'x'.repeat(Math.max(0, bytes - 60)) } });
const etag = '"bare:1"';
const app = Fastify({ logger: false });
app.get<{ Params: { symbol: string } }>('/v1/symbols/:symbol', (request, reply) => {
  void reply.header('etag', etag).header('cache-control', 'no-cache');
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.type('application/json').send(body);
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.send?.({ url, etag, bytes: Buffer.byteLength(body) });
process.on('disconnect', () => process.exit(0));
