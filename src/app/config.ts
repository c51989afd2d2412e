import { readFile } from 'node:fs/promises';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { INDICATOR_KEY_PATTERN } from '../derive/indicators/catalog.js';
import { FORMAT_NAMES } from '../formats/registry.js';
import { COLUMN_ROLES } from '../formats/types.js';
import { TimeZone } from '../model/zone.js';
import { TapeError } from '../model/errors.js';
import { TIMEFRAMES } from '../model/document.js';
import { DEFAULT_BREAKER } from '../core/circuit-breaker.js';
import { LOG_LEVELS } from '../core/logger.js';
import { READ_DEFAULTS } from '../watch/read-scheduler.js';

/** Node's timers take at most 2^31-1 ms: a longer delay fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;
/** Bound of the size keys that have no tighter one (1 TiB). */
const MAX_BYTES = 2 ** 40;
/** Bound of the count keys that have no tighter one. */
const MAX_COUNT = 1_000_000;
const Millis = (description: string, minimum = 0, maximum = MAX_TIMER_MS) => Type.Integer({ minimum, maximum, description });
const Bytes = (description: string, minimum = 1, maximum = MAX_BYTES) => Type.Integer({ minimum, maximum, description });
const Count = (description: string, minimum = 1, maximum = MAX_COUNT) => Type.Integer({ minimum, maximum, description });

const Choice = <const T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((value) => Type.Literal(value)),
    { description },
  );

const ColumnRefSchema = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ minLength: 1 })], {
  description: '1-based column number or header name',
});

/** A price multiplier: positive and finite, within bounds no instrument needs to leave. */
const PriceMultiplierSchema = (description: string) => Type.Number({ minimum: 1e-9, maximum: 1e9, description });

const SourceSchema = Type.Object(
  {
    path: Type.String({ minLength: 1, description: 'folder to watch' }),
    format: Type.Union([Type.Literal('auto'), ...FORMAT_NAMES.map((name) => Type.Literal(name))], {
      description: 'format of every file in the folder, or auto to detect per file',
    }),
    usePolling: Type.Boolean({ description: 'poll with stat instead of OS events (network shares)' }),
    pollIntervalMs: Millis('polling interval when usePolling is on', 10),
    depth: Type.Integer({ minimum: 0, maximum: 16, description: 'sub-folder levels watched' }),
    followSymlinks: Type.Boolean({ description: 'read links that lead out of the folder (links inside it are read either way)' }),
    include: Type.Array(Type.String({ minLength: 1 }), { description: 'globs of the files read, relative to path (all when empty)' }),
    encoding: Choice(['auto', 'utf8', 'utf16le', 'windows-1252'], 'text encoding, or auto to sniff per file'),
    delimiter: Choice(['auto', 'tab', '\t', ',', ';'], 'field delimiter of text files, or auto to sniff per file'),
    header: Type.Union([Type.Literal('auto'), Type.Boolean()], { description: 'whether text files start with a header line' }),
    timeZone: Type.String({ minLength: 1, description: 'zone of local times in text and MetaTrader files' }),
    timeFormat: Choice(['auto', 'ymd', 'dmy', 'mdy', 'epoch-s', 'epoch-ms'], 'how times are written'),
    timeframe: Choice(['auto', ...TIMEFRAMES], 'timeframe of the bars in text files, or auto to infer it'),
    columns: Type.Optional(
      Type.Object(Object.fromEntries(COLUMN_ROLES.map((role) => [role, Type.Optional(ColumnRefSchema)])), {
        additionalProperties: false,
        description: 'which columns of a CSV are what',
      }),
    ),
    json: Choice(['auto', 'symbol', 'map'], 'a JSON file holds one symbol or a map of symbols'),
    priceMultiplier: PriceMultiplierSchema('every price of .scid, .depth and Sierra text files is multiplied by this (native units: 0.01)'),
    symbols: Type.Object(
      {
        aliases: Type.Optional(Type.Record(Type.String(), Type.String({ minLength: 1 }), { description: 'symbol as the file names it → symbol published' })),
        rename: Type.Optional(
          Type.Array(Type.Object({ pattern: Type.String({ minLength: 1 }), replace: Type.String() }, { additionalProperties: false }), {
            description: 'regular expression replacements applied in order',
          }),
        ),
        priceMultipliers: Type.Optional(
          Type.Record(Type.String({ minLength: 1, maxLength: 128 }), PriceMultiplierSchema('price multiplier of this symbol'), {
            maxProperties: 10_000,
            description: "symbol as the file names it, or a pattern with * and ? → price multiplier (over the source's priceMultiplier)",
          }),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** A bearer token: its secret in clear (`token`) or as a SHA-256 hex digest (`sha256`), never both. */
export const TokenSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, description: 'who holds the token (in logs and messages)' }),
    token: Type.Optional(Type.String({ minLength: 16, description: 'the secret itself, at least 16 characters' })),
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'hex SHA-256 of the secret' })),
    symbols: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, description: 'symbol patterns allowed (* and ? wildcards)' }),
    ),
    admin: Type.Optional(Type.Boolean({ description: 'may read /metrics, /v1/stats and /v1/config and change the config' })),
  },
  { additionalProperties: false },
);

const WindowsSchema = Type.Partial(
  Type.Object(Object.fromEntries(TIMEFRAMES.map((tf) => [tf, Type.Integer({ minimum: 0, maximum: 100_000, description: 'bars kept (0: none)' })]))),
  { additionalProperties: false },
);

const IndicatorsSchema = Type.Partial(
  Type.Object(
    Object.fromEntries(
      TIMEFRAMES.map((tf) => [
        tf,
        Type.Array(Type.String({ pattern: INDICATOR_KEY_PATTERN, description: 'sma, ema, rsi, atr or bb with a period of 1-1000 (rsi14), macd, or vwap' }), {
          uniqueItems: true,
          description: 'indicators published for this timeframe',
        }),
      ]),
    ),
  ),
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'interface to listen on' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, description: 'TCP port (0 picks a free one)' }),
    sources: Type.Array(SourceSchema),
    watch: Type.Object(
      {
        debounceMs: Millis('change events closer together than this are one burst, read (again) this long after its last event, within maxWaitMs'),
        maxWaitMs: Millis('a file that keeps changing is still read at least this often', 1),
        leadingEdge: Type.Boolean({ description: 'the first change event of a burst reads the file at once (false: only after debounceMs of quiet)' }),
        trailingMs: Millis('re-read this long after a read that found data', 1),
        safetyPollMs: Millis('read every file at this interval regardless of events (0 disables)'),
        safetyPollFiles: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          description: 'files one safety poll reads at most (round robin; more files are each read less often)',
        }),
        readTimeoutMs: Type.Integer({
          minimum: 100,
          maximum: 600_000,
          description: 'a read running longer than this is stalled: DEGRADED (UNHEALTHY at 10 times, or 3 files stalled)',
        }),
        retryBaseMs: Millis('first retry delay for a locked or half-written file', 1),
        retryMaxMs: Millis('longest retry delay', 1),
        chunkBytes: Bytes('largest single read while catching up', 4096, 256 * 1024 * 1024),
        maxWholeBytes: Bytes('largest whole-file (JSON) source (a JavaScript string holds at most 512 MiB)', 1, 512 * 1024 * 1024),
        maxFutureMs: Millis(
          'records stamped further ahead of the clock than this are refused (allows for clocks apart, not for a wrong timeZone)',
          0,
          7 * 24 * 3_600_000,
        ),
        maxPastMs: Millis("after a file's first read, records older than the newest it gave by more than this are refused (history at start is not)", 60_000),
        maxBackfillBytes: Bytes('most history read from an existing file at start', 4096),
        tailFirstBytes: Bytes(
          'at start, a file without a checkpoint to go on from is served from its last this-many bytes first, and the history before them is read in the background (0: all of it before serving)',
          0,
        ),
      },
      { additionalProperties: false },
    ),
    document: Type.Object(
      {
        bars: WindowsSchema,
        sessionZone: Type.String({ minLength: 1, description: 'time zone whose midnight starts D1 bars and VWAP sessions' }),
        indicators: IndicatorsSchema,
        bookLevels: Type.Integer({ minimum: 1, maximum: 1000, description: 'book levels published per side' }),
        maxSymbolsPerFile: Count('symbols one file may feed; the rest of its symbols are refused (DEGRADED)'),
        maxSymbols: Count('symbols the bridge holds; new ones beyond are refused (DEGRADED)'),
      },
      { additionalProperties: false },
    ),
    cache: Type.Object(
      {
        maxBytes: Bytes('bytes of answers the on-demand cache holds at most (least recently used evicted beyond)', 1024),
        ttlMs: Type.Object(
          {
            bars: Millis('how long a cached bars answer is kept', 1),
            indicators: Millis('how long a cached indicators answer is kept', 1),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
    journal: Type.Object(
      {
        size: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'patches kept per symbol for resume' }),
        maxBytesPerSymbol: Bytes('bytes of patches kept per symbol for resume; the oldest are dropped beyond', 1024),
        maxBytes: Bytes('bytes of patches kept for resume in all; the oldest of all are dropped beyond', 1024),
        persistDir: Type.Union([Type.Null(), Type.String({ minLength: 1, description: 'a folder where the state is saved at shutdown and read at start' })]),
        checkpointMs: Millis(
          'how often, while something changed, the checkpoint of where each file was read is written to persistDir; 0: only at shutdown',
          0,
          3_600_000,
        ),
        checkpointMaxBytes: Bytes(
          'largest checkpoint written or read; a larger one is skipped with a warning (files are then read whole at the next start)',
          65_536,
        ),
      },
      { additionalProperties: false },
    ),
    stream: Type.Object(
      {
        heartbeatMs: Millis('WebSocket ping and SSE comment interval', 100),
        highWaterBytes: Bytes('a client with more unsent bytes than this is a slow consumer'),
        lowWaterBytes: Bytes('a slow consumer resumes once its backlog is below this'),
        slowConsumer: Type.Union([Type.Literal('resnapshot'), Type.Literal('close')], {
          description: 'drop the backlog and send fresh snapshots, or close (4008)',
        }),
        slowCloseAfterMs: Millis('a slow consumer that does not drain within this is closed', 1),
        maxMessageBytes: Bytes('client frames above this get a BAD_REQUEST error', 64, 1024 * 1024 * 1024),
        maxFrameBytes: Bytes('client frames above this close the connection (1009)', 64, 1024 * 1024 * 1024),
        maxConnections: Count('WebSocket and SSE connections at once; more are refused (OVERLOADED)'),
        maxSubscriptions: Count('symbols one connection may subscribe to (* counts as one)'),
        messagesPerSecond: Count('client frames per second per WebSocket (token bucket refill)'),
        messageBurst: Count('client frames a WebSocket may send at once (token bucket size)'),
        rateLimitCloseAfter: Count('frames refused in a row (RATE_LIMITED) before the connection is closed (4029)'),
        flushWindowMs: Millis(
          'while changes keep coming, each connection is written at most once per this many ms, joining them (0: once per event-loop turn)',
          0,
          100,
        ),
        compression: Type.Object(
          {
            websocket: Type.Boolean({
              description:
                'negotiate permessage-deflate with WebSocket clients that offer it (read at start; each connection compresses its own frames, see docs/benchmarks.md)',
            }),
            http: Type.Boolean({
              description: 'answer HTTP requests with brotli or gzip when the client asks (Accept-Encoding; read at start); SSE is never compressed',
            }),
            thresholdBytes: Bytes('answers and WebSocket messages smaller than this are sent uncompressed', 0, 16 * 1024 * 1024),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
    cluster: Type.Object(
      {
        redis: Type.Union([
          Type.Null(),
          Type.String({
            pattern: '^rediss?://',
            maxLength: 2048,
            description:
              'Redis to publish to (with sources: an ingest node) or to serve from (without: an edge node); redis:// or rediss:// (TLS), credentials in the URL; read at start',
          }),
        ]),
        nodeId: Type.Union([
          Type.Null(),
          Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: "this node's name in the cluster and in hello (generated when null); read at start" }),
        ]),
        prefix: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,32}$', description: 'what every key and channel of the namespace begins with; read at start' }),
        leaseMs: Millis("how long a symbol's writer holds it unrenewed: a standby ingest takes over within this; read at start", 500, 600_000),
        documentEvery: Count(
          "a symbol's whole document is stored in Redis every this many versions, lagging the top by this to twice this many (the stream holds the versions after it, and an edge starting from it can resume clients from at least this many versions back); read at start",
          1,
          100_000,
        ),
        maxMessageBytes: Bytes('largest message or document taken from Redis; a larger one is refused as bad data; read at start', 1024, 1024 * 1024 * 1024),
      },
      { additionalProperties: false },
    ),
    http: Type.Object(
      {
        maxWaitMs: Millis('longest long poll (waitMs) accepted', 0),
        origins: Type.Array(Type.String({ minLength: 1, description: 'an origin such as http://localhost:3000, or *' }), {
          description: 'browser origins allowed (CORS and WebSocket Origin)',
        }),
        maxConnections: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          description: 'TCP connections at once, of every kind (also kept below the descriptor limit minus http.reservedDescriptors); more get 503 OVERLOADED',
        }),
        maxConnectionsPerAddress: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          description: 'TCP connections at once from one client address; more get 503 OVERLOADED',
        }),
        headersTimeoutMs: Millis("a client has this long to send a request's headers; the connection is then closed", 100, 600_000),
        idleTimeoutMs: Millis('a connection without a request in flight (and not a stream) is closed after this long', 100, 600_000),
        reservedDescriptors: Type.Integer({
          minimum: 16,
          maximum: 65_536,
          description: 'file descriptors kept free of connections for reading files (read at start)',
        }),
        allowedHosts: Type.Array(
          Type.String({
            minLength: 1,
            maxLength: 253,
            pattern: '^(\\*|[A-Za-z0-9.-]+)$',
            description: 'a host name the bridge is reached by (no port), or * for any',
          }),
          {
            maxItems: 256,
            description: 'Host header names accepted besides the bound address and loopback names (DNS rebinding)',
          },
        ),
        rateLimit: Type.Object(
          {
            max: Count('HTTP requests per client address per window', 1, 1_000_000_000),
            windowMs: Millis('rate limit window', 1),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
    log: Type.Object(
      {
        level: Type.Union(LOG_LEVELS.map((level) => Type.Literal(level))),
        format: Choice(
          ['auto', 'json', 'pretty'],
          'log lines as JSON, or human (time, level, component, message, file and offset); auto: human on a terminal (read at start)',
        ),
      },
      { additionalProperties: false },
    ),
    dashboard: Type.Object(
      {
        intervalMs: Millis('interval of the summary events of /v1/dashboard/sse', 50),
        staleAfterMs: Millis('the dashboard marks a symbol stale after this long without an update', 1),
      },
      { additionalProperties: false },
    ),
    breaker: Type.Object(
      {
        failureThreshold: Count("failed reads in a row that open a file's breaker", 1, 10_000),
        coolDownMs: Millis('how long an open breaker keeps the file unread', 1),
        retryBaseMs: Millis('first retry after a failed read (doubles)', 1),
        retryMaxMs: Millis('longest retry interval after failed reads', 1),
      },
      { additionalProperties: false },
    ),
    health: Type.Object(
      {
        intervalMs: Millis('how often health is evaluated (notifications, event-loop window)', 100),
        eventLoopDegradedMs: Millis('event-loop delay p99 above this is DEGRADED', 1),
        eventLoopUnhealthyMs: Millis('event-loop delay p99 above this is UNHEALTHY', 1),
        maxRssBytes: Type.Union([Type.Null(), Bytes('resident memory above this is DEGRADED')]),
      },
      { additionalProperties: false },
    ),
    notify: Type.Object(
      {
        webhookUrl: Type.Union([Type.Null(), Type.String({ pattern: '^https?://', description: 'an http(s) URL' })]),
        webhookHeaders: Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), Type.String(), {
          description: 'extra request headers (for example Authorization)',
        }),
        timeoutMs: Millis('one webhook request may take this long', 1),
        retries: Type.Integer({ minimum: 0, maximum: 20, description: 'retries of a failed webhook request' }),
        retryBaseMs: Millis('first webhook retry delay (doubles)', 1),
        queueSize: Count('notifications waiting to be sent; the oldest is dropped beyond', 1, 100_000),
      },
      { additionalProperties: false },
    ),
    auth: Type.Object(
      {
        tokens: Type.Array(TokenSchema),
        tokensFile: Type.Union([Type.Null(), Type.String({ minLength: 1, description: 'a JSON file of tokens with sha256 hashes' })]),
        openHealth: Type.Boolean({ description: '/health answers without a token' }),
        insecureNoAuth: Type.Boolean({ description: 'start on a non-loopback address without tokens (the whole API open to the network)' }),
      },
      { additionalProperties: false },
    ),
    shutdownTimeoutMs: Millis('longest graceful shutdown before the process exits anyway', 100),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type SourceConfig = Static<typeof SourceSchema>;
export type TokenConfig = Static<typeof TokenSchema>;

/** Every default, in one place. */
export const DEFAULT_CONFIG: Config = {
  host: '127.0.0.1',
  port: 8080,
  sources: [],
  watch: {
    debounceMs: 3,
    maxWaitMs: 25,
    trailingMs: 30,
    safetyPollMs: 1000,
    ...READ_DEFAULTS,
    retryBaseMs: 5,
    retryMaxMs: 1000,
    chunkBytes: 1024 * 1024,
    maxWholeBytes: 16 * 1024 * 1024,
    maxBackfillBytes: 64 * 1024 * 1024,
    tailFirstBytes: 256 * 1024,
    maxFutureMs: 10 * 60_000,
    maxPastMs: 24 * 3_600_000,
  },
  document: {
    bars: { M1: 200, M5: 100, M15: 50, H1: 24 },
    sessionZone: 'UTC',
    indicators: {
      M5: ['rsi14', 'ema20', 'atr14', 'macd'],
      M15: ['rsi14', 'ema20', 'atr14', 'macd'],
      H1: ['rsi14', 'ema20', 'atr14'],
    },
    bookLevels: 10,
    maxSymbolsPerFile: 1000,
    maxSymbols: 10_000,
  },
  cache: { maxBytes: 50 * 1024 * 1024, ttlMs: { bars: 60_000, indicators: 60_000 } },
  journal: {
    size: 1000,
    maxBytesPerSymbol: 8 * 1024 * 1024,
    maxBytes: 256 * 1024 * 1024,
    persistDir: null,
    checkpointMs: 5000,
    checkpointMaxBytes: 256 * 1024 * 1024,
  },
  stream: {
    heartbeatMs: 15_000,
    highWaterBytes: 1024 * 1024,
    lowWaterBytes: 256 * 1024,
    slowConsumer: 'resnapshot',
    slowCloseAfterMs: 30_000,
    maxMessageBytes: 16 * 1024,
    maxFrameBytes: 1024 * 1024,
    maxConnections: 10_000,
    maxSubscriptions: 1000,
    messagesPerSecond: 100,
    messageBurst: 200,
    rateLimitCloseAfter: 100,
    flushWindowMs: 2,
    compression: { websocket: false, http: true, thresholdBytes: 1024 },
  },
  cluster: { redis: null, nodeId: null, prefix: 'tb', leaseMs: 5000, documentEvery: 100, maxMessageBytes: 64 * 1024 * 1024 },
  http: {
    maxWaitMs: 30_000,
    origins: [],
    maxConnections: 10_000,
    maxConnectionsPerAddress: 1024,
    headersTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
    reservedDescriptors: 256,
    allowedHosts: [],
    rateLimit: { max: 1000, windowMs: 1000 },
  },
  log: { level: 'info', format: 'auto' },
  dashboard: { intervalMs: 1000, staleAfterMs: 15_000 },
  breaker: { ...DEFAULT_BREAKER },
  health: { intervalMs: 5000, eventLoopDegradedMs: 200, eventLoopUnhealthyMs: 1000, maxRssBytes: 1024 * 1024 * 1024 },
  notify: { webhookUrl: null, webhookHeaders: {}, timeoutMs: 5000, retries: 3, retryBaseMs: 1000, queueSize: 100 },
  auth: { tokens: [], tokensFile: null, openHealth: true, insecureNoAuth: false },
  shutdownTimeoutMs: 5000,
};

export const DEFAULT_SOURCE: Omit<SourceConfig, 'path'> = {
  format: 'auto',
  usePolling: false,
  pollIntervalMs: 1000,
  depth: 2,
  followSymlinks: false,
  include: [],
  encoding: 'auto',
  delimiter: 'auto',
  header: 'auto',
  timeZone: 'UTC',
  timeFormat: 'auto',
  timeframe: 'auto',
  json: 'auto',
  priceMultiplier: 1,
  symbols: { aliases: {}, rename: [] },
};

/** What a ConfigError says went wrong: the config (CONFIG_INVALID by default), its file, or the tokens. */
export type ConfigErrorCode = 'CONFIG_INVALID' | 'CONFIG_UNREADABLE' | 'TOKENS_INVALID';

export class ConfigError extends TapeError {
  declare readonly code: ConfigErrorCode;

  constructor(
    readonly problems: string[],
    { code = 'CONFIG_INVALID', cause }: { code?: ConfigErrorCode; cause?: unknown } = {},
  ) {
    // One problem is one line (the CLI prints it as such); several are listed under it.
    super(
      code,
      problems.length === 1 ? `invalid configuration: ${problems[0]}` : `invalid configuration:\n  ${problems.join('\n  ')}`,
      cause === undefined ? undefined : { cause },
    );
    this.name = 'ConfigError';
  }
}

/** A config layer as given: any part of the config, sources without their defaults. */
export type ConfigLayer = Record<string, unknown>;

/**
 * Merges layers over the defaults (objects deeply, arrays and values replaced), fills
 * each source's defaults, and validates the result. Throws ConfigError naming every
 * offending key, its value and what is allowed.
 */
export function resolveConfig(...layers: ConfigLayer[]): Config {
  let merged: unknown = structuredClone(DEFAULT_CONFIG);
  for (const layer of layers) merged = mergeDeep(merged, layer);
  if (isObject(merged) && Array.isArray(merged.sources)) {
    merged.sources = (merged.sources as unknown[]).map((source) => (isObject(source) ? { ...DEFAULT_SOURCE, ...source } : source));
  }
  const problems = [...Value.Errors(ConfigSchema, merged)].map(
    (error) => `${keyName(error.path)}: ${JSON.stringify(redactedValue(error.path, error.value))} is not allowed (${allowed(error.schema, error.message)})`,
  );
  if (problems.length > 0) throw new ConfigError(dedupe(problems));
  const config = merged as Config;
  const conflicts = [
    ...notAbove(config, 'stream.lowWaterBytes', 'stream.highWaterBytes'),
    ...notAbove(config, 'stream.maxMessageBytes', 'stream.maxFrameBytes'),
    ...notAbove(config, 'breaker.retryBaseMs', 'breaker.retryMaxMs'),
    ...notAbove(config, 'health.eventLoopDegradedMs', 'health.eventLoopUnhealthyMs'),
    ...tokenProblems(config.auth.tokens, 'auth.tokens'),
    ...repeatedSources(config.sources),
    ...sourceProblems(config.sources),
    ...zoneProblems('document.sessionZone', config.document.sessionZone),
  ];
  if (conflicts.length > 0) throw new ConfigError(conflicts);
  return deepFreeze(config);
}

/** The value at a dotted key path (`stream.highWaterBytes`). */
export function valueAt(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) current = isObject(current) ? current[key] : undefined;
  return current;
}

function notAbove(config: Config, lower: string, upper: string): string[] {
  const low = valueAt(config, lower) as number;
  const high = valueAt(config, upper) as number;
  return low > high ? [`${lower}: ${low} must not exceed ${upper} (${high})`] : [];
}

/** JSON with object keys in sorted order: equal values give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    isObject(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : inner,
  );
}

/** Two sources with the same folder and options would read every file twice. */
function repeatedSources(sources: readonly SourceConfig[]): string[] {
  const keys = sources.map(stableJson);
  return keys.flatMap((key, index) => {
    const first = keys.indexOf(key);
    return first < index ? [`sources.${index}: the same folder and options as sources.${first}`] : [];
  });
}

/** Each token has exactly one secret (clear or hashed) and a name of its own. */
function tokenProblems(tokens: readonly TokenConfig[], where: string): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  tokens.forEach((token, index) => {
    if ((token.token === undefined) === (token.sha256 === undefined)) {
      problems.push(`${where}.${index}: give exactly one of token (the secret) or sha256 (its hex SHA-256)`);
    }
    if (names.has(token.name)) problems.push(`${where}.${index}.name: ${JSON.stringify(token.name)} is used by another token`);
    names.add(token.name);
  });
  return problems;
}

/** A time zone Intl knows (TimeZone.parse). */
function zoneProblems(key: string, zone: string): string[] {
  try {
    TimeZone.parse(zone);
    return [];
  } catch (error) {
    return [`${key}: ${JSON.stringify(zone)} is not allowed (${(error as Error).message})`];
  }
}

/** What the schema cannot check: time zones Intl knows, and patterns that compile. */
function sourceProblems(sources: readonly SourceConfig[]): string[] {
  const problems: string[] = [];
  sources.forEach((source, index) => {
    problems.push(...zoneProblems(`sources.${index}.timeZone`, source.timeZone));
    (source.symbols.rename ?? []).forEach((rule, at) => {
      try {
        new RegExp(rule.pattern);
      } catch (error) {
        problems.push(`sources.${index}.symbols.rename.${at}.pattern: ${JSON.stringify(rule.pattern)} is not allowed (${(error as Error).message})`);
      }
    });
  });
  return problems;
}

/** Reads a JSON config file as a layer. */
export async function readConfigFile(path: string): Promise<ConfigLayer> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read config file ${path}: ${(error as Error).message}`], { code: 'CONFIG_UNREADABLE', cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // The parser's message quotes the text around the fault, which may be a secret: not kept as the cause either (the log prints causes).
    throw new ConfigError([`config file ${path} is not valid JSON${jsonErrorPlace(error)}`], { code: 'CONFIG_UNREADABLE' });
  }
  if (!isObject(value)) throw new ConfigError([`config file ${path} must hold a JSON object`], { code: 'CONFIG_UNREADABLE' });
  return value;
}

/** What a token may hold besides its secret: every other key's value is taken as a secret (a misspelled `token`). */
const TOKEN_CLEAR_KEYS = new Set(['name', 'symbols', 'admin']);
const SECRET_KEY = /token|sha256|secret|password|authorization|cookie|api[-_]?key/i;
const REDACTED_VALUE = '[redacted]';

/**
 * `value` as a config error may show it: with the secrets it may hold replaced (a token's
 * secret or hash, any key of a token but its name, symbols and admin flag, webhook header
 * values, any key named like a secret). `path` is the value's JSON pointer (`/auth/tokens/0/tokne`).
 */
export function redactedValue(path: string, value: unknown): unknown {
  const keys = path.split('/').slice(1);
  return redactAt(keys, value);
}

function redactAt(keys: string[], value: unknown): unknown {
  const last = keys[keys.length - 1] ?? '';
  const inToken = (keys[0] === 'auth' && keys[1] === 'tokens') || keys[0] === 'tokens';
  const tokenKey = inToken ? keys[keys[0] === 'auth' ? 3 : 2] : undefined;
  if (tokenKey !== undefined && !TOKEN_CLEAR_KEYS.has(tokenKey)) return REDACTED_VALUE;
  if (keys[0] === 'notify' && keys[1] === 'webhookHeaders' && keys.length >= 3) return REDACTED_VALUE;
  if (keys[0] === 'cluster' && last === 'redis' && typeof value === 'string' && /\/\/[^/]*@/.test(value)) return REDACTED_VALUE;
  if (SECRET_KEY.test(last) && last !== 'tokens' && last !== 'tokensFile') return REDACTED_VALUE;
  if (Array.isArray(value)) return value.map((item, index) => redactAt([...keys, String(index)], item));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactAt([...keys, key], item)]));
  return value;
}

/** Where JSON.parse stopped, from its message (which otherwise quotes the text). */
export function jsonErrorPlace(error: unknown): string {
  const position = /position (\d+)/.exec((error as Error).message);
  return position ? ` (stops at byte ${position[1]})` : '';
}

function keyName(path: string): string {
  return path === '' ? '(root)' : path.slice(1).replace(/\//g, '.');
}

function allowed(schema: TSchema, message: string): string {
  if (message === 'Unexpected property') return 'unknown key';
  const options = Array.isArray(schema.anyOf) ? `expected ${(schema.anyOf as TSchema[]).map(describeOption).join(' or ')}` : message;
  return schema.description ? `${options}; ${schema.description}` : options;
}

function describeOption(option: TSchema): string {
  if (option.const !== undefined) return JSON.stringify(option.const);
  const bounds = [
    typeof option.minimum === 'number' ? `>= ${option.minimum}` : '',
    typeof option.maximum === 'number' ? `<= ${option.maximum}` : '',
    typeof option.pattern === 'string' ? `matching ${option.pattern}` : '',
  ].filter(Boolean);
  const described = [String(option.type), ...bounds].join(' ');
  return option.description ? `${described} (${option.description})` : described;
}

function dedupe(problems: string[]): string[] {
  return [...new Set(problems)];
}

/** Merges `layer` over `base`: objects deeply, arrays and values replaced. */
export function mergeDeep(base: unknown, layer: unknown): unknown {
  if (!isObject(base) || !isObject(layer)) return layer === undefined ? base : layer;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(layer)) out[key] = mergeDeep(base[key], value);
  return out;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
