import { describe, expect, it } from 'vitest';
import { bothAllow, SymbolPatterns, symbolList } from '../../src/transports/auth.js';
import { healthBrief, servedReason } from '../../src/core/health.js';

describe('what is served of a failure reason', () => {
  it('keeps the bridge words, never quoted runs, bytes beyond printable ASCII, OS messages or more than 160 characters', () => {
    expect(servedReason(null)).toBeNull();
    expect(servedReason("read failed: EACCES: permission denied, open '/srv/x/PASSWD.json'")).toBe('read failed (EACCES)');
    expect(servedReason('read failed: something odd')).toBe('read failed');
    expect(servedReason('invalid JSON: Unexpected token \'r\', "root:x:0:0"... is not valid JSON')).toBe(
      'invalid JSON: Unexpected token …, …... is not valid JSON',
    );
    expect(servedReason('not a Sierra Chart intraday file: magic is 0x64636261, expected "SCID"')).toBe(
      'not a Sierra Chart intraday file: magic is 0x64636261, expected …',
    );
    expect(servedReason('bad line: \u202Eroot\u0000x')).toBe('bad line: ?root?x');
    expect(servedReason('unterminated "root:x:0:0:root:/root')).toBe('unterminated …');
    const long = servedReason('x'.repeat(500)) as string;
    expect(long).toHaveLength(160);
    expect(long.endsWith('…')).toBe(true);
  });

  it('the health brief counts components by status and names none', () => {
    const brief = healthBrief({ status: 'DEGRADED', components: { 'source:/secret/path': { status: 'DEGRADED' }, hub: { status: 'HEALTHY' } } });
    expect(brief).toEqual({ status: 'DEGRADED', counts: { HEALTHY: 1, DEGRADED: 1, UNHEALTHY: 0 } });
  });
});

describe('allow lists of an open SSE stream', () => {
  it('only narrow: both lists must allow, one entry per distinct list however often the tokens change', () => {
    const first = new SymbolPatterns(['EUR*', 'XAU*']);
    const narrowed = bothAllow(first, new SymbolPatterns(['EUR*']));
    expect(['EURUSD', 'XAUUSD'].map((symbol) => narrowed?.allows(symbol))).toEqual([true, false]);
    const widened = bothAllow(narrowed, new SymbolPatterns(['EUR*', 'XAU*', 'ES*']));
    expect(['EURUSD', 'XAUUSD', 'ESZ25'].map((symbol) => widened?.allows(symbol))).toEqual([true, false, false]);
    expect(bothAllow(widened, new SymbolPatterns(['EUR*']))).toBe(widened);
    expect(bothAllow(first, new SymbolPatterns(['*']))).toBe(first);
    expect(bothAllow(null, null)).toBeNull();
  });

  it('messages name fifty symbols, then a count', () => {
    const symbols = Array.from({ length: 52 }, (_, index) => `S${index}`);
    expect(symbolList(symbols)).toMatch(/^S0, S1, .*S49 and 2 more$/);
    expect(symbolList(['A', 'B'])).toBe('A, B');
  });
});
