import { describe, expect, it } from 'vitest';
import { parseDateTime } from '../../src/formats/datetime.js';
import { columnIndex, readLayout, sniffDelimiter, splitFields, TimeReader } from '../../src/formats/delimited.js';
import { DEFAULT_FORMAT_OPTIONS, type FormatOptions } from '../../src/formats/types.js';
import { TimeZone } from '../../src/model/zone.js';

const options = (overrides: Partial<FormatOptions> = {}): FormatOptions => ({ ...DEFAULT_FORMAT_OPTIONS, ...overrides });

describe('delimited: delimiter, fields and layout', () => {
  it('sniffs tab, semicolon, comma and Sierra\'s ", "', () => {
    expect(sniffDelimiter('<DATE>\t<TIME>\t<BID>')).toBe('\t');
    expect(sniffDelimiter('Time;Bid;Ask')).toBe(';');
    expect(sniffDelimiter('Time,Bid,Ask')).toBe(',');
    expect(sniffDelimiter('Date, Time, Open')).toBe(',');
    // Decimal commas in a semicolon file: more semicolons than commas.
    expect(sniffDelimiter('Time;Bid;Ask;Note,x')).toBe(';');
  });

  it('splits into trimmed fields and removes the quotes around one', () => {
    expect(splitFields('2011/1/2, 23:00:00, 1256.00', ',')).toEqual(['2011/1/2', '23:00:00', '1256.00']);
    expect(splitFields('"EURUSD";1.1;', ';')).toEqual(['EURUSD', '1.1', '']);
  });

  it('finds columns by 1-based position or header name (ignoring case, spaces, #, _ and <>)', () => {
    const header = ['Date', '# of Trades', '<TICKVOL>'];
    expect(columnIndex(header, 2)).toBe(1);
    expect(columnIndex(header, 'of trades')).toBe(1);
    expect(columnIndex(header, 'TickVol')).toBe(2);
    expect(columnIndex(header, 'Bid')).toBe(-1);
    expect(columnIndex(null, 'Bid')).toBe(-1);
  });

  it('reads the layout: BOM, encoding, delimiter, header or not, as sniffed or pinned', () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Time\tBid\r\n1\t2\r\n', 'utf16le')]);
    expect(readLayout(utf16, options(), () => true)).toEqual({
      encoding: 'utf16le',
      delimiter: '\t',
      header: ['Time', 'Bid'],
      first: ['Time', 'Bid'],
      dataStart: 2 + 20,
      fingerprintBytes: 22,
    });
    expect(readLayout(Buffer.from('a;b\n'), options({ header: false }), () => true)).toMatchObject({ header: null, dataStart: 0 });
    expect(readLayout(Buffer.from('a;b\n'), options({ delimiter: ',' }), () => true)).toMatchObject({ first: ['a;b'] });
    expect(readLayout(Buffer.from('a;b'), options(), () => true)).toBeUndefined();
    expect(readLayout(Buffer.alloc(4096, 0x41), options(), () => true)).toBeNull();
  });
});

describe('delimited: times', () => {
  it('reads a date and time in one field or two, year first or as the source says', () => {
    const t = Date.UTC(2024, 0, 2, 10, 31, 5);
    const reader = new TimeReader(options());
    expect(reader.read('2024.01.02 10:31:05')).toBe(t);
    expect(reader.read('2024-01-02T10:31:05')).toBe(t);
    expect(reader.read('2024/1/2', '10:31:05')).toBe(t);
    expect(reader.read('2024-01-02T12:31:05+02:00')).toBe(t);
    expect(reader.read('2024-01-02T10:31:05.250Z')).toBe(t + 250);
    expect(new TimeReader(options({ timeFormat: 'dmy' })).read('02/01/2024 10:31:05')).toBe(t);
    expect(new TimeReader(options({ timeFormat: 'mdy' })).read('01/02/2024', '10:31:05')).toBe(t);
    expect(reader.read('02/01/2024 10:31:05')).toBeNaN();
  });

  it('reads epoch seconds, milliseconds and microseconds by their size, or as pinned', () => {
    const reader = new TimeReader(options());
    expect(reader.read('1704191465')).toBe(1704191465000);
    expect(reader.read('1704191465123')).toBe(1704191465123);
    expect(reader.read('1704191465123456')).toBe(1704191465123.456);
    expect(new TimeReader(options({ timeFormat: 'epoch-s' })).read('1.5')).toBe(1500);
    expect(new TimeReader(options({ timeFormat: 'epoch-ms' })).read('42')).toBe(42);
  });

  it('converts local times of the source zone; an explicit offset wins', () => {
    const reader = new TimeReader(options({ timeZone: TimeZone.parse('Europe/Athens') }));
    expect(reader.read('2025.01.15 12:00:00')).toBe(Date.UTC(2025, 0, 15, 10));
    expect(reader.read('2025.07.15 12:00:00')).toBe(Date.UTC(2025, 6, 15, 9));
    expect(reader.read('2025-07-15T12:00:00Z')).toBe(Date.UTC(2025, 6, 15, 12));
  });

  it('parseDateTime takes a date alone as its midnight and rejects what is not a date', () => {
    expect(parseDateTime('2025.01.02')).toBe(Date.UTC(2025, 0, 2));
    expect(parseDateTime('2025.02.30 10:00')).toBeNaN();
    expect(parseDateTime('hello world')).toBeNaN();
  });
});
