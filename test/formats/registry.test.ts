import { describe, expect, it } from 'vitest';
import { FORMAT_NAMES, FORMATS, FormatRegistry } from '../../src/formats/registry.js';
import { scidHeader } from '../../src/sim/scid-writer.js';
import { MT5_TICK_HEADER } from '../../src/sim/mt5-writer.js';
import { mt5File } from './fixtures.js';

const TICKS_UTF8 = Buffer.from(`${MT5_TICK_HEADER}\r\n2025.01.02\t00:00:00.351\t1.03512\t1.03524\t\t\t6\r\n`);
const TICKS_UTF16 = mt5File(['2025.01.02\t00:00:00.351\t1.03512\t1.03524\t\t\t6'], 'utf16le');

describe('registry: FormatRegistry.detect', () => {
  const registry = new FormatRegistry();

  it('knows the three formats by name', () => {
    expect(FORMAT_NAMES).toEqual(['sierra-scid', 'mt5-ticks', 'json']);
    expect(FORMATS.map((format) => format.mode)).toEqual(['tail', 'tail', 'whole']);
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

  it('returns null for an unrelated CSV, a bars export and unknown extensions', () => {
    expect(registry.detect('trades.csv', Buffer.from('time,price,size\r\n1,2,3\r\n'))).toBeNull();
    expect(registry.detect('EURUSD_M1_202401020000_202406282359.csv', Buffer.from('<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\r\n'))).toBeNull();
    // No line end in 4 KiB: not a text export.
    expect(registry.detect('blob.csv', Buffer.alloc(4096, 0x41))).toBeNull();
    expect(registry.detect('ESM23.depth', Buffer.alloc(64))).toBeNull();
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
    expect(registry.couldRead('a.depth')).toBe(false);
    expect(registry.couldRead('a.json.tmp')).toBe(false);
  });
});

describe('registry: a forced format', () => {
  it('FormatRegistry("mt5-ticks") only reads that format', () => {
    const registry = new FormatRegistry('mt5-ticks');
    expect(registry.couldRead('x.csv')).toBe(true);
    expect(registry.couldRead('x.scid')).toBe(false);
    expect(registry.couldRead('x.json')).toBe(false);
    expect(registry.detect('x.scid', scidHeader())).toBeNull();
    expect(registry.detect('x.json', Buffer.from('{}'))).toBeNull();
    expect(registry.detect('x.csv', TICKS_UTF8)?.name).toBe('mt5-ticks');
    expect(registry.detect('x.csv', Buffer.from('a,b\r\n'))).toBeNull();
  });

  it('FormatRegistry("json") and ("sierra-scid") only read theirs', () => {
    expect(new FormatRegistry('json').detect('x.csv', TICKS_UTF8)).toBeNull();
    expect(new FormatRegistry('json').detect('x.json', Buffer.from('{}'))?.name).toBe('json');
    expect(new FormatRegistry('sierra-scid').detect('x.scid', scidHeader())?.name).toBe('sierra-scid');
    expect(new FormatRegistry('sierra-scid').couldRead('x.csv')).toBe(false);
  });

  it('throws for an unknown format name, listing the known ones', () => {
    expect(() => new FormatRegistry('mt4-ticks')).toThrow(/unknown format "mt4-ticks"; known: sierra-scid, mt5-ticks, json/);
    expect(() => new FormatRegistry('')).toThrow(/unknown format/);
  });
});
