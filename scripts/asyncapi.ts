import { ConfigSchema } from '../src/app/config.js';
import { TIMEFRAMES } from '../src/model/document.js';
import { ERROR_CODES, type ErrorCode } from '../src/model/errors.js';
import { MAX_SYMBOL_LENGTH } from '../src/model/symbol-name.js';
import { VERSION } from '../src/model/version.js';
import { MAX_PART_LENGTH, MAX_VIEW_PARTS } from '../src/model/view.js';
import { EPOCH_PATTERN, SSE_ID_PATTERN } from '../src/model/wire.js';
import { MAX_SYMBOLS_PER_FRAME } from '../src/transports/client-frames.js';

/**
 * The AsyncAPI 3.0 description of the WebSocket and SSE messages (PROTOCOL.md §3, §4, §8), with
 * the limits and error codes taken from the code that enforces them. scripts/gen-asyncapi.ts
 * writes it to docs/asyncapi.json; test/e2e/asyncapi.test.ts checks that file is this document,
 * that it is a valid AsyncAPI 3.0 document, and that every message a running bridge sends
 * matches the schema of its kind.
 */

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** An object schema: every property named in `required`, the others optional. */
function object(properties: Record<string, Schema>, required: string[], description?: string): Schema {
  return { type: 'object', ...(description ? { description } : {}), required, properties };
}

/** Codes an error frame or notice carries: all but the HTTP-only ones. */
const STREAM_CODES = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => code !== 'NOT_FOUND' && code !== 'GONE');

const closeCodes = STREAM_CODES.flatMap((code) => {
  const entry: { status: number; close?: number } = ERROR_CODES[code];
  return entry.close === undefined ? [] : [`${code} ${entry.close}`];
}).join(', ');

const QUOTE = object(
  {
    bid: { type: 'number' },
    ask: { type: 'number' },
    last: { type: 'number' },
    lastSize: { type: 'number' },
    time: { type: 'number', description: 'Epoch ms; a fraction carries sub-millisecond precision.' },
  },
  [],
  'The latest top of book and last trade; a field the source never gave is absent.',
);

const BOOK = object(
  { bids: { type: 'array', items: ref('BookLevel') }, asks: { type: 'array', items: ref('BookLevel') }, time: { type: 'number' } },
  [],
  'Depth, best level first. A whole document has bids and asks; a view of /book/bids has only bids.',
);

/** What cluster.nodeId (--node-id) may be; a generated id is one too. */
const NODE_ID_PATTERN = (ConfigSchema.properties.cluster.properties.nodeId.anyOf[1] as { pattern: string }).pattern;

/** One segment of a JSON pointer (RFC 6901: `~0` is `~`, `~1` is `/`). */
const SEGMENT = '([^~/]|~[01])';
const keysOf = (schema: Schema): string => Object.keys(schema.properties as object).join('|');

/** Every pointer a view may name (src/model/view.ts), as one pattern. */
const PART_PATTERN = `^/(symbol|sources|quote(/(${keysOf(QUOTE)}))?|bars(/(${TIMEFRAMES.join('|')}))?|book(/(${keysOf(BOOK)}))?|indicators(/(${TIMEFRAMES.join('|')})(/${SEGMENT}+)?)?|fields(/${SEGMENT}*)?)$`;

const schemas: Record<string, Schema> = {
  Symbol: { type: 'string', minLength: 1, maxLength: MAX_SYMBOL_LENGTH, description: 'A symbol name, as the file or its content names it.' },
  Epoch: {
    type: 'string',
    pattern: EPOCH_PATTERN.source,
    description: "One lifetime of the bridge's state (PROTOCOL.md §2): it changes when the bridge restarts without its journal.",
  },
  Seq: {
    type: 'integer',
    minimum: 0,
    description: "The symbol's version, +1 per change of its document (a view's: the seq of the last commit that changed it).",
  },
  Timeframe: { type: 'string', enum: [...TIMEFRAMES] },
  Quote: QUOTE,
  Bar: object(
    {
      t: { type: 'number', description: 'Open time, epoch ms.' },
      o: { type: 'number' },
      h: { type: 'number' },
      l: { type: 'number' },
      c: { type: 'number' },
      v: { type: 'number' },
      n: { type: 'number', description: 'Trades.' },
      bv: { type: 'number', description: 'Bid volume.' },
      av: { type: 'number', description: 'Ask volume.' },
    },
    ['t', 'o', 'h', 'l', 'c', 'v'],
  ),
  BookLevel: {
    type: 'array',
    items: { type: 'number' },
    minItems: 2,
    maxItems: 3,
    description: '[price, size] or [price, size, orders]; levels read from .depth files always have orders.',
  },
  Book: BOOK,
  IndicatorValue: {
    anyOf: [
      { type: 'number' },
      object({ macd: { type: 'number' }, signal: { type: 'number' }, hist: { type: 'number' } }, ['macd', 'signal', 'hist']),
      object({ upper: { type: 'number' }, middle: { type: 'number' }, lower: { type: 'number' } }, ['upper', 'middle', 'lower']),
    ],
  },
  InstrumentDocument: object(
    {
      symbol: ref('Symbol'),
      sources: { type: 'array', items: { type: 'string' }, description: 'The formats feeding this symbol, sorted.' },
      quote: ref('Quote'),
      bars: {
        type: 'object',
        propertyNames: ref('Timeframe'),
        additionalProperties: { type: 'array', items: ref('Bar') },
        description: 'Rolling bar windows per timeframe, oldest first.',
      },
      book: ref('Book'),
      indicators: {
        type: 'object',
        propertyNames: ref('Timeframe'),
        additionalProperties: { type: 'object', additionalProperties: ref('IndicatorValue') },
        description: 'Values per timeframe, keyed `<name><period>` (`macd`, `vwap` without one); absent until warmed up.',
      },
      fields: { type: 'object', description: 'What a source carries that has no home above (text columns, JSON keys).' },
    },
    ['symbol', 'sources'],
    "A symbol's document (PROTOCOL.md §1). The whole document also always has quote, bars and fields; a view (§8) has symbol, sources and the parts it names that the document has.",
  ),
  PatchOperation: {
    description: 'An RFC 6902 operation; the bridge sends add, remove and replace. Paths are JSON pointers into the document.',
    oneOf: [
      object({ op: { type: 'string', enum: ['add', 'replace'] }, path: ref('JsonPointer'), value: {} }, ['op', 'path', 'value']),
      object({ op: { type: 'string', const: 'remove' }, path: ref('JsonPointer') }, ['op', 'path']),
    ],
  },
  JsonPointer: { type: 'string', pattern: '^(/([^~/]|~[01])*)*$' },
  Parts: {
    type: 'array',
    minItems: 1,
    maxItems: MAX_VIEW_PARTS,
    items: { type: 'string', pattern: PART_PATTERN, maxLength: MAX_PART_LENGTH },
    description:
      'A view (PROTOCOL.md §8): JSON pointers into the document, such as /quote, /quote/bid, /bars/M1, /book, /book/bids, /indicators/M5, /indicators/M5/rsi14, /fields/spread (a / in a name is ~1). Any other pointer gets BAD_REQUEST naming it, and the frame changes nothing.',
  },
  ErrorCode: {
    type: 'string',
    enum: STREAM_CODES,
    description: `Closing codes of the WebSocket after the frame: ${closeCodes} when the error ends the connection. A bad frame never closes it (but one above stream.maxFrameBytes: 1009).`,
  },
  SseId: {
    type: 'string',
    pattern: SSE_ID_PATTERN,
    description:
      '`<epoch>:<gseq>`, gseq counting commits across all symbols; `<epoch>:<gseq>:<base>` while a burst of snapshots is under way. On an edge node `<epoch>.<node>.<suffix>:<gseq>`, and `…~<node>.<suffix>:<gseq>` while it catches up a client coming from another edge (docs/cluster.md). Opaque: give it back as Last-Event-ID (or ?lastEventId=) to resume, on any edge.',
  },
  Hello: object(
    {
      type: { type: 'string', const: 'hello' },
      epoch: ref('Epoch'),
      server: { type: 'string', pattern: '^tapebridge/' },
      heartbeatMs: { type: 'integer', minimum: 1, description: 'The interval of WebSocket pings (control frames) the client must answer.' },
      node: {
        type: 'string',
        pattern: NODE_ID_PATTERN,
        description: 'The node that serves the connection (PROTOCOL.md §7): --node-id, else generated; with --redis, an ingest or edge node of the cluster.',
      },
    },
    ['type', 'epoch', 'server', 'heartbeatMs', 'node'],
  ),
  Snapshot: object(
    { type: { type: 'string', const: 'snapshot' }, symbol: ref('Symbol'), epoch: ref('Epoch'), seq: ref('Seq'), data: ref('InstrumentDocument') },
    ['type', 'symbol', 'epoch', 'seq', 'data'],
  ),
  Patch: object(
    {
      type: { type: 'string', const: 'patch' },
      symbol: ref('Symbol'),
      epoch: ref('Epoch'),
      seq: ref('Seq'),
      base: {
        ...ref('Seq'),
        description: "The seq of the version the patch applies to: seq - 1 on the whole document, the view's previous version on a view.",
      },
      ops: { type: 'array', items: ref('PatchOperation') },
    },
    ['type', 'symbol', 'epoch', 'seq', 'base', 'ops'],
  ),
  Pong: object({ type: { type: 'string', const: 'pong' }, id: { type: ['string', 'number', 'null'], description: "The ping's id." } }, ['type', 'id']),
  Error: object({ type: { type: 'string', const: 'error' }, code: ref('ErrorCode'), message: { type: 'string' } }, ['type', 'code', 'message']),
  Subscribe: object(
    {
      op: { type: 'string', const: 'subscribe' },
      symbols: { type: 'array', minItems: 1, maxItems: MAX_SYMBOLS_PER_FRAME, items: ref('Symbol'), description: '["*"]: every symbol, present and future.' },
      resume: {
        type: 'object',
        additionalProperties: object({ epoch: { type: 'string' }, seq: ref('Seq') }, ['epoch', 'seq']),
        description: 'Per symbol, the (epoch, seq) held: the patches after it are replayed while the journal holds them, else a snapshot is sent.',
      },
      parts: ref('Parts'),
    },
    ['op', 'symbols'],
  ),
  Unsubscribe: object(
    { op: { type: 'string', const: 'unsubscribe' }, symbols: { type: 'array', minItems: 1, maxItems: MAX_SYMBOLS_PER_FRAME, items: ref('Symbol') } },
    ['op', 'symbols'],
  ),
  Ping: object({ op: { type: 'string', const: 'ping' }, id: { type: ['string', 'number', 'null'] } }, ['op']),
  Summary: object(
    {
      type: { type: 'string', const: 'summary' },
      epoch: ref('Epoch'),
      time: { type: 'number', description: 'Epoch ms.' },
      intervalMs: { type: 'integer' },
      staleAfterMs: { type: 'integer' },
      health: object(
        {
          status: ref('HealthStatus'),
          counts: object({ HEALTHY: { type: 'integer' }, DEGRADED: { type: 'integer' }, UNHEALTHY: { type: 'integer' } }, ['HEALTHY', 'DEGRADED', 'UNHEALTHY']),
          components: {
            type: 'object',
            additionalProperties: {
              ...object({ status: ref('HealthStatus') }, ['status'], 'A component (hub, a watched folder, ...), with figures of its own.'),
              additionalProperties: true,
            },
          },
        },
        ['status', 'counts'],
        'The components appear for an admin token, or with tokens off.',
      ),
      symbols: { type: 'array', items: ref('SummaryRow'), description: 'Sorted by symbol; the symbols the token may see.' },
    },
    ['type', 'epoch', 'time', 'intervalMs', 'staleAfterMs', 'health', 'symbols'],
  ),
  SummaryRow: object(
    {
      symbol: ref('Symbol'),
      seq: ref('Seq'),
      last: { type: 'number' },
      bid: { type: 'number' },
      ask: { type: 'number' },
      change: { type: 'number', description: "The last minute's move: last (or the latest M1 close) minus the close of the M1 bar before the latest." },
      updatedAt: { type: 'number', description: 'Epoch ms of the last commit.' },
      updatesPerSecond: { type: 'number', description: 'Commits per second over the last five seconds; absent in the first summary.' },
    },
    ['symbol', 'seq', 'updatedAt'],
    'A value the source never gave is absent.',
  ),
  HealthStatus: { type: 'string', enum: ['HEALTHY', 'DEGRADED', 'UNHEALTHY'] },
};

const sseHeaders = (event: string, withId: boolean): Schema =>
  object(
    { event: { type: 'string', const: event }, ...(withId ? { id: ref('SseId') } : {}) },
    withId ? ['event', 'id'] : ['event'],
    withId ? 'The SSE fields of the event.' : 'The SSE fields of the event (no id: there is nothing to resume).',
  );

const message = (name: string, title: string, summary: string, payload: string, headers?: Schema): Schema => ({
  name,
  title,
  summary,
  contentType: 'application/json',
  ...(headers ? { headers } : {}),
  payload: ref(payload),
});

const messages: Record<string, Schema> = {
  subscribe: message(
    'subscribe',
    'Subscribe',
    'Subscribes to symbols (or * for all), optionally resuming from the versions held and as a view of some parts. Subscribing again re-sends the snapshot (or replays from resume) and switches to the parts given.',
    'Subscribe',
  ),
  unsubscribe: message('unsubscribe', 'Unsubscribe', 'Stops the symbols named; it does not affect a * subscription.', 'Unsubscribe'),
  ping: message('ping', 'Ping', 'Asks for a pong echoing id.', 'Ping'),
  hello: message('hello', 'Hello', 'The first message on every connection.', 'Hello'),
  snapshot: message('snapshot', 'Snapshot', 'A symbol (or its view) as of seq: the first message of each subscribed symbol, and after a gap.', 'Snapshot'),
  patch: message(
    'patch',
    'Patch',
    'The change from version base to version seq, as RFC 6902 operations; a client holding seq base applies it, ignores one with a seq it has, and treats any other as a gap.',
    'Patch',
  ),
  pong: message('pong', 'Pong', 'The answer to a ping.', 'Pong'),
  error: message('error', 'Error', 'A refused frame, or a condition of the connection (slow consumer, rate, tokens changed).', 'Error'),
  sseSnapshot: message('snapshot', 'SSE snapshot', 'A snapshot, as the data of an `event: snapshot`.', 'Snapshot', sseHeaders('snapshot', true)),
  ssePatch: message('patch', 'SSE patch', 'A patch, as the data of an `event: patch`.', 'Patch', sseHeaders('patch', true)),
  notice: message(
    'notice',
    'SSE notice',
    "What a WebSocket gets as an error frame, as the data of an `event: notice` (EventSource's own error event would be confused with it).",
    'Error',
    sseHeaders('notice', false),
  ),
  summary: message('summary', 'Dashboard summary', 'One row per symbol and the health, at dashboard.intervalMs.', 'Summary', sseHeaders('summary', false)),
};

const tokenQuery = { token: { type: 'string', description: 'A token, for a browser that cannot set Authorization.' } };

const channel = (address: string, description: string, server: string, names: string[], bindings?: Schema): Schema => ({
  address,
  description,
  servers: [{ $ref: `#/servers/${server}` }],
  messages: Object.fromEntries(names.map((name) => [name, { $ref: `#/components/messages/${name}` }])),
  ...(bindings ? { bindings } : {}),
});

const channels = {
  ws: channel(
    '/v1/ws',
    'JSON text frames both ways (PROTOCOL.md §3). A frame the bridge refuses gets an error frame and leaves the connection open.',
    'ws',
    ['subscribe', 'unsubscribe', 'ping', 'hello', 'snapshot', 'patch', 'pong', 'error'],
    { ws: { method: 'GET', query: object(tokenQuery, []), bindingVersion: '0.1.0' } },
  ),
  sse: channel(
    '/v1/sse',
    'Server-Sent Events (PROTOCOL.md §4): `retry: 1000`, then an event per message, each `data` one line of JSON. Comment lines keep idle connections alive. Refusals before the stream opens are HTTP errors ({"error": {"code", "message"}}).',
    'http',
    ['sseSnapshot', 'ssePatch', 'notice'],
  ),
  dashboard: channel('/v1/dashboard/sse', 'Server-Sent Events: a summary at once, then one every dashboard.intervalMs (PROTOCOL.md §4).', 'http', [
    'summary',
    'notice',
  ]),
};

const operation = (action: 'send' | 'receive', channelName: keyof typeof channels, names: string[], summary: string, extra: Schema = {}): Schema => ({
  action,
  channel: { $ref: `#/channels/${channelName}` },
  summary,
  messages: names.map((name) => ({ $ref: `#/channels/${channelName}/messages/${name}` })),
  ...extra,
});

const sseQuery = object(
  {
    symbols: { type: 'string', description: 'Comma-separated symbols, or *.' },
    parts: { type: 'string', description: 'Comma-separated parts: the whole stream is that view.' },
    lastEventId: { ...ref('SseId'), description: 'Where to resume, as the Last-Event-ID header says (which wins).' },
    ...tokenQuery,
  },
  ['symbols'],
);

const operations = {
  subscribe: operation('receive', 'ws', ['subscribe'], 'A client subscribes.'),
  unsubscribe: operation('receive', 'ws', ['unsubscribe'], 'A client unsubscribes.'),
  ping: operation('receive', 'ws', ['ping'], 'A client pings; the bridge answers with a pong.', {
    reply: { channel: { $ref: '#/channels/ws' }, messages: [{ $ref: '#/channels/ws/messages/pong' }] },
  }),
  sendHello: operation('send', 'ws', ['hello'], 'The bridge greets a connection.'),
  sendData: operation('send', 'ws', ['snapshot', 'patch'], 'Per symbol a snapshot first, then patches in order, each with its base.'),
  sendError: operation('send', 'ws', ['error'], 'The bridge refuses a frame or tells of a condition.'),
  streamEvents: operation('send', 'sse', ['sseSnapshot', 'ssePatch', 'notice'], 'The events of a GET /v1/sse?symbols=… stream.', {
    bindings: { http: { method: 'GET', query: sseQuery, bindingVersion: '0.3.0' } },
  }),
  streamSummaries: operation('send', 'dashboard', ['summary', 'notice'], 'The events of GET /v1/dashboard/sse.', {
    bindings: { http: { method: 'GET', query: object(tokenQuery, []), bindingVersion: '0.3.0' } },
  }),
};

const security = [{ $ref: '#/components/securitySchemes/bearer' }, { $ref: '#/components/securitySchemes/queryToken' }];

export function asyncApiDocument(): Record<string, unknown> {
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'tapebridge streams',
      version: VERSION,
      description:
        'The WebSocket and Server-Sent Events messages of tapebridge: live per-symbol JSON documents as a snapshot, then JSON Patches, resumable by (epoch, seq). The wire contract is PROTOCOL.md v1; docs/protocol.md says what this bridge adds. The HTTP routes are in docs/openapi.json. With tokens on, a connection without a valid token gets an UNAUTHORIZED error frame and close 4001 (SSE: HTTP 401).',
    },
    defaultContentType: 'application/json',
    servers: {
      ws: { host: '127.0.0.1:8080', protocol: 'ws', description: 'A bridge on its default address.', security },
      http: { host: '127.0.0.1:8080', protocol: 'http', description: 'The same bridge, for the SSE streams.', security },
    },
    channels,
    operations,
    components: {
      schemas,
      messages,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <token>.' },
        queryToken: { type: 'httpApiKey', name: 'token', in: 'query', description: '?token=<token>, for browsers.' },
      },
    },
  };
}
