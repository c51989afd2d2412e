import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigSchema, DEFAULT_CONFIG, resolveConfig } from '../../src/app/config.js';
import { ConfigLoader, envLayer } from '../../src/app/config-loader.js';
import { tempDir } from '../helpers/temp.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function problemsOf(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** Every leaf key path of the schema (`watch.debounceMs`, `sources[].path`, ...). */
function schemaKeys(schema: TSchema, prefix = ''): string[] {
  if (schema.type === 'array' && (schema.items as TSchema).type === 'object') return schemaKeys(schema.items as TSchema, `${prefix}[]`);
  const properties = schema.properties as Record<string, TSchema> | undefined;
  // Records keyed by timeframe are one row each.
  if (!properties || prefix === 'document.bars' || prefix === 'document.indicators') return [prefix];
  return Object.entries(properties).flatMap(([key, inner]) => schemaKeys(inner, prefix ? `${prefix}.${key}` : key));
}

describe('configuration layers', () => {
  it('config/default.json holds exactly the built-in defaults', async () => {
    expect(JSON.parse(await readFile(join(root, 'config/default.json'), 'utf8'))).toEqual(DEFAULT_CONFIG);
  });

  it('layers default.json < <NODE_ENV>.json < --config file < TAPEBRIDGE_* < CLI flags, and --watch adds sources', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'default.json'), JSON.stringify({ port: 1001, journal: { size: 10 }, watch: { debounceMs: 1 }, sources: [{ path: '/a' }] }));
    await writeFile(join(dir, 'staging.json'), JSON.stringify({ port: 1002, watch: { maxWaitMs: 40 } }));
    await writeFile(join(dir, 'mine.json'), JSON.stringify({ port: 1003, log: { level: 'warn' } }));
    const loader = new ConfigLoader({
      configDir: dir,
      nodeEnv: 'staging',
      file: join(dir, 'mine.json'),
      env: { TAPEBRIDGE_PORT: '1004', TAPEBRIDGE_LOG__LEVEL: 'error', OTHER: 'x' },
      cli: { port: 1005 },
      extraSources: ['/b'],
    });
    expect(loader.files).toEqual([join(dir, 'default.json'), join(dir, 'staging.json'), join(dir, 'mine.json')]);
    const config = resolveConfig(...(await loader.load()));
    expect(config.port).toBe(1005);
    expect(config.log.level).toBe('error');
    expect(config.watch).toMatchObject({ debounceMs: 1, maxWaitMs: 40, trailingMs: DEFAULT_CONFIG.watch.trailingMs });
    expect(config.journal.size).toBe(10);
    expect(config.sources.map((source) => source.path)).toEqual(['/a', '/b']);
  });

  it('skips missing default and NODE_ENV files but not a missing --config file', async () => {
    const dir = await tempDir();
    expect(resolveConfig(...(await new ConfigLoader({ configDir: dir, nodeEnv: 'test' }).load()))).toEqual(DEFAULT_CONFIG);
    await expect(new ConfigLoader({ configDir: dir, file: join(dir, 'nope.json') }).load()).rejects.toThrow(/cannot read config file .*nope\.json/);
    await writeFile(join(dir, 'default.json'), '{"port": 80,');
    await expect(new ConfigLoader({ configDir: dir }).load()).rejects.toThrow(/default\.json is not valid JSON/);
  });

  it('maps TAPEBRIDGE_ variables to nested keys (__ between levels, case and _ ignored) and parses JSON values', () => {
    expect(
      envLayer({
        TAPEBRIDGE_WATCH__DEBOUNCE_MS: '7',
        TAPEBRIDGE_DOCUMENT__BARS__M5: '50',
        TAPEBRIDGE_HOST: '0.0.0.0',
        TAPEBRIDGE_STREAM__SLOW_CONSUMER: 'close',
        TAPEBRIDGE_SOURCES: '[{"path":"C:/SierraChart/Data","format":"sierra-scid"}]',
        TAPEBRIDGE_NOTIFY__WEBHOOK_URL: 'null',
        TAPEBRIDGE_AUTH__OPEN_HEALTH: 'false',
        TAPEBRIDGE_CONFIG_DIR: '/etc/tapebridge',
      }),
    ).toEqual({
      watch: { debounceMs: 7 },
      document: { bars: { M5: 50 } },
      host: '0.0.0.0',
      stream: { slowConsumer: 'close' },
      sources: [{ path: 'C:/SierraChart/Data', format: 'sierra-scid' }],
      notify: { webhookUrl: null },
      auth: { openHealth: false },
    });
  });

  it('refuses a variable naming no key, naming the variable and the keys it could be', () => {
    expect(problemsOf(() => envLayer({ TAPEBRIDGE_WATCH__DEBONCE_MS: '7' }))).toEqual([
      expect.stringMatching(/^TAPEBRIDGE_WATCH__DEBONCE_MS: no key "DEBONCE_MS" in watch; known: debounceMs, maxWaitMs/),
    ]);
    expect(problemsOf(() => envLayer({ TAPEBRIDGE_PORT__X: '1' }))).toEqual([expect.stringMatching(/^TAPEBRIDGE_PORT__X: no key "X" in port/)]);
  });

  it('names the key, the value and what is allowed for the new sections', () => {
    expect(problemsOf(() => resolveConfig({ notify: { webhookUrl: 'ftp://x' } }))).toEqual([
      'notify.webhookUrl: "ftp://x" is not allowed (expected null or string matching ^https?:// (an http(s) URL))',
    ]);
    expect(problemsOf(() => resolveConfig({ breaker: { failureThreshold: 0 } }))[0]).toMatch(
      /^breaker\.failureThreshold: 0 is not allowed \(Expected integer to be greater or equal to 1; failed reads in a row/,
    );
    expect(problemsOf(() => resolveConfig({ breaker: { retryBaseMs: 5000 } }))).toEqual([
      'breaker.retryBaseMs: 5000 must not exceed breaker.retryMaxMs (4000)',
    ]);
    expect(
      problemsOf(() =>
        resolveConfig({
          auth: {
            tokens: [
              { name: 'a', symbols: ['*'] },
              { name: 'a', token: 'x'.repeat(16), sha256: 'f'.repeat(64) },
            ],
          },
        }),
      ),
    ).toEqual([
      'auth.tokens.0: give exactly one of token (the secret) or sha256 (its hex SHA-256)',
      'auth.tokens.1: give exactly one of token (the secret) or sha256 (its hex SHA-256)',
      'auth.tokens.1.name: "a" is used by another token',
    ]);
    expect(problemsOf(() => resolveConfig({ auth: { tokens: [{ name: 'short', token: 'abc' }] } }))[0]).toMatch(
      /^auth\.tokens\.0\.token: "\[redacted\]" is not allowed/,
    );
    expect(problemsOf(() => resolveConfig({ sources: [{ path: '/a' }, { path: '/b' }, { path: '/a', format: 'auto' }] }))).toEqual([
      'sources.2: the same folder and options as sources.0',
    ]);
    expect(problemsOf(() => resolveConfig({ document: { sessionZone: 'Mars/Base' } }))[0]).toMatch(
      /^document\.sessionZone: "Mars\/Base" is not allowed \(time zone/,
    );
    expect(problemsOf(() => resolveConfig({ document: { indicators: { M5: ['rsi14', 'wma5'] } } }))).toEqual([
      expect.stringMatching(
        /^document\.indicators\.M5\.1: "wma5" is not allowed \(.*sma, ema, rsi, atr or bb with a period of 1-1000 \(rsi14\), macd, or vwap\)$/,
      ),
    ]);
    expect(problemsOf(() => resolveConfig({ document: { indicators: { W1: ['rsi14'] } } }))).toEqual([
      'document.indicators.W1: ["rsi14"] is not allowed (unknown key)',
    ]);
    expect(problemsOf(() => resolveConfig({ cache: { ttlMs: { bars: 0 } } }))[0]).toMatch(/^cache\.ttlMs\.bars: 0 is not allowed/);
  });

  it('docs/configuration.md documents every config key with its default', async () => {
    const page = await readFile(join(root, 'docs/configuration.md'), 'utf8');
    const rows = new Set([...page.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1]));
    const missing = schemaKeys(ConfigSchema).filter((key) => !rows.has(key));
    expect(missing).toEqual([]);
  });
});
