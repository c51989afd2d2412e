import type { FastifyInstance, FastifyReply } from 'fastify';
import { ConfigError } from './config.js';
import { ClientError } from '../model/errors.js';
import { redact, RESTART_KEYS, type ConfigChange, type LiveConfig } from './live-config.js';

/**
 * `GET /v1/config` (secrets redacted), `PATCH /v1/config` (a partial config, merged: objects
 * deeply, arrays and values replaced) and `POST /v1/config/rollback`. Admin token only
 * when tokens are on (the `admin` flag, guard.ts).
 */
export function registerConfigRoutes(app: FastifyInstance, live: LiveConfig): void {
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (error) {
      done(new ClientError('BAD_REQUEST', `body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });

  app.get('/v1/config', { config: { admin: true } }, async (_request, reply) =>
    reply.type('application/json').send({
      config: redact(live.current),
      runtime: live.runtime,
      canRollback: live.canRollback,
      restartOnly: RESTART_KEYS,
    }),
  );

  app.patch('/v1/config', { config: { admin: true } }, async (request, reply) => answer(reply, () => live.patch(request.body)));

  app.post('/v1/config/rollback', { config: { admin: true } }, async (_request, reply) => answer(reply, () => live.rollback()));
}

async function answer(reply: FastifyReply, change: () => Promise<ConfigChange>): Promise<FastifyReply> {
  let result: ConfigChange;
  try {
    result = await change();
  } catch (error) {
    if (error instanceof ConfigError) throw new ClientError('BAD_REQUEST', `configuration refused: ${error.problems.join('; ')}`, { cause: error });
    throw new ClientError('INTERNAL', `the change could not be applied (${(error as Error).message}); the previous configuration is running`, { cause: error });
  }
  return reply.type('application/json').send({ changed: result.changed, config: redact(result.config) });
}
