import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { ClientError } from '../model/errors.js';
import type { Logger } from '../core/logger.js';
import { sendError } from './http.js';
import { checkQueryNumbers } from './query-numbers.js';

/**
 * The HTTP server every transport shares. Errors always answer
 * `{ "error": { "code", "message" } }` (PROTOCOL.md §5).
 */
export function createHttpServer(logger: Logger): FastifyInstance {
  // pino's Logger is a FastifyBaseLogger; the generic parameters differ only in name.
  const loggerInstance: FastifyBaseLogger = logger.child({ component: 'http' });
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: requests are not logged, and making one (pino bindings,
    // serialised) was a noticeable part of a snapshot's cost. Failures log the request id.
    childLoggerFactory: (logger) => logger,
    forceCloseConnections: true,
    // How often Node checks headersTimeout (http.headersTimeoutMs, connections.ts): the
    // default, 30 s, let a silent socket outlive the timeout by that much.
    http: { connectionsCheckingInterval: 1000 },
    return503OnClosing: true,
    // Longer than any valid symbol, so that a too-long one gets our 400 and not the router's 414.
    routerOptions: { maxParamLength: 1024 },
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation)
      return sendError(reply, 'BAD_REQUEST', `${error.validationContext ?? 'request'} ${error.message.replace(/^\w+\/?/, '').trim() || 'is invalid'}`);
    if (error instanceof ClientError) return sendError(reply, error.code, error.message);
    if (typeof error.statusCode === 'number' && error.statusCode < 500) return sendError(reply, 'BAD_REQUEST', error.message);
    request.log.error({ event: 'request_failed', err: error, reqId: request.id, url: request.url }, 'request failed');
    return sendError(reply, 'INTERNAL', 'the bridge failed to answer this request');
  });
  checkQueryNumbers(app);
  app.setNotFoundHandler((request, reply) => sendError(reply, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  return app;
}
