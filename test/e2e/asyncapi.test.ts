import { readFile } from 'node:fs/promises';
import specs from '@asyncapi/specs';
import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { asyncApiDocument } from '../../scripts/asyncapi.js';
import { EventReader } from '../security/tokens-bridge.js';
import { startTestBridge } from '../helpers/bridge.js';
import { WsClient, type ServerMessage } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';

/**
 * docs/asyncapi.json against a running bridge: every message its WebSocket and SSE streams send
 * (and every frame the test sends it) is checked against the schema of its kind in the
 * document, with no property the document does not name, and every kind the document lists
 * is seen.
 */

type Json = Record<string, unknown>;
interface AsyncApi {
  asyncapi: string;
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  operations: Record<string, { action: string; channel: { $ref: string }; messages: { $ref: string }[]; reply?: { messages: { $ref: string }[] } }>;
  components: { schemas: Record<string, Json>; messages: Record<string, { payload: Json; headers?: Json }> };
}

const OPS = 'ops-token-0123456789abcdef';
const FX = 'fx-token-0123456789abcdef';
const ops = { name: 'ops', token: OPS, admin: true };
const fx = { name: 'fx', token: FX, symbols: ['EUR*', 'XAU*'] };
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Follows a local `#/…` reference in the document. */
function resolve(document: unknown, ref: string): unknown {
  expect(ref.startsWith('#/'), ref).toBe(true);
  let value = document;
  for (const key of ref.slice(2).split('/')) {
    value = (value as Json | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')];
    expect(value, `${ref} leads nowhere`).toBeDefined();
  }
  return value;
}

/** The schemas of the document, with their references made absolute, in one Ajv. */
function schemaChecker(document: AsyncApi): (schema: Json) => ValidateFunction {
  const absolute = (value: unknown): unknown => JSON.parse(JSON.stringify(value).replace(/"#\/components\/schemas\//g, '"asyncapi#/definitions/'));
  // Strict: a keyword Ajv does not know in the document's schemas is a mistake in them.
  const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true });
  ajv.addSchema({ $id: 'asyncapi', definitions: absolute(document.components.schemas) as Json });
  return (schema) => ajv.compile(absolute(schema) as Json);
}

/** Paths of properties in `value` that `schema` does not name (objects with listed properties only). */
function undocumented(document: AsyncApi, value: unknown, schema: Json, path = ''): string[] {
  if (typeof schema.$ref === 'string') return undocumented(document, value, resolve(document, schema.$ref) as Json, path);
  if (Array.isArray(value)) {
    const items = schema.items as Json | undefined;
    return items ? value.flatMap((item, index) => undocumented(document, item, items, `${path}/${index}`)) : [];
  }
  if (typeof value !== 'object' || value === null) return [];
  const properties = schema.properties as Record<string, Json> | undefined;
  const additional = schema.additionalProperties as Json | boolean | undefined;
  return Object.entries(value).flatMap(([key, inner]) => {
    const named = properties?.[key] ?? (typeof additional === 'object' ? additional : undefined);
    if (named) return undocumented(document, inner, named, `${path}/${key}`);
    return properties && additional !== true ? [`${path}/${key}`] : [];
  });
}

/** Records each message against its kind's schema: what failed, and which kinds were seen. */
class Checker {
  readonly failures: string[] = [];
  readonly seen = new Map<string, number>();
  readonly #payloads = new Map<string, ValidateFunction>();
  readonly #headers = new Map<string, ValidateFunction>();

  constructor(readonly document: AsyncApi) {
    const compile = schemaChecker(document);
    for (const [name, message] of Object.entries(document.components.messages)) {
      this.#payloads.set(name, compile(message.payload));
      if (message.headers) this.#headers.set(name, compile(message.headers));
    }
  }

  /** Whether `payload` is valid as the message `kind` (without recording it). */
  valid(kind: string, payload: unknown): boolean {
    return (this.#payloads.get(kind) as ValidateFunction)(payload);
  }

  check(channel: string, kind: string, payload: unknown, headers?: Json): void {
    const where = `${channel} ${kind} ${JSON.stringify(payload).slice(0, 300)}`;
    const message = this.document.components.messages[kind];
    if (!message || !(kind in (this.document.channels[channel]?.messages ?? {}))) {
      this.failures.push(`${where}: not a message of channel ${channel}`);
      return;
    }
    this.seen.set(kind, (this.seen.get(kind) ?? 0) + 1);
    const validate = this.#payloads.get(kind) as ValidateFunction;
    if (!validate(payload)) this.failures.push(`${where}: ${JSON.stringify(validate.errors)}`);
    const extra = undocumented(this.document, payload, message.payload);
    if (extra.length > 0) this.failures.push(`${where}: undocumented ${extra.join(', ')}`);
    const validateHeaders = this.#headers.get(kind);
    if (validateHeaders && !validateHeaders(headers ?? {}))
      this.failures.push(`${where} headers ${JSON.stringify(headers)}: ${JSON.stringify(validateHeaders.errors)}`);
  }

  /** A server message of the WebSocket: its kind is its type. */
  ws(message: ServerMessage): void {
    this.check('ws', message.type, message);
  }

  /** An SSE event of /v1/sse or the dashboard stream: its kind follows from the event name. */
  sse(channel: 'sse' | 'dashboard', reader: EventReader): void {
    const kinds: Record<string, string> = { snapshot: 'sseSnapshot', patch: 'ssePatch', notice: 'notice', summary: 'summary' };
    for (const { event, id, data } of reader.events) {
      this.check(channel, kinds[event] ?? event, data, { event, ...(id !== undefined ? { id } : {}) });
    }
  }

  /** A frame the test sends, checked before it goes. */
  send(client: WsClient, kind: string, frame: Json): void {
    this.check('ws', kind, frame);
    client.send(frame);
  }
}

/** The bridge over TerminalFiles' three symbols, with an admin token and one that sees EUR* and XAU*. */
async function securedBridge() {
  const dir = await tempDir();
  const files = new TerminalFiles(dir);
  await files.create();
  const bridge = await startTestBridge([dir], { auth: { tokens: [ops, fx] }, dashboard: { intervalMs: 50 } });
  return { bridge, files };
}

/** One round of file changes, committed. */
async function step(bridge: Awaited<ReturnType<typeof startTestBridge>>, files: TerminalFiles): Promise<void> {
  const seq = bridge.store.get('EURUSD')?.seq ?? 0;
  await files.step();
  await waitFor('the round to be committed', () => (bridge.store.get('EURUSD')?.seq ?? 0) > seq);
}

describe('docs/asyncapi.json', () => {
  it('is what npm run docs:asyncapi writes, and a valid AsyncAPI 3.0 document whose references all resolve', async () => {
    const document = JSON.parse(await readFile('docs/asyncapi.json', 'utf8')) as AsyncApi;
    expect(document, 'docs/asyncapi.json is not current: run npm run docs:asyncapi').toEqual(asyncApiDocument());
    expect(document.asyncapi).toBe('3.0.0');

    // The official schema bundles the draft-07 meta-schema it is written in: Ajv's own would clash.
    const ajv = new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false });
    // ajv-formats is CommonJS: its function is the module's default export.
    formats.default(ajv);
    const validate = ajv.compile(specs.schemas['3.0.0'] as Json);
    expect(validate(document), JSON.stringify(validate.errors, null, 2)).toBe(true);

    expect(Object.values(document.channels).map((channel) => channel.address)).toEqual(['/v1/ws', '/v1/sse', '/v1/dashboard/sse']);
    const used = new Set<string>();
    for (const [name, operation] of Object.entries(document.operations)) {
      const channel = resolve(document, operation.channel.$ref) as AsyncApi['channels'][string];
      for (const { $ref } of [...operation.messages, ...(operation.reply?.messages ?? [])]) {
        expect($ref.startsWith(`${operation.channel.$ref}/messages/`), `${name}: ${$ref} is not a message of its channel`).toBe(true);
        resolve(document, $ref);
        used.add($ref);
      }
      expect(['send', 'receive']).toContain(operation.action);
      expect(channel.messages).toBeDefined();
    }
    // Every message of every channel is a component message that some operation sends or receives.
    for (const [channelName, channel] of Object.entries(document.channels)) {
      for (const [name, { $ref }] of Object.entries(channel.messages)) {
        resolve(document, $ref);
        expect(used, `#/channels/${channelName}/messages/${name} is in no operation`).toContain(`#/channels/${channelName}/messages/${name}`);
      }
    }
    // The client's frames are what the bridge receives, the rest what it sends.
    const received = Object.values(document.operations)
      .filter((operation) => operation.action === 'receive')
      .flatMap((operation) => operation.messages.map(({ $ref }) => $ref.split('/').at(-1)));
    expect(received.sort()).toEqual(['ping', 'subscribe', 'unsubscribe']);
  });

  it('describes every message a running bridge sends on its WebSocket, SSE and dashboard streams, and every kind it lists is sent', async () => {
    const document = JSON.parse(await readFile('docs/asyncapi.json', 'utf8')) as AsyncApi;
    const checker = new Checker(document);
    const { bridge, files } = await securedBridge();
    const url = bridge.url;

    // The admin: everything, a view of one symbol, pings, refused frames.
    const admin = await WsClient.connect(url, '/v1/ws', bearer(OPS));
    checker.send(admin, 'subscribe', { op: 'subscribe', symbols: ['*'] });
    await waitFor('three snapshots', () => admin.of('snapshot').length === 3);
    const viewer = await WsClient.connect(url, `/v1/ws?token=${OPS}`);
    checker.send(viewer, 'subscribe', { op: 'subscribe', symbols: ['EURUSD'], parts: ['/quote', '/bars/M1'] });
    checker.send(viewer, 'ping', { op: 'ping', id: 7 });
    checker.send(viewer, 'ping', { op: 'ping' });
    await waitFor('the view and two pongs', () => viewer.of('snapshot').length === 1 && viewer.of('pong').length === 2);
    expect(Object.keys(viewer.of('snapshot')[0]?.data as object).sort()).toEqual(['bars', 'quote', 'sources', 'symbol']);
    expect(viewer.of('pong').map((pong) => pong.id)).toEqual([7, null]);

    // The fx token: one symbol it may not see (FORBIDDEN), an unknown op, and on SSE a notice.
    const desk = await WsClient.connect(url, '/v1/ws', bearer(FX));
    checker.send(desk, 'subscribe', { op: 'subscribe', symbols: ['EURUSD', 'ESZ25_FUT_CME'] });
    desk.send({ op: 'teleport' });
    await waitFor('FORBIDDEN, UNKNOWN_OP and a snapshot', () => desk.of('error').length === 2 && desk.of('snapshot').length === 1);
    expect(desk.of('error').map((error) => error.code)).toEqual(['FORBIDDEN', 'UNKNOWN_OP']);
    const sse = await EventReader.open(`${url}/v1/sse?symbols=EURUSD,ESZ25_FUT_CME&token=${FX}`);
    const sseView = await EventReader.open(`${url}/v1/sse?symbols=*&parts=/quote&token=${OPS}`);
    const dashboard = await EventReader.open(`${url}/v1/dashboard/sse?token=${FX}`);
    const adminDashboard = await EventReader.open(`${url}/v1/dashboard/sse?token=${OPS}`);
    await waitFor(
      'the SSE snapshots and summaries',
      () =>
        sse.of('snapshot').length === 1 && sseView.of('snapshot').length === 3 && dashboard.of('summary').length > 0 && adminDashboard.of('summary').length > 0,
    );
    expect(sse.of('notice').map((notice) => notice.data.code)).toEqual(['FORBIDDEN']);

    // The files change: patches everywhere, whole and view.
    for (let round = 0; round < 3; round++) await step(bridge, files);
    await waitFor('patches on every stream', () =>
      [admin.of('patch'), viewer.of('patch'), desk.of('patch'), sse.of('patch'), sseView.of('patch')].every((patches) => patches.length > 0),
    );
    checker.send(viewer, 'unsubscribe', { op: 'unsubscribe', symbols: ['EURUSD'] });
    await waitFor('summaries with rates', () =>
      adminDashboard
        .of('summary')
        .some((summary) => summary.data.symbols !== undefined && (summary.data.symbols as Json[]).some((row) => 'updatesPerSecond' in row)),
    );

    // Resume: a WebSocket view from the version it held, an SSE stream from its last id.
    const held = viewer.document('EURUSD');
    const lastId = sse.events.at(-1)?.id as string;
    expect(held).toBeDefined();
    await viewer.close();
    sse.close();
    for (let round = 0; round < 2; round++) await step(bridge, files);
    const back = await WsClient.connect(url, '/v1/ws', bearer(OPS));
    checker.send(back, 'subscribe', {
      op: 'subscribe',
      symbols: ['EURUSD'],
      parts: ['/quote', '/bars/M1'],
      resume: { EURUSD: { epoch: held?.epoch as string, seq: held?.seq as number } },
    });
    const sseBack = await EventReader.open(`${url}/v1/sse?symbols=EURUSD&lastEventId=${encodeURIComponent(lastId)}&token=${FX}`);
    await waitFor('the replays', () => back.of('patch').length > 0 && sseBack.of('patch').length > 0);
    expect(back.of('snapshot')).toEqual([]);
    expect(back.of('patch')[0]?.base).toBe(held?.seq);
    expect(sseBack.of('snapshot')).toEqual([]);

    // Parts: the document's pattern and the bridge agree on which pointers are a view.
    const parts = [
      '/quote/bid',
      '/book/asks',
      '/indicators/M5/rsi14',
      '/fields/a~1b',
      '/bars/M7',
      '/quote/mid',
      '/indicators',
      'quote',
      '/nope',
      '/fields/a/b',
    ];
    for (const part of parts) back.send({ op: 'subscribe', symbols: ['XAUUSD'], parts: [part] });
    const refused = parts.filter((part) => !checker.valid('subscribe', { op: 'subscribe', symbols: ['XAUUSD'], parts: [part] }));
    await waitFor('an answer to every subscribe', () => back.of('error').length + back.of('snapshot').length === parts.length);
    expect(back.of('error').map((error) => /part "([^"]*)"/.exec(error.message ?? '')?.[1])).toEqual(refused);
    expect(refused).toEqual(['/bars/M7', '/quote/mid', 'quote', '/nope', '/fields/a/b']);

    // The fx token is revoked: its WebSocket gets UNAUTHORIZED, its streams an UNAUTHORIZED notice.
    const revoked = await fetch(`${url}/v1/config`, {
      method: 'PATCH',
      headers: { ...bearer(OPS), 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { tokens: [ops] } }),
    });
    expect(revoked.status).toBe(200);
    await waitFor('the revoked streams to end', () => desk.of('error').length === 3 && sseBack.ended && dashboard.ended);
    expect([desk.of('error').at(-1)?.code, sseBack.of('notice').at(-1)?.data.code, dashboard.of('notice').at(-1)?.data.code]).toEqual([
      'UNAUTHORIZED',
      'UNAUTHORIZED',
      'UNAUTHORIZED',
    ]);

    for (const client of [admin, viewer, desk, back]) for (const message of client.messages) checker.ws(message);
    for (const reader of [sse, sseView, sseBack]) checker.sse('sse', reader);
    for (const reader of [dashboard, adminDashboard]) checker.sse('dashboard', reader);
    expect(checker.failures).toEqual([]);
    expect([...checker.seen.keys()].sort()).toEqual(Object.keys(document.components.messages).sort());
    for (const reader of [sseView, sseBack, adminDashboard]) reader.close();
    await Promise.all([admin.close(), back.close(), desk.close()]);
  });
});
