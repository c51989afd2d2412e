import { isIP } from 'node:net';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { maySee, presentedToken, type AuthGate, type Principal } from './auth.js';
import { ClientError } from '../model/errors.js';
import type { Refusal } from './refusals.js';
import type { Tally } from '../core/tally.js';
import { hostAllowed, hostRefusal } from './host-check.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request acts for; null only on routes open without a token (/health). */
    principal: Principal | null;
  }

  /**
   * What the guard does for a route, declared where the route is registered
   * (`app.get(url, { config: { admin: true } }, handler)`). A route without flags takes any
   * valid token, from the Authorization header only.
   */
  interface FastifyContextConfig {
    /** Only an admin token may use the route. */
    admin?: boolean;
    /** The route is about its `:symbol`: refused for a token that may not see that symbol. */
    symbolRoute?: boolean;
    /** The token may come as `?token=` too: a browser's EventSource cannot set headers. */
    queryToken?: boolean;
  }
}

/** What the guard reads of the running config (the `http` section). */
export interface GuardConfig {
  readonly http: {
    readonly allowedHosts: readonly string[];
    readonly origins: readonly string[];
    readonly rateLimit: { readonly max: number; readonly windowMs: number };
  };
}

export interface GuardParts {
  auth: AuthGate;
  /** The address the server is bound to (config.host, read at start): the Host check. */
  host: string;
  /** The running config (origins and rate limits change live). */
  config: () => GuardConfig;
  refusals: Record<Refusal, Tally>;
}

/**
 * What every HTTP request passes before its route: CORS for the allowed browser origins
 * (@fastify/cors), a request from any other origin refused, a rate limit per client
 * address (@fastify/rate-limit), then the bearer token and what it may see.
 */
export async function installGuards(app: FastifyInstance, { auth, host, config, refusals }: GuardParts): Promise<void> {
  app.decorateRequest('principal', null);
  // First of all: a request for a name the bridge is not known by (DNS rebinding) gets nothing.
  app.addHook('onRequest', (request, reply, done) => {
    if (hostAllowed(request.headers.host, host, config().http.allowedHosts)) {
      done();
      return;
    }
    refusals.host.add();
    done(new ClientError('FORBIDDEN', hostRefusal(request.headers.host)));
  });
  await app.register(cors, {
    origin: (origin, callback) => callback(null, origin !== undefined && originAllowed(origin, config().http.origins)),
    methods: ['GET', 'HEAD', 'POST', 'PATCH'],
    exposedHeaders: ['etag', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
  });
  await app.register(rateLimit, {
    global: true,
    max: () => config().http.rateLimit.max,
    timeWindow: () => config().http.rateLimit.windowMs,
    keyGenerator: (request) => rateKey(request, auth),
    errorResponseBuilder: (_request, context) => {
      refusals.httpRate.add();
      return new ClientError(
        'RATE_LIMITED',
        `more than ${context.max} requests in ${config().http.rateLimit.windowMs} ms from this address; retry in ${context.after}`,
      );
    },
  });
  // After the rate limit (onRequest) so that guessing tokens is rate limited too, and before
  // the request is validated, so that a stranger learns nothing from a 400.
  app.addHook('preParsing', (request, reply, payload, done) => {
    const refusal = check(request, auth, config(), refusals);
    if (refusal?.code === 'UNAUTHORIZED') void reply.header('www-authenticate', 'Bearer realm="tapebridge"');
    done(refusal, payload);
  });
}

/**
 * Whose bucket a request draws from: a valid token's own (a flood by others cannot starve
 * it), /health's own per address (a flood of other routes cannot hide the bridge's state),
 * and otherwise the client address (unauthenticated requests, and wrong tokens: guessing is
 * limited per address).
 */
function rateKey(request: FastifyRequest, auth: AuthGate): string {
  const route = request.routeOptions.url;
  if (route === '/health') return `health ${request.ip}`;
  if (auth.enabled) {
    const query = request.query as Record<string, unknown> | undefined;
    const presented = presentedToken(request.headers.authorization, request.routeOptions.config.queryToken === true ? query?.token : undefined);
    if (presented !== undefined) {
      const authentication = auth.authenticate(presented);
      if (authentication.ok) return `token ${authentication.principal.name}`;
    }
  }
  return `address ${request.ip}`;
}

function check(request: FastifyRequest, auth: AuthGate, config: GuardConfig, refusals: GuardParts['refusals']): ClientError | null {
  if (request.method === 'OPTIONS') return null;
  const origin = request.headers.origin;
  if (origin !== undefined && !sameOrigin(origin, request.headers.host) && !originAllowed(origin, config.http.origins)) {
    refusals.origin.add();
    return new ClientError('FORBIDDEN', `origin ${origin} is not allowed (http.origins)`);
  }
  const route = request.routeOptions.url;
  const flags = request.routeOptions.config;
  if (route === '/health' && auth.openHealth) return null;
  if (flags.publicAsset) return null;
  const query = request.query as Record<string, unknown> | undefined;
  const presented = presentedToken(request.headers.authorization, flags.queryToken === true ? query?.token : undefined);
  const authentication = auth.authenticate(presented);
  if (!authentication.ok) {
    refusals.unauthorized.add();
    return new ClientError('UNAUTHORIZED', authentication.message);
  }
  const principal = authentication.principal;
  request.principal = principal;
  if (flags.admin === true && !principal.admin) {
    refusals.forbidden.add();
    return new ClientError('FORBIDDEN', `${route} needs an admin token; ${JSON.stringify(principal.name)} is not one`);
  }
  const symbol = (request.params as Record<string, string> | undefined)?.symbol;
  if (flags.symbolRoute === true && symbol !== undefined && !maySee(principal, symbol)) {
    refusals.forbidden.add();
    return new ClientError('FORBIDDEN', `token ${JSON.stringify(principal.name)} may not see ${JSON.stringify(symbol)}`);
  }
  return null;
}

/** Whether a browser page of `origin` may use the bridge (`*` in the list: any). */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  return allowed.includes('*') || allowed.includes(origin);
}

/**
 * A page served by the bridge itself, reached by an IP address or `localhost`. A page on a
 * DNS name is not taken as same-origin: DNS rebinding can point any name at 127.0.0.1, so
 * a name the bridge is reached by belongs in http.origins.
 */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined || (origin !== `http://${host}` && origin !== `https://${host}`)) return false;
  const hostname = new URL(origin).hostname.replace(/^\[|\]$/g, '');
  return hostname === 'localhost' || isIP(hostname) !== 0;
}
