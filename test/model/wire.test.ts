import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PatchOperation } from '../../src/model/patch.js';
import { MAX_SYMBOL_LENGTH } from '../../src/model/symbol-name.js';
import {
  errorBody,
  errorMessage,
  helloMessage,
  patchesAnswer,
  patchMessage,
  patchOpsOffset,
  pongMessage,
  snapshotBody,
  snapshotMessage,
  summaryMessage,
  SYMBOL_PARAMS_SCHEMA,
} from '../../src/model/wire.js';

/** Symbols that need escaping in JSON, or are more than one UTF-16 unit per character. */
const AWKWARD_SYMBOLS = ['XAU"USD', 'back\\slash', 'Ünïcødé €', '株式 7203', '🚀 moon', "it's"];
const EPOCH = 'k3j2_-Z9';
const OPS: PatchOperation[] = [
  { op: 'replace', path: '/quote/bid', value: 2650.1 },
  { op: 'add', path: '/bars/M1/-', value: { t: 1, o: 1, h: 2, l: 0.5, c: 1.5, v: 10 } },
  { op: 'remove', path: '/book' },
];

/** Parses `json` and checks its keys come in `keys`' order (PROTOCOL.md lists them so; clients may rely on nothing else, but the bytes must not change). */
function parsed(json: string, keys: string[]): Record<string, unknown> {
  const value = JSON.parse(json) as Record<string, unknown>;
  expect(Object.keys(value)).toEqual(keys);
  return value;
}

describe('wire messages (PROTOCOL.md §3-§5)', () => {
  it.each(AWKWARD_SYMBOLS)('snapshot of %j parses back to its symbol, epoch, seq and data', (symbol) => {
    const data = { symbol, quote: { bid: 1, ask: 2 } };
    const message = parsed(snapshotMessage(JSON.stringify(symbol), EPOCH, 1042, JSON.stringify(data)), ['type', 'symbol', 'epoch', 'seq', 'data']);
    expect(message).toEqual({ type: 'snapshot', symbol, epoch: EPOCH, seq: 1042, data });
    const body = parsed(snapshotBody(JSON.stringify(symbol), EPOCH, 1042, JSON.stringify(data)), ['symbol', 'epoch', 'seq', 'data']);
    expect(body).toEqual({ symbol, epoch: EPOCH, seq: 1042, data });
  });

  it.each(AWKWARD_SYMBOLS)('patch of %j parses back, and its ops offset points at the ops JSON', (symbol) => {
    const text = patchMessage(symbol, EPOCH, 1043, 1042, OPS);
    expect(parsed(text, ['type', 'symbol', 'epoch', 'seq', 'base', 'ops'])).toEqual({ type: 'patch', symbol, epoch: EPOCH, seq: 1043, base: 1042, ops: OPS });
    const opsJson = text.slice(patchOpsOffset(JSON.stringify(symbol), EPOCH, 1043, 1042), -1);
    expect(opsJson).toBe(JSON.stringify(OPS));
  });

  it('finds the ops of any patch: any symbol, seq and ops', () => {
    const symbol = fc.string({ minLength: 1, maxLength: MAX_SYMBOL_LENGTH, unit: 'grapheme' });
    const ops = fc.array(
      fc.record({ op: fc.constant('replace' as const), path: fc.string({ unit: 'grapheme' }), value: fc.jsonValue() }).map((op) => op as PatchOperation),
      { maxLength: 5 },
    );
    fc.assert(
      fc.property(symbol, fc.nat(), fc.nat(), ops, (name, seq, base, list) => {
        const text = patchMessage(name, EPOCH, seq, base, list);
        expect(JSON.parse(text.slice(patchOpsOffset(JSON.stringify(name), EPOCH, seq, base), -1))).toEqual(JSON.parse(JSON.stringify(list)));
      }),
    );
  });

  it('hello names the epoch, the server, the heartbeat and the node', () => {
    expect(parsed(helloMessage(EPOCH, 'tapebridge/0.1.0', 15000, 'edge-1'), ['type', 'epoch', 'server', 'heartbeatMs', 'node'])).toEqual({
      type: 'hello',
      epoch: EPOCH,
      server: 'tapebridge/0.1.0',
      heartbeatMs: 15000,
      node: 'edge-1',
    });
  });

  it.each([7, 'a"b', null])('pong gives back the ping id %j', (id) => {
    expect(parsed(pongMessage(id), ['type', 'id'])).toEqual({ type: 'pong', id });
  });

  it('error and the HTTP error body carry the code and the message, escaped', () => {
    const message = 'symbol "X\\Y" € \u2028 is not one';
    expect(parsed(errorMessage('BAD_REQUEST', message), ['type', 'code', 'message'])).toEqual({ type: 'error', code: 'BAD_REQUEST', message });
    expect(parsed(errorBody('GONE', message), ['error'])).toEqual({ error: { code: 'GONE', message } });
  });

  it.each(AWKWARD_SYMBOLS)('the patches answer for %j lists every held patch, oldest first', (symbol) => {
    const held = [
      { seq: 4, base: 3, opsJson: JSON.stringify(OPS.slice(0, 1)) },
      { seq: 5, base: 4, opsJson: JSON.stringify(OPS) },
    ];
    const answer = parsed(patchesAnswer(JSON.stringify(symbol), EPOCH, 5, held), ['symbol', 'epoch', 'seq', 'patches']);
    expect(answer).toEqual({
      symbol,
      epoch: EPOCH,
      seq: 5,
      patches: [
        { seq: 4, base: 3, ops: OPS.slice(0, 1) },
        { seq: 5, base: 4, ops: OPS },
      ],
    });
    expect(JSON.parse(patchesAnswer(JSON.stringify(symbol), EPOCH, 3, []))).toEqual({ symbol, epoch: EPOCH, seq: 3, patches: [] });
  });

  it('summary holds its head, the health report and the rows', () => {
    const head = { epoch: EPOCH, time: 1_700_000_000_000, intervalMs: 1000, staleAfterMs: 30_000 };
    const rows = [{ symbol: AWKWARD_SYMBOLS[0] }, { symbol: AWKWARD_SYMBOLS[4] }];
    const message = parsed(summaryMessage(head, { status: 'HEALTHY' }, rows), ['type', 'epoch', 'time', 'intervalMs', 'staleAfterMs', 'health', 'symbols']);
    expect(message).toEqual({ type: 'summary', ...head, health: { status: 'HEALTHY' }, symbols: rows });
  });

  it('the :symbol params schema bounds the symbol as the SDK does', () => {
    expect(SYMBOL_PARAMS_SCHEMA.properties.symbol).toEqual({ type: 'string', minLength: 1, maxLength: MAX_SYMBOL_LENGTH });
    expect(SYMBOL_PARAMS_SCHEMA.required).toEqual(['symbol']);
  });
});
