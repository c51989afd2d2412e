import { constants } from 'node:zlib';
import fastifyCompress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';

/**
 * Brotli or gzip for HTTP answers of at least `thresholdBytes` when the client asks for it
 * (Accept-Encoding): snapshots, patch polls, bars, stats. Brotli at quality 4 compresses a
 * snapshot about as well as gzip does at a fraction of brotli's default CPU. SSE and the
 * dashboard stream write to the raw response (hijacked), so events are never held back in a
 * compressor.
 */
export async function installHttpCompression(app: FastifyInstance, thresholdBytes: number): Promise<void> {
  await app.register(fastifyCompress, {
    global: true,
    threshold: thresholdBytes,
    encodings: ['br', 'gzip'],
    brotliOptions: { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } },
  });
}
