import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_SOURCE, resolveConfig } from '../../src/app/config.js';
import { formatOptionsOf, symbolMapperOf } from '../../src/app/source-options.js';

/** The per-source reading options (docs/configuration.md) and how bad values are refused. */

function problems(layer: Record<string, unknown>): string {
  try {
    resolveConfig(layer);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config: source reading options', () => {
  it('fills every source option with its default', () => {
    const config = resolveConfig({ sources: [{ path: '/data' }] });
    expect(config.sources[0]).toEqual({ path: '/data', ...DEFAULT_SOURCE });
    expect(config.document.bookLevels).toBe(10);
    const options = formatOptionsOf(config.sources[0]!, config.document.bookLevels);
    expect(options).toMatchObject({ encoding: 'auto', delimiter: 'auto', header: 'auto', timeFormat: 'auto', timeframe: 'auto', json: 'auto', bookLevels: 10 });
    expect(options.timeZone.isUtc).toBe(true);
    expect(symbolMapperOf(config.sources[0]!.symbols)).toBeUndefined();
  });

  it('takes pinned encodings, delimiters (tab by name), headers, zones, columns and JSON modes', () => {
    const config = resolveConfig({
      sources: [
        {
          path: '/mt5',
          encoding: 'windows-1252',
          delimiter: 'tab',
          header: false,
          timeZone: 'America/New_York+07:00',
          timeFormat: 'dmy',
          timeframe: 'M5',
          columns: { time: 1, bid: 'Bid' },
          json: 'map',
          include: ['**/*.csv', '!old/**'],
          symbols: { rename: [{ pattern: 'c$', replace: '' }] },
        },
      ],
      document: { bookLevels: 5 },
    });
    const options = formatOptionsOf(config.sources[0]!, config.document.bookLevels);
    expect(options).toMatchObject({
      encoding: 'windows-1252',
      delimiter: '\t',
      header: false,
      timeFormat: 'dmy',
      timeframe: 'M5',
      columns: { time: 1, bid: 'Bid' },
      json: 'map',
      bookLevels: 5,
    });
    expect(options.timeZone.offsetAt(Date.UTC(2025, 6, 1))).toBe(3 * 3_600_000);
  });

  it('refuses a zone Intl does not know, a pattern that does not compile, and unknown column roles, naming the key', () => {
    expect(problems({ sources: [{ path: '/a', timeZone: 'Mars/Olympus' }] })).toMatch(
      /sources\.0\.timeZone: "Mars\/Olympus" is not allowed \(time zone "Mars\/Olympus" is not an IANA name/,
    );
    expect(problems({ sources: [{ path: '/a', symbols: { rename: [{ pattern: '(', replace: '' }] } }] })).toMatch(
      /sources\.0\.symbols\.rename\.0\.pattern: "\(" is not allowed/,
    );
    expect(problems({ sources: [{ path: '/a', columns: { price: 2 } }] })).toMatch(/sources\.0\.columns\.price: 2 is not allowed \(unknown key\)/);
    expect(problems({ sources: [{ path: '/a', columns: { time: 0 } }] })).toMatch(/sources\.0\.columns\.time: 0 is not allowed/);
    expect(problems({ sources: [{ path: '/a', delimiter: '|' }] })).toMatch(
      /sources\.0\.delimiter: "\|" is not allowed \(expected "auto" or "tab" or "\\t" or "," or ";"/,
    );
    expect(problems({ document: { bookLevels: 0 } })).toMatch(/document\.bookLevels: 0 is not allowed/);
  });
});

describe('config: symbol mapping', () => {
  it('gives an alias first, else applies the rename rules in order', () => {
    const map = symbolMapperOf({
      aliases: { GOLD: 'XAUUSD' },
      rename: [
        { pattern: '_TickData$', replace: '' },
        { pattern: '([A-Z]{6})[a-z.]+$', replace: '$1' },
      ],
    });
    expect(map?.('GOLD')).toBe('XAUUSD');
    expect(map?.('XAUUSDc')).toBe('XAUUSD');
    expect(map?.('EURUSD.a')).toBe('EURUSD');
    expect(map?.('XAUUSDm_TickData')).toBe('XAUUSD');
    expect(map?.('ESZ25_FUT_CME')).toBe('ESZ25_FUT_CME');
  });

  it('adds a suffix the other way round, and never maps a symbol to nothing', () => {
    const map = symbolMapperOf({
      rename: [
        { pattern: '^(EURUSD)$', replace: '$1.pro' },
        { pattern: '^X$', replace: '' },
      ],
    });
    expect(map?.('EURUSD')).toBe('EURUSD.pro');
    expect(map?.('X')).toBe('X');
  });
});
