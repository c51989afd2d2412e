import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import type { Hub } from '../hub/hub.js';
import { ANONYMOUS, maySee, presentedToken, type AuthGate, type Principal } from './auth.js';
import { type ErrorCode, ERROR_CODES } from '../model/errors.js';
import { errorBody, patchesAnswer, snapshotBody, SYMBOL_PARAMS_SCHEMA, type SymbolParams } from '../model/wire.js';
import { healthBrief, healthDetail, type HealthRegistry } from '../core/health.js';
import type { StatsRegistry } from '../core/stats.js';
import type { Store } from '../state/store.js';
import type { SymbolState } from '../state/symbol-state.js';
import { VERSION } from '../model/version.js';
import { ClientError } from '../model/errors.js';
import { createHash } from 'node:crypto';
import { readPartsParam } from './view-params.js';

export interface HttpOptions {
  /** Longest long poll accepted (waitMs). */
  maxWaitMs: number;
}

interface PatchesQuery {
  epoch: string;
  since: number;
  waitMs?: number;
  parts?: string;
}

/** The plain HTTP routes of PROTOCOL.md §5: snapshots with ETags, patch polling, health. */
export interface HttpParts {
  auth: AuthGate;
  store: Store;
  hub: Hub;
  health: HealthRegistry;
  stats: StatsRegistry;
  metrics: Registry;
}

export function registerHttpRoutes(app: FastifyInstance, { auth, store, hub, health, stats, metrics }: HttpParts, options: HttpOptions): void {
  const startedAt = Date.now();
  const bodies = new WeakMap<SymbolState, { seq: number; body: Buffer }>();
  /**
   * The snapshot route's body, encoded once per version: with a full bar window it is some
   * 16 KB, and encoding it per request was most of the route's cost (bench/README.md).
   */
  const cachedSnapshot = (state: SymbolState): Buffer => {
    const cached = bodies.get(state);
    if (cached?.seq === state.seq) return cached.body;
    const body = Buffer.from(snapshotBody(state.symbolJson, store.epoch, state.seq, state.documentJson()));
    bodies.set(state, { seq: state.seq, body });
    return body;
  };

  // `/` is the dashboard (transports/dashboard-page.ts).
  app.get('/v1', async (_request, reply) =>
    reply.type('application/json').send({
      name: 'tapebridge',
      version: VERSION,
      epoch: store.epoch,
      routes: [
        '/',
        '/v1/symbols',
        '/v1/symbols/:symbol',
        '/v1/symbols/:symbol/patches',
        '/v1/symbols/:symbol/bars',
        '/v1/symbols/:symbol/indicators',
        '/v1/ws',
        '/v1/sse',
        '/v1/dashboard/sse',
        '/v1/sources',
        '/v1/stats',
        '/v1/config',
        '/health',
        '/metrics',
        '/v1/openapi.json',
      ],
    }),
  );

  app.get('/v1/symbols', async (request, reply) => {
    const principal = request.principal;
    const visible = [...store.symbols()].filter((state) => principal !== null && maySee(principal, state.symbol));
    const symbols = visible.map((state) => ({
      symbol: state.symbol,
      epoch: store.epoch,
      seq: state.seq,
      updatedAt: state.updatedAt,
      sources: state.document.sources,
    }));
    symbols.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    return reply.type('application/json').send({ symbols });
  });

  app.get<{ Params: SymbolParams; Querystring: { parts?: string } }>(
    '/v1/symbols/:symbol',
    { schema: { params: SYMBOL_PARAMS_SCHEMA }, config: { symbolRoute: true } },
    async (request, reply) => {
      const view = readPartsParam(request.query.parts);
      if (view instanceof ClientError) return sendError(reply, view.code, view.message);
      const state = store.get(request.params.symbol);
      if (!state) return sendError(reply, 'NOT_FOUND', `no symbol ${JSON.stringify(request.params.symbol)}`);
      if (view !== null) {
        // A view's version moves only when the view changes: its ETag holds while other parts do.
        const { seq, documentJson } = hub.snapshotOf(state, view);
        const etag = `"${store.epoch}:${seq}:${createHash('sha256').update(view.key).digest('base64url').slice(0, 12)}"`;
        void reply.header('etag', etag).header('cache-control', 'no-cache');
        if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
        return reply.type('application/json').send(snapshotBody(state.symbolJson, store.epoch, seq, documentJson));
      }
      const etag = `"${store.epoch}:${state.seq}"`;
      void reply.header('etag', etag).header('cache-control', 'no-cache');
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.type('application/json').send(cachedSnapshot(state));
    },
  );

  app.get<{ Params: SymbolParams; Querystring: PatchesQuery }>(
    '/v1/symbols/:symbol/patches',
    {
      config: { symbolRoute: true },
      schema: {
        params: SYMBOL_PARAMS_SCHEMA,
        querystring: {
          type: 'object',
          required: ['epoch', 'since'],
          properties: {
            epoch: { type: 'string', minLength: 1, maxLength: 64 },
            since: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            waitMs: { type: 'integer', minimum: 0, maximum: options.maxWaitMs },
            parts: { type: 'string' },
          },
        },
      },
    },
    async (request, reply) => {
      const { symbol } = request.params;
      const { epoch, since, waitMs = 0 } = request.query;
      const view = readPartsParam(request.query.parts);
      if (view instanceof ClientError) return sendError(reply, view.code, view.message);
      let state = store.get(symbol);
      if (!state) return sendError(reply, 'NOT_FOUND', `no symbol ${JSON.stringify(symbol)}`);
      if (epoch !== store.epoch) {
        return sendError(reply, 'GONE', `epoch ${epoch} is over (the bridge restarted as ${store.epoch}): take a snapshot`);
      }
      if (since > state.seq) return sendError(reply, 'GONE', `since ${since} is ahead of seq ${state.seq}: take a snapshot`);
      const deadline = Date.now() + waitMs;
      // A view waits on until a commit changes it (or the time is up): others send it nothing.
      while (waitMs > 0 && (since === state.seq || (view !== null && hub.viewPatchesSince(state, view, since)?.length === 0)) && Date.now() < deadline) {
        const before = state.seq;
        await hub.waitForCommit(symbol, deadline - Date.now());
        state = store.get(symbol) ?? state;
        // The tokens may have changed while it waited: it answers as they are now.
        const principal = request.principal && auth.reauthorize(request.principal);
        if (principal === null) return sendError(reply, 'UNAUTHORIZED', 'the bearer token is no longer valid');
        if (!maySee(principal, symbol))
          return sendError(reply, 'FORBIDDEN', `token ${JSON.stringify(principal.name)} may no longer see ${JSON.stringify(symbol)}`);
        // Timed out or closing; a whole document waits for one commit only.
        if (view === null || state.seq === before) break;
      }
      const patches =
        view === null
          ? state.journal.since(since)?.map((entry) => ({ seq: entry.seq, base: entry.seq - 1, opsJson: entry.opsJson }))
          : hub.viewPatchesSince(state, view, since);
      if (!patches) {
        return sendError(reply, 'GONE', `patches after seq ${since} are no longer held (oldest held: ${state.journal.floorSeq}): take a snapshot`);
      }
      return reply.type('application/json').send(patchesAnswer(state.symbolJson, store.epoch, state.seq, patches));
    },
  );

  app.get('/v1/stats', { config: { admin: true } }, async (_request, reply) =>
    reply.type('application/json').send({ epoch: store.epoch, time: Date.now(), ...stats.report() }),
  );

  app.get('/metrics', { config: { admin: true } }, async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));

  // Details (components, paths, reasons) for admin tokens, and for anyone when tokens are off
  // (the bridge is then on loopback unless told otherwise); status and counts for the rest.
  app.get('/health', async (request, reply) => {
    const report = health.report();
    const body =
      healthFor(request.principal ?? openHealthPrincipal(auth, request.headers.authorization)) === 'detail' ? healthDetail(report) : healthBrief(report);
    return reply
      .code(report.status === 'UNHEALTHY' ? 503 : 200)
      .type('application/json')
      .send({ ...body, epoch: store.epoch, version: VERSION, uptimeS: Math.round((Date.now() - startedAt) / 1000) });
  });
}

/** How much of the health report `principal` is shown: admins (and everyone with tokens off) the detail. */
export function healthFor(principal: Principal | null): 'detail' | 'brief' {
  return principal?.admin === true ? 'detail' : 'brief';
}

/** /health open without a token (auth.openHealth): a token given along still counts. */
function openHealthPrincipal(auth: AuthGate, authorization: string | undefined): Principal | null {
  if (!auth.enabled) return ANONYMOUS;
  const authentication = auth.authenticate(presentedToken(authorization));
  return authentication.ok ? authentication.principal : null;
}

export function sendError(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  return reply.code(ERROR_CODES[code].status).type('application/json').send(errorBody(code, message));
}

/** If-None-Match holds our ETag (in a list, or weak, or `*`). */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}
