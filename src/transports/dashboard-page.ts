import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The package root, from src/transports (tests) or dist/transports (built). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);

/** The modules of dist/derive/indicators the chart imports (pure functions of bars). */
const PAGE_INDICATORS = new Set(['/ema.js', '/bollinger.js', '/rsi.js', '/macd.js', '/rolling.js']);

/**
 * The dashboard at `/`: a static page (`dashboard/`) with plain ES modules, no build step.
 * It imports the client SDK as built (`dist/client` and the `dist/model` it imports, served at `/client/` and `/model/`) and the SDK's two
 * dependencies and TradingView's lightweight-charts as their ESM files (`/vendor/...`), which the page's import map names.
 */
export function registerDashboardPage(app: FastifyInstance): void {
  void app.register(async (scope) => {
    // The page and its modules are code, not data: they load without a token, so that a page
    // opened as `/?token=...` can start and hand the token to the data routes it calls.
    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, publicAsset: true };
    });
    const headers = hardeningHeaders();
    scope.addHook('onSend', async (_request, reply, payload) => {
      void reply.headers(headers);
      return payload;
    });
    // wildcard false: one route per file of the folder, so that `/` serves index.html and no
    // catch-all route stands in front of the other routes or the 404 handler.
    await scope.register(fastifyStatic, { root: join(ROOT, 'dashboard'), prefix: '/', wildcard: false, index: 'index.html' });
    // The SDK imports the shared vocabulary from `../model/`, so both folders are served side by side.
    for (const folder of ['client', 'model']) {
      const root = join(ROOT, 'dist', folder);
      if (existsSync(root)) {
        await scope.register(fastifyStatic, { root, prefix: `/${folder}/`, decorateReply: false, allowedPath: (path) => path.endsWith('.js') });
      }
    }
    // The bridge's own indicator functions, so that the chart's overlays are computed as the document's values are.
    const indicators = join(ROOT, 'dist', 'derive', 'indicators');
    if (existsSync(indicators)) {
      await scope.register(fastifyStatic, {
        root: indicators,
        prefix: '/derive/indicators/',
        decorateReply: false,
        allowedPath: (path) => PAGE_INDICATORS.has(path),
      });
    }
    await scope.register(fastifyStatic, {
      root: join(dirname(require.resolve('lightweight-charts/package.json')), 'dist'),
      prefix: '/vendor/lightweight-charts/',
      decorateReply: false,
      allowedPath: (path) => path === '/lightweight-charts.standalone.production.mjs',
    });
    await scope.register(fastifyStatic, {
      root: dirname(require.resolve('fast-json-patch')),
      prefix: '/vendor/fast-json-patch/',
      decorateReply: false,
      allowedPath: (path) => path.endsWith('.mjs'),
    });
    await scope.register(fastifyStatic, {
      root: dirname(require.resolve('eventsource-parser')),
      prefix: '/vendor/eventsource-parser/',
      decorateReply: false,
      allowedPath: (path) => path === '/index.js',
    });
  });
}

/**
 * The page's hardening: scripts, styles and connections from the bridge only (the one inline
 * script, the import map, allowed by its hash), no framing (clickjacking), no MIME sniffing,
 * and no Referer (the address may carry `?token=`, until app.js strips it).
 */
function hardeningHeaders(): Record<string, string> {
  const page = readFileSync(join(ROOT, 'dashboard', 'index.html'), 'utf8');
  const inline = [...page.matchAll(/<script type="importmap">([\s\S]*?)<\/script>/g)].map(
    (match) =>
      `'sha256-${createHash('sha256')
        .update(match[1] ?? '')
        .digest('base64')}'`,
  );
  const policy = [
    "default-src 'none'",
    `script-src 'self' ${inline.join(' ')}`.trim(),
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    'content-security-policy': policy,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served to anyone: the dashboard's files (no data). */
    publicAsset?: boolean;
  }
}
