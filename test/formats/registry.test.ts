import { describe, expect, it } from 'vitest';
import { FORMAT_NAMES, FORMATS, FormatRegistry } from '../../src/formats/registry.js';
import { scidHeader } from '../../src/sim/scid-writer.js';
import { MT5_TICK_HEADER } from '../../src/sim/mt5-writer.js';
import { mt5File } from './fixtures.js';

const TICKS_UTF8 = Buffer.from(`${MT5_TICK_HEADER}\r\n2025.01.02\t00:00:00.351\t1.03512\t1.03524\t\t\t6\r\n`);
const TICKS_UTF16 = mt5File(['2025.01.02\t00:00:00.351\t1.03512\t1.03524\t\t\t6'], 'utf16le');

describe('registry: FormatRegistry.detect', () => {
  const registry = new FormatRegistry();

  it('knows every format by name, the generic CSV reader last', () => {
    expect(FORMAT_NAMES).toEqual(['sierra-scid', 'sierra-depth', 'mt5-ticks', 'mt5-bars', 'sierra-text', 'json', 'ndjson', 'csv']);
    expect(FORMATS.map((format) => format.mode)).toEqual(['tail', 'tail', 'tail', 'tail', 'tail', 'whole', 'tail', 'tail']);
  });

  it('picks scid by extension, whatever the head holds', () => {
    expect(registry.detect('ESM23_FUT_CME.scid', scidHeader())?.name).toBe('sierra-scid');
    expect(registry.detect('/data/NQH26-CME.SCID', Buffer.alloc(0))?.name).toBe('sierra-scid');
  });

  it('picks mt5-ticks by sniffing a .csv or .txt header (UTF-8 and UTF-16LE)', () => {
    expect(registry.detect('XAUUSD_202607011100_202609011203.csv', TICKS_UTF8)?.name).toBe('mt5-ticks');
    expect(registry.detect('XAUUSD_202607011100_202609011203.csv', TICKS_UTF16)?.name).toBe('mt5-ticks');
    expect(registry.detect('EURUSD.txt', TICKS_UTF8)?.name).toBe('mt5-ticks');
  });

  it('picks json by extension', () => {
    expect(registry.detect('XAUUSD.json', Buffer.from('{"bid": 1}'))?.name).toBe('json');
    expect(registry.detect('XAUUSD.json', Buffer.alloc(0))?.name).toBe('json');
  });

  it('tells the text formats apart by their first line, the generic CSV reader taking what has a time column', () => {
    expect(
      registry.detect('EURUSD_M1_202401020000_202406282359.csv', Buffer.from('<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\r\n'))
        ?.name,
    ).toBe('mt5-bars');
    expect(registry.detect('ES.txt', Buffer.from('Date, Time, Open, High, Low, Last, Volume, NumberOfTrades, BidVolume, AskVolume\r\n'))?.name).toBe(
      'sierra-text',
    );
    expect(registry.detect('CLH25-NYM.dly', Buffer.from('Date, Open, High, Low, Close, Volume, OpenInterest\r\n'))?.name).toBe('sierra-text');
    expect(registry.detect('DWX_Market_Data.txt', Buffer.from('{"EURUSD": {"bid": 1.08123}}\r\n'))?.name).toBe('json');
    expect(registry.detect('trades.csv', Buffer.from('time,price,size\r\n1,2,3\r\n'))?.name).toBe('csv');
    expect(registry.detect('EURUSD_TickData.csv', Buffer.from('2024.01.02 10:31:05,1.08125,1.08123,1\r\n'))?.name).toBe('csv');
    expect(registry.detect('ticks.ndjson', Buffer.from('{"bid": 1}\n'))?.name).toBe('ndjson');
    expect(registry.detect('ESM23.2025-03-24.depth', Buffer.alloc(64))?.name).toBe('sierra-depth');
  });

  it('returns null for text without a time column and unknown extensions', () => {
    expect(registry.detect('notes.csv', Buffer.from('name,comment\r\nEURUSD,fine\r\n'))).toBeNull();
    // No line end in 4 KiB: not a text export.
    expect(registry.detect('blob.csv', Buffer.alloc(4096, 0x41))).toBeNull();
    expect(registry.detect('notes.md', TICKS_UTF8)).toBeNull();
  });

  it('returns undefined when a .csv is too short to decide', () => {
    expect(registry.detect('XAUUSD.csv', Buffer.alloc(0))).toBeUndefined();
    expect(registry.detect('XAUUSD.csv', Buffer.from('<DATE>\t<TIME>\t<BID>'))).toBeUndefined();
    expect(registry.detect('XAUUSD.csv', TICKS_UTF16.subarray(0, 20))).toBeUndefined();
  });

  it('says which names any format could read', () => {
    expect(registry.couldRead('a.scid')).toBe(true);
    expect(registry.couldRead('a.csv')).toBe(true);
    expect(registry.couldRead('a.json')).toBe(true);
    expect(registry.couldRead('a.depth')).toBe(true);
    expect(registry.couldRead('a.dly')).toBe(true);
    expect(registry.couldRead('a.md')).toBe(false);
    expect(registry.couldRead('a.json.tmp')).toBe(false);
  });
});

describe('registry: a forced format', () => {
  it('FormatRegistry("mt5-ticks") only reads that format, and takes every file of its names as one (to report those that are not)', () => {
    const registry = new FormatRegistry('mt5-ticks');
    expect(registry.couldRead('x.csv')).toBe(true);
    expect(registry.couldRead('x.scid')).toBe(false);
    expect(registry.couldRead('x.json')).toBe(false);
    expect(registry.detect('x.scid', scidHeader())).toBeNull();
    expect(registry.detect('x.json', Buffer.from('{}'))).toBeNull();
    expect(registry.detect('x.csv', TICKS_UTF8)?.name).toBe('mt5-ticks');
    expect(registry.detect('x.csv', Buffer.from('a,b\r\n'))?.name).toBe('mt5-ticks');
  });

  it('FormatRegistry("json") and ("sierra-scid") only read theirs', () => {
    expect(new FormatRegistry('json').detect('x.csv', TICKS_UTF8)).toBeNull();
    expect(new FormatRegistry('json').detect('x.json', Buffer.from('{}'))?.name).toBe('json');
    expect(new FormatRegistry('sierra-scid').detect('x.scid', scidHeader())?.name).toBe('sierra-scid');
    expect(new FormatRegistry('sierra-scid').couldRead('x.csv')).toBe(false);
  });

  it('throws for an unknown format name, listing the known ones', () => {
    expect(() => new FormatRegistry('mt4-ticks')).toThrow(
      /unknown format "mt4-ticks"; known: sierra-scid, sierra-depth, mt5-ticks, mt5-bars, sierra-text, json, ndjson, csv/,
    );
    expect(() => new FormatRegistry('')).toThrow(/unknown format/);
  });
});
