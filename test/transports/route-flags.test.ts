import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { tallies } from '../../src/core/tally.js';
import { AuthGate, TokenTable } from '../../src/transports/auth.js';
import { installGuards } from '../../src/transports/guard.js';
import { REFUSALS } from '../../src/transports/refusals.js';
import { createHttpServer } from '../../src/transports/server.js';

const ADMIN = 'admin-secret-0123456789';
const READER = 'reader-secret-0123456789';

/**
 * A bare HTTP server with the guards and probe routes that declare (or do not declare) the
 * guard's route flags, on a real socket: what a route gets follows from its own options.
 */
describe('route flags (FastifyContextConfig: admin, symbolRoute, queryToken)', () => {
  let app: FastifyInstance;
  let base: string;
  const refusals = tallies(REFUSALS);

  beforeAll(async () => {
    app = createHttpServer(createLogger('silent'));
    const auth = new AuthGate(
      TokenTable.of([
        { name: 'ops', token: ADMIN, admin: true },
        { name: 'reader', token: READER, symbols: ['XAU*'] },
      ]),
      { openHealth: false },
    );
    const config = { http: { allowedHosts: [], origins: [], rateLimit: { max: 10_000, windowMs: 60_000 } } };
    await installGuards(app, { auth, host: '127.0.0.1', config: () => config, refusals });
    const ok = (): Promise<{ ok: boolean }> => Promise.resolve({ ok: true });
    app.get('/probe', ok);
    app.get('/probe/:symbol', ok);
    app.get('/admin-probe', { config: { admin: true } }, ok);
    app.get('/symbol-probe/:symbol', { config: { symbolRoute: true } }, ok);
    app.get('/stream-probe', { config: { queryToken: true } }, ok);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await app.close();
  });

  async function status(path: string, token?: string): Promise<{ status: number; code?: string }> {
    const response = await fetch(`${base}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as { error?: { code: string } };
    return { status: response.status, code: body.error?.code };
  }

  it('a route without flags takes any valid token, from the header only, and checks no symbol', async () => {
    expect(await status('/probe', READER)).toEqual({ status: 200 });
    expect(await status('/probe')).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    expect(await status('/probe', 'wrong')).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    expect(await status(`/probe?token=${READER}`)).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    // Its :symbol is not the guard's business: the reader may not see EURUSD, yet is let through.
    expect(await status('/probe/EURUSD', READER)).toEqual({ status: 200 });
  });

  it('admin: true refuses a token that is not an admin one, and takes an admin token', async () => {
    const before = refusals.forbidden.value;
    expect(await status('/admin-probe', READER)).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(refusals.forbidden.value).toBe(before + 1);
    expect(await status('/admin-probe', ADMIN)).toEqual({ status: 200 });
    expect(await status('/admin-probe')).toEqual({ status: 401, code: 'UNAUTHORIZED' });
  });

  it('symbolRoute: true refuses a symbol the token may not see', async () => {
    expect(await status('/symbol-probe/XAUUSD', READER)).toEqual({ status: 200 });
    expect(await status('/symbol-probe/EURUSD', READER)).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(await status('/symbol-probe/EURUSD', ADMIN)).toEqual({ status: 200 });
  });

  it('queryToken: true takes ?token= as well as the header', async () => {
    expect(await status(`/stream-probe?token=${READER}`)).toEqual({ status: 200 });
    expect(await status('/stream-probe', READER)).toEqual({ status: 200 });
    expect(await status('/stream-probe?token=wrong')).toEqual({ status: 401, code: 'UNAUTHORIZED' });
  });
});
