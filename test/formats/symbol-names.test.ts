import { describe, expect, it } from 'vitest';
import { csvFormat } from '../../src/formats/csv.js';
import { parseFileName } from '../../src/formats/file-names.js';
import { mt5BarsFormat } from '../../src/formats/mt5-bars.js';
import { sierraTextFormat } from '../../src/formats/sierra-text.js';
import { symbolMapperOf } from '../../src/app/source-options.js';

const MIN = 60_000;

describe('symbols from the names people save exports under', () => {
  it('timeframe, export tokens and date ranges are not part of the symbol', () => {
    const cases: [string, string, string | null, number | null][] = [
      ['NQH26-CME_5m.scid_BarData.txt', 'NQH26-CME', '5m', 5 * MIN],
      ['EURUSD_H1.csv', 'EURUSD', 'H1', 60 * MIN],
      ['EURUSD_1H.csv', 'EURUSD', '1H', 60 * MIN],
      ['EURUSD_M5_202401020000_202406282359.csv', 'EURUSD', 'M5', 5 * MIN],
      ['US500_Cash_D1_202401020000_202406282359.csv', 'US500_Cash', 'D1', 24 * 60 * MIN],
      ['NQM26-CME.DAILY_BarData.txt', 'NQM26-CME', 'DAILY', 24 * 60 * MIN],
      ['ESM26-CME-BarData.txt', 'ESM26-CME', null, null],
      ['ESM26-CME-BarStudyData.csv', 'ESM26-CME', null, null],
      ['NQZ25-CME.scid_BarData.txt', 'NQZ25-CME', null, null],
      ['ES 15 Min.txt', 'ES', '15 Min', 15 * MIN],
      ['BTC_PERP_4h_20240101_20241231.csv', 'BTC_PERP', '4h', 240 * MIN],
      ['GC_100T.txt', 'GC', '100T', null],
      ['CLH25-NYM.dly', 'CLH25-NYM', null, null],
    ];
    for (const [name, symbol, token, lengthMs] of cases) {
      expect(parseFileName(name), name).toEqual({ symbol, timeframe: token === null ? null : { token, lengthMs } });
    }
  });

  it('the same for every text format that holds bars', () => {
    for (const format of [sierraTextFormat, mt5BarsFormat, csvFormat]) {
      expect(format.symbolFor('NQH26-CME_5m.scid_BarData.txt')).toBe('NQH26-CME');
      expect(format.symbolFor('EURUSD_H1.csv')).toBe('EURUSD');
    }
  });

  it('leaves names alone where a token is part of the symbol, and never strips a whole name', () => {
    for (const name of ['WDOV24M5-MA20.csv', 'BBDC4MN1.csv', 'ES.txt', 'XAUUSDc_TickData.csv', 'ACME.csv', '5m.txt', 'EURUSD_M7.csv']) {
      expect(parseFileName(name).symbol, name).toBe(name.slice(0, name.lastIndexOf('.')));
    }
  });

  it('symbols.aliases and symbols.rename still win, applied to the stripped symbol', () => {
    const map = symbolMapperOf({ aliases: { 'NQH26-CME': 'NQ' }, rename: [{ pattern: '-CME$', replace: '' }] });
    expect(map?.(sierraTextFormat.symbolFor('NQH26-CME_5m.scid_BarData.txt'))).toBe('NQ');
    expect(map?.(sierraTextFormat.symbolFor('ESH26-CME_1H.txt'))).toBe('ESH26');
  });
});
