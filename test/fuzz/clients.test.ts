import { request } from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../src/app/bridge.js';
import { ERROR_CODES } from '../../src/model/errors.js';
import { writeJsonSnapshot } from '../../src/sim/json-writer.js';
import { startBridge } from '../../src/app/bridge.js';
import { resolveConfig } from '../../src/app/config.js';
import { LogCapture } from '../helpers/bridge.js';
import { WsClient, type ServerMessage } from '../helpers/clients.js';
import { waitFor } from '../helpers/wait.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

/**
 * What clients send, fuzzed against a real bridge: random and mutated WebSocket frames (each
 * gets one error frame with a known code, the connection stays, and nothing is subscribed or
 * unsubscribed), random SSE query parameters and Last-Event-ID headers, and random HTTP path
 * and query parameters (a 4xx JSON error with a known code, or an answer; never a 5xx).
 */

let dir: string;
let bridge: Bridge;
let client: WsClient;
const logs = new LogCapture('warn');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tapebridge-fuzz-'));
  await writeJsonSnapshot(join(dir, 'A.json'), { bid: 1 }, 'rewrite');
  await writeJsonSnapshot(join(dir, 'B.json'), { bid: 1 }, 'rewrite');
  const config = resolveConfig({
    port: 0,
    sources: [{ path: dir }],
    // Limits out of the way: the fuzzer sends as fast as it can, and long polls end soon.
    stream: { messagesPerSecond: 1_000_000, messageBurst: 1_000_000 },
    http: { maxWaitMs: 100, rateLimit: { max: 1_000_000, windowMs: 1000 } },
  });
  bridge = await startBridge(config, { logger: logs.logger });
  await bridge.ready;
  client = await WsClient.connect(bridge.url);
  client.subscribe(['A']);
  await waitFor('the snapshot of A', () => client.document('A'));
});

afterAll(async () => {
  await client.close();
  await bridge.close();
  await rm(dir, { recursive: true, force: true });
});

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A frame PROTOCOL.md §3 (and the limits of docs/operations.md) make valid, by a reading independent of the bridge's. */
function isValidFrame(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  if (!isObject(value)) return false;
  if (value.op === 'ping') return value.id === undefined || value.id === null || typeof value.id === 'string' || typeof value.id === 'number';
  if (value.op !== 'subscribe' && value.op !== 'unsubscribe') return false;
  const { symbols } = value;
  if (!Array.isArray(symbols) || symbols.length === 0 || symbols.length > 10_000) return false;
  if (!symbols.every((symbol) => typeof symbol === 'string' && symbol.length >= 1 && symbol.length <= 128)) return false;
  if (value.op === 'unsubscribe' || value.resume === undefined) return true;
  return (
    isObject(value.resume) &&
    Object.values(value.resume).every(
      (point) => isObject(point) && typeof point.epoch === 'string' && Number.isSafeInteger(point.seq) && (point.seq as number) >= 0,
    )
  );
}

/** Valid frames with one part replaced by something else. */
const mutatedFrame: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom<Record<string, unknown>>(
      { op: 'subscribe', symbols: ['B'] },
      { op: 'subscribe', symbols: ['B'], resume: { B: { epoch: 'x', seq: 1 } } },
      { op: 'unsubscribe', symbols: ['A'] },
      { op: 'ping', id: 1 },
    ),
    fc.constantFrom('op', 'symbols', 'resume', 'id', 'seq', 'epoch'),
    fc.jsonValue({ maxDepth: 2 }),
  )
  .map(([frame, key, value]) => {
    const copy = structuredClone(frame);
    if ((key === 'seq' || key === 'epoch') && isObject(copy.resume)) (copy.resume as Record<string, Record<string, unknown>>).B![key] = value;
    else copy[key] = value;
    return JSON.stringify(copy);
  });

const badFrame: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  mutatedFrame,
  fc.uint8Array({ maxLength: 64 }),
);

let pings = 0;

/** Sends `frame`, then a ping; returns what came back before the pong. */
async function exchange(frame: string | Uint8Array): Promise<ServerMessage[]> {
  const from = client.messages.length;
  const id = `fuzz-${++pings}`;
  client.socket.send(frame);
  client.send({ op: 'ping', id });
  await waitFor(`the pong ${id}`, () => client.messages.slice(from).some((message) => message.type === 'pong' && message.id === id));
  const answers = client.messages.slice(from);
  return answers.slice(
    0,
    answers.findIndex((message) => message.type === 'pong' && message.id === id),
  );
}

describe('fuzzing the WebSocket frames', () => {
  it('a bad frame gets one error frame with a known code; the connection stays', async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(badFrame, async (frame) => {
        fc.pre(typeof frame !== 'string' || !isValidFrame(frame));
        checked++;
        const answers = await exchange(frame);
        expect(answers, `answers to ${JSON.stringify(typeof frame === 'string' ? frame : [...frame])}`).toHaveLength(1);
        expect(answers[0]?.type).toBe('error');
        expect(typeof frame === 'string' ? ['BAD_REQUEST', 'UNKNOWN_OP'] : ['BAD_REQUEST']).toContain(answers[0]?.code);
        expect(answers[0]?.message).toMatch(/./);
      }),
      { numRuns: 300 },
    );
    expect(checked).toBeGreaterThan(250);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
  });

  it('changed no subscription: A still comes, B never does', async () => {
    const from = client.messages.length;
    await writeJsonSnapshot(join(dir, 'B.json'), { bid: 2 }, 'rewrite');
    await waitFor('B to change', () => bridge.store.get('B')?.document.quote.bid === 2);
    await writeJsonSnapshot(join(dir, 'A.json'), { bid: 2 }, 'rewrite');
    await waitFor('the patch of A', () => client.messages.slice(from).some((message) => message.type === 'patch' && message.symbol === 'A'));
    expect(client.messages.slice(from).filter((message) => message.symbol === 'B')).toEqual([]);
    expect(client.mirror.violations).toEqual([]);
    expect(client.document('A')?.data).toEqual(JSON.parse(bridge.store.get('A')?.documentJson() ?? 'null'));
  });
});

const KNOWN_CODES = Object.keys(ERROR_CODES);

/** A GET: its status and, for an error, its `{error: {code}}`; an SSE stream is cut once its status is known. */
function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; code?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${bridge.url}${path}`, { headers }, (response) => {
      const status = response.statusCode ?? 0;
      if (status === 200 && (response.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        req.destroy();
        resolve({ status });
        return;
      }
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        if (status < 400) {
          resolve({ status });
          return;
        }
        try {
          resolve({ status, code: (JSON.parse(body) as { error: { code: string } }).error.code });
        } catch {
          resolve({ status, code: `not JSON: ${body.slice(0, 80)}` });
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function expectAnswered(answer: { status: number; code?: string }, allowed: readonly number[]): void {
  expect(allowed).toContain(answer.status);
  if (answer.status >= 400) expect(KNOWN_CODES).toContain(answer.code);
}

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', '*', 'A', 'A,B', ',', ' , ', 'A'.repeat(129), '-1', '1e3', '0x10', 'NaN'),
);
const headerSafe = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 40 });

describe('fuzzing SSE and HTTP parameters', () => {
  it('SSE: any symbols, lastEventId or Last-Event-ID gets a stream or a 4xx with a known code, never a 5xx', async () => {
    const gseq = bridge.store.gseq;
    await fc.assert(
      fc.asyncProperty(
        text,
        fc.oneof(
          text,
          fc.tuple(fc.integer({ min: -5, max: 1e6 }), fc.integer({ min: -5, max: 1e6 })).map(([g, b]) => `${bridge.store.epoch}:${g}:${b}`),
        ),
        headerSafe,
        async (symbols, cursor, header) => {
          expectAnswered(await get(`/v1/sse?symbols=${encodeURIComponent(symbols)}&lastEventId=${encodeURIComponent(cursor)}`), [200, 400, 403]);
          expectAnswered(await get(`/v1/sse?symbols=${encodeURIComponent(symbols)}`, { 'last-event-id': header }), [200, 400, 403]);
        },
      ),
      { numRuns: 80 },
    );
    expect(bridge.store.gseq).toBe(gseq);
  });

  it('HTTP: any symbol, epoch, since and waitMs gets an answer or a 4xx with a known code, never a 5xx', async () => {
    const gseq = bridge.store.gseq;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(text, fc.constant('A')),
        fc.oneof(text, fc.constant(bridge.store.epoch)),
        fc.oneof(text, fc.nat().map(String)),
        fc.option(text),
        async (symbol, epoch, since, waitMs) => {
          const at = `/v1/symbols/${encodeURIComponent(symbol)}`;
          expectAnswered(await get(at), [200, 400, 404]);
          const query = `epoch=${encodeURIComponent(epoch)}&since=${encodeURIComponent(since)}${waitMs === null ? '' : `&waitMs=${encodeURIComponent(waitMs)}`}`;
          expectAnswered(await get(`${at}/patches?${query}`), [200, 400, 404, 410]);
        },
      ),
      { numRuns: 120 },
    );
    expect(bridge.store.gseq).toBe(gseq);
    expect(logs.lines.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });
});
