import type { FastifyInstance, preValidationHookHandler } from 'fastify';
import { ClientError } from '../model/errors.js';

/** Decimal digits, an optional sign, nothing else: no `Infinity`, `NaN`, `0x10`, `1e3` or blanks. */
const DECIMAL_INTEGER = /^-?\d{1,16}$/;
const DECIMAL_NUMBER = /^-?\d{1,16}(\.\d{1,16})?$/;

/**
 * Numeric query parameters as written by a person: the schema validator coerces any string
 * JavaScript's Number() takes (`Infinity`, `0x10`, `1e309`, ` 5`) and lets ±Infinity through
 * `integer`, so every route whose query schema has a number or integer property first gets
 * this check: digits only, once, and a safe integer. The schema's bounds then apply.
 */
export function checkQueryNumbers(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema?.querystring as { properties?: Record<string, { type?: unknown }> } | undefined;
    const numeric = Object.entries(schema?.properties ?? {}).flatMap(([key, property]) =>
      property.type === 'integer' || property.type === 'number' ? [[key, property.type === 'integer' ? DECIMAL_INTEGER : DECIMAL_NUMBER] as const] : [],
    );
    if (numeric.length === 0) return;
    const check: preValidationHookHandler = (request, _reply, done) => {
      const query = request.query as Record<string, unknown>;
      for (const [key, pattern] of numeric) {
        const value = query[key];
        if (value === undefined) continue;
        if (typeof value !== 'string') {
          done(new ClientError('BAD_REQUEST', `querystring ${key} must be given once`));
          return;
        }
        if (!pattern.test(value) || !Number.isFinite(Number(value)) || Math.abs(Number(value)) > Number.MAX_SAFE_INTEGER) {
          done(
            new ClientError(
              'BAD_REQUEST',
              `querystring ${key} must be ${pattern === DECIMAL_INTEGER ? 'integer' : 'number'} (plain decimal digits), not ${JSON.stringify(value.slice(0, 40))}`,
            ),
          );
          return;
        }
      }
      done();
    };
    const existing = route.preValidation;
    route.preValidation = existing === undefined ? [check] : [check, ...(Array.isArray(existing) ? existing : [existing])];
  });
}
