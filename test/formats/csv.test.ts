import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvFormat } from '../../src/formats/csv.js';
import { DEFAULT_FORMAT_OPTIONS, FormatError, type FormatOptions, type TextEncoding } from '../../src/formats/types.js';
import { TimeZone } from '../../src/model/zone.js';
import { EaFileWriter, mqlDateTime, type EaValue } from '../../src/sim/ea-writer.js';
import { ALL_HISTORY, bufferFile, decodeAll, decoderFor, feedInRuns } from './fixtures.js';

const T0 = Date.UTC(2024, 0, 2, 10, 31, 5);

/** The tick logger of FORMATS.md §4.3 (2): `Time,Ask,Bid,Volume`, one FileWrite per tick. */
function tickLog(count: number): EaValue[][] {
  return Array.from({ length: count }, (_, i) => [mqlDateTime(T0 + i * 1000), (1.08125 + i * 0.00001).toFixed(5), (1.08123 + i * 0.00001).toFixed(5), 1]);
}

function eaFile(rows: EaValue[][], encoding: TextEncoding, delimiter: string, header?: string[]): Buffer {
  return new EaFileWriter('unused', { encoding, delimiter, ...(header ? { header } : {}) }).content(rows);
}

const decode = (buf: Buffer, options: Partial<FormatOptions> = {}, name = 'EURUSD_TickData.csv') => decodeAll(decoderFor(csvFormat, name, options), buf);

describe('csv: EA files in every encoding and delimiter', () => {
  const cases: [TextEncoding, string][] = [
    ['utf16le', '\t'],
    ['utf16le', ','],
    ['windows-1252', ';'],
    ['windows-1252', ','],
    ['utf8', ','],
    ['utf8', '\t'],
  ];

  for (const [encoding, delimiter] of cases) {
    it(`reads a tick log in ${encoding} with ${JSON.stringify(delimiter)}: header names map the columns`, async () => {
      const buf = eaFile(tickLog(3), encoding, delimiter, ['Time', 'Ask', 'Bid', 'Volume']);
      expect(csvFormat.sniff?.(buf, DEFAULT_FORMAT_OPTIONS)).toBe(true);
      const { sink } = await decode(buf);
      expect(sink.problems).toEqual([]);
      expect(sink.ticks).toEqual([
        { time: T0, bid: 1.08123, ask: 1.08125 },
        { time: T0 + 1000, bid: 1.08124, ask: 1.08126 },
        { time: T0 + 2000, bid: 1.08125, ask: 1.08127 },
      ]);
      expect(sink.events.some((event) => event.kind === 'fields')).toBe(false);
    });
  }

  it('decodes Windows-1252 text (a comment column with "€" and "é") into fields', async () => {
    const buf = eaFile([[mqlDateTime(T0), '1.1', 'café 5€']], 'windows-1252', ';', ['Time', 'Bid', 'Note']);
    expect(buf.includes(0x80)).toBe(true);
    const { sink } = await decode(buf);
    expect(sink.events.at(-1)).toEqual({ kind: 'fields', symbol: 'EURUSD_TickData', fields: { Note: 'café 5€' } });
  });

  it('reads encoding and delimiter as the source pins them', async () => {
    const buf = eaFile(tickLog(1), 'windows-1252', ';', ['Time', 'Ask', 'Bid', 'Volume']);
    const { sink } = await decode(buf, { encoding: 'windows-1252', delimiter: ';' });
    expect(sink.ticks).toEqual([{ time: T0, bid: 1.08123, ask: 1.08125 }]);
  });
});

describe('csv: column mapping', () => {
  it('without a header: time from the first column holding one, every other column in fields by position', async () => {
    const { sink } = await decode(eaFile([[mqlDateTime(T0), 11.75, 'flat']], 'utf16le', ','));
    expect(sink.ticks).toEqual([{ time: T0 }]);
    expect(sink.events.at(-1)).toMatchObject({ fields: { 2: 11.75, 3: 'flat' } });
  });

  it('maps columns by position or header name as configured, the rest to fields', async () => {
    const rows = [['EURUSD', '02/01/2024', '10:31:05', '1.1', '1.2', '1.15', '3', 'x']];
    const buf = eaFile(rows, 'utf8', ';', ['Sym', 'Day', 'Clock', 'B', 'A', 'L', 'Q', 'Note']);
    const options = { columns: { symbol: 'Sym', date: 2, time: 'Clock', bid: 'B', ask: 'A', last: 6, volume: 'Q' }, timeFormat: 'dmy' as const };
    const { sink } = await decode(buf, options, 'log.csv');
    expect(sink.problems).toEqual([]);
    expect(sink.events).toEqual([
      { kind: 'tick', symbol: 'EURUSD', tick: { time: T0, bid: 1.1, ask: 1.2, last: 1.15, size: 3 } },
      { kind: 'fields', symbol: 'EURUSD', fields: { Note: 'x' } },
    ]);
  });

  it('rejects a mapping naming a column the header lacks, and a file with no time column', async () => {
    const buf = eaFile(tickLog(1), 'utf8', ',', ['Time', 'Ask', 'Bid', 'Volume']);
    await expect(decoderFor(csvFormat, 'a.csv', { columns: { time: 'Time', last: 'Price' } }).open(bufferFile(buf), ALL_HISTORY)).rejects.toThrow(
      /columns\.last is "Price", which the header/,
    );
    const noTime = Buffer.from('Name,Bid\r\nEURUSD,1.1\r\n');
    expect(csvFormat.sniff?.(noTime, DEFAULT_FORMAT_OPTIONS)).toBe(false);
    await expect(decoderFor(csvFormat, 'a.csv').open(bufferFile(noTime), ALL_HISTORY)).rejects.toThrow(FormatError);
  });

  it('reads rows with open, high, low and close as bars of the inferred timeframe', async () => {
    const rows = Array.from({ length: 4 }, (_, i) => [mqlDateTime(Date.UTC(2024, 0, 2, 10) + i * 3_600_000), 1 + i, 2 + i, 0.5 + i, 1.5 + i, 100]);
    const { sink } = await decode(eaFile(rows, 'utf8', ',', ['Time', 'Open', 'High', 'Low', 'Close', 'Volume']));
    expect(sink.events.filter((event) => event.kind === 'bar').every((event) => event.timeframe === 'H1')).toBe(true);
    expect(sink.bars[3]).toEqual({ t: Date.UTC(2024, 0, 2, 13), o: 4, h: 5, l: 3.5, c: 4.5, v: 100 });
  });

  it('reads epoch times and server-time zones', async () => {
    const epoch = await decode(Buffer.from(`time,bid\n${T0},1.5\n${T0 / 1000 + 1},1.6\n`));
    expect(epoch.sink.ticks.map((tick) => tick.time)).toEqual([T0, T0 + 1000]);
    const zoned = await decode(eaFile(tickLog(1), 'utf8', ',', ['Time', 'Ask', 'Bid', 'Volume']), { timeZone: TimeZone.parse('Etc/GMT-2') });
    expect(zoned.sink.ticks[0]?.time).toBe(T0 - 2 * 3_600_000);
  });

  it('skips a line that does not parse, with its offset, and reads the lines after it', async () => {
    const text = 'Time,Bid\r\n2024.01.02 10:31:05,1.1\r\nnot a time,1.2\r\n2024.01.02 10:31:07,abc\r\n2024.01.02 10:31:08,1.3\r\n';
    const { sink } = await decode(Buffer.from(text));
    expect(sink.problems.map((problem) => problem.offset)).toEqual([text.indexOf('not a'), text.indexOf('2024.01.02 10:31:07')]);
    expect(sink.problems[0]?.reason).toMatch(/^no valid date and time at the start of the line \(14 characters\); line skipped$/);
    expect(sink.problems[1]?.reason).toMatch(/not a number/);
    expect(sink.ticks.map((tick) => tick.bid)).toEqual([1.1, 1.3]);
  });
});

describe('csv: byte-split invariance', () => {
  for (const encoding of ['utf16le', 'windows-1252'] as const) {
    it(`gives the same records whatever the runs the bytes arrive in (${encoding})`, async () => {
      const buf = eaFile(tickLog(40), encoding, ',', ['Time', 'Ask', 'Bid', 'Volume']);
      const whole = (await decode(buf)).sink.events;
      const start = (await decoderFor(csvFormat, 'a.csv').open(bufferFile(buf), ALL_HISTORY))!.offset;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: start, max: buf.length }), { maxLength: 25 }), async (splits) => {
          const decoder = decoderFor(csvFormat, 'EURUSD_TickData.csv');
          await decoder.open(bufferFile(buf), ALL_HISTORY);
          expect(feedInRuns(decoder, buf, start, splits).events).toStrictEqual(whole);
        }),
        { numRuns: 80 },
      );
    });
  }
});
