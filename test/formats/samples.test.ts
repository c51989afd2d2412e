import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { csvFormat } from '../../src/formats/csv.js';
import { FormatRegistry } from '../../src/formats/registry.js';
import { sierraTextFormat } from '../../src/formats/sierra-text.js';
import { TimeZone } from '../../src/model/zone.js';
import { ALL_HISTORY, decodeAll, decoderFor, feedInRuns, HAS_SAMPLES, samplePath, SAMPLES_SKIP_NOTE } from './fixtures.js';

/**
 * The real files in ../shared/samples/ (FORMATS.md §6) decode to the values they hold. The
 * `.scid` sample is checked record by record in scid.test.ts; the text samples here.
 */

const read = (name: string): Buffer => readFileSync(samplePath(name));

describe(`samples: ES.txt, a Sierra Chart "Export Bar Data" file${SAMPLES_SKIP_NOTE}`, () => {
  it.skipIf(!HAS_SAMPLES)('is recognised as a Sierra text export and named after the file', () => {
    const buf = read('ES.txt');
    expect(new FormatRegistry().detect('ES.txt', buf.subarray(0, 4096))?.name).toBe('sierra-text');
    expect(sierraTextFormat.symbolFor('ES.txt')).toBe('ES');
  });

  it.skipIf(!HAS_SAMPLES)('decodes its 999 one-second bars: sub-minute, so merged into M1', async () => {
    const buf = read('ES.txt');
    const { sink, offset } = await decodeAll(decoderFor(sierraTextFormat, 'ES.txt'), buf);
    expect(offset).toBe(Buffer.byteLength('Date, Time, Open, High, Low, Last, Volume, NumberOfTrades, BidVolume, AskVolume\r\n'));
    expect(sink.problems).toEqual([]);
    const bars = sink.events.flatMap((event) => (event.kind === 'bar' ? [event] : []));
    expect(bars).toHaveLength(999);
    expect(bars.every((event) => event.timeframe === null && event.symbol === 'ES')).toBe(true);
    // 2011/1/2, 23:00:00, 1256.00, 1256.50, 1255.25, 1256.50, 475, 155, 375, 393 (the one row
    // whose bid and ask volumes do not add up to its volume, kept as written)
    expect(bars[0]?.bar).toEqual({ t: Date.UTC(2011, 0, 2, 23), o: 1256, h: 1256.5, l: 1255.25, c: 1256.5, v: 475, n: 155, bv: 375, av: 393 });
    // 2011/1/3, 01:33:21, 1257.00, 1257.00, 1257.00, 1257.00, 1, 1, 1, 0
    expect(bars[998]?.bar).toEqual({ t: Date.UTC(2011, 0, 3, 1, 33, 21), o: 1257, h: 1257, l: 1257, c: 1257, v: 1, n: 1, bv: 1, av: 0 });
    expect(bars.filter((event) => (event.bar.bv ?? 0) + (event.bar.av ?? 0) !== event.bar.v)).toHaveLength(1);
    const times = bars.map((event) => event.bar.t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it.skipIf(!HAS_SAMPLES)('reads its times in the chart zone the source names', async () => {
    const { sink } = await decodeAll(decoderFor(sierraTextFormat, 'ES.txt', { timeZone: TimeZone.parse('America/New_York') }), read('ES.txt'));
    // 23:00 New York (EST, UTC-5) is 04:00 UTC the next day.
    expect(sink.bars[0]?.t).toBe(Date.UTC(2011, 0, 3, 4));
  });

  it.skipIf(!HAS_SAMPLES)('gives the same bars however its bytes are split', async () => {
    const buf = read('ES.txt');
    const whole = (await decodeAll(decoderFor(sierraTextFormat, 'ES.txt'), buf)).sink.events;
    for (const splits of [[100, 101, 5000], [81 + 37, 30_000, 68_000], Array.from({ length: 60 }, (_, i) => 81 + i * 1111)]) {
      const decoder = decoderFor(sierraTextFormat, 'ES.txt');
      const start = await decoder.open({ size: buf.length, read: (at, length) => Promise.resolve(buf.subarray(at, at + length)) }, ALL_HISTORY);
      expect(feedInRuns(decoder, buf, start?.offset ?? 0, splits).events).toStrictEqual(whole);
    }
  });
});

describe(`samples: BBDC4MN1.csv and WDOV24M5-MA20.csv, written by an MT5 indicator${SAMPLES_SKIP_NOTE}`, () => {
  it.skipIf(!HAS_SAMPLES)('are UTF-16LE with a BOM, comma-delimited, without a header: read as generic CSV', () => {
    for (const name of ['BBDC4MN1.csv', 'WDOV24M5-MA20.csv']) {
      const buf = read(name);
      expect(buf.subarray(0, 2).toString('hex')).toBe('fffe');
      expect(new FormatRegistry().detect(name, buf.subarray(0, 4096))?.name).toBe('csv');
    }
  });

  it.skipIf(!HAS_SAMPLES)('BBDC4MN1.csv: 60 monthly rows, time in the first column, the rest in fields by position', async () => {
    const { sink, offset } = await decodeAll(decoderFor(csvFormat, 'BBDC4MN1.csv'), read('BBDC4MN1.csv'));
    expect(offset).toBe(2);
    expect(sink.problems).toEqual([]);
    expect(sink.ticks).toHaveLength(60);
    expect(sink.ticks[0]).toEqual({ time: Date.UTC(2020, 3, 1) });
    const fields = sink.events.flatMap((event) => (event.kind === 'fields' ? [event.fields] : []));
    // 2020.04.01 00:00:00,11.75,14.26,10.71,12.38,1518179,823586300
    expect(fields[0]).toEqual({ 2: 11.75, 3: 14.26, 4: 10.71, 5: 12.38, 6: 1518179, 7: 823586300 });
    expect(fields[1]).toEqual({ 2: 12.1, 3: 13.29, 4: 10.43, 5: 12.26, 6: 1575430, 7: 924202100 });
  });

  it.skipIf(!HAS_SAMPLES)('BBDC4MN1.csv with a column mapping: open/high/low/close bars of a fixed timeframe', async () => {
    const options = { columns: { time: 1, open: 2, high: 3, low: 4, close: 5, volume: 6 }, timeframe: 'D1' as const };
    const { sink } = await decodeAll(decoderFor(csvFormat, 'BBDC4MN1.csv', options), read('BBDC4MN1.csv'));
    expect(sink.bars).toHaveLength(60);
    expect(sink.bars[0]).toEqual({ t: Date.UTC(2020, 3, 1), o: 11.75, h: 14.26, l: 10.71, c: 12.38, v: 1518179 });
    const fields = sink.events.flatMap((event) => (event.kind === 'fields' ? [event.fields] : []));
    expect(fields[0]).toEqual({ 7: 823586300 });
  });

  it.skipIf(!HAS_SAMPLES)('WDOV24M5-MA20.csv: one row of mixed text and numbers', async () => {
    const { sink } = await decodeAll(decoderFor(csvFormat, 'WDOV24M5-MA20.csv'), read('WDOV24M5-MA20.csv'));
    expect(sink.problems).toEqual([]);
    expect(sink.ticks).toEqual([{ time: Date.UTC(2024, 8, 27, 14, 35) }]);
    // 2024.09.27 14:35:00,5433.0,5437.0,flat,0,1.0,20,MODE_EMA,PRICE_CLOSE
    expect(sink.events.find((event) => event.kind === 'fields')).toMatchObject({
      symbol: 'WDOV24M5-MA20',
      fields: { 2: 5433, 3: 5437, 4: 'flat', 5: 0, 6: 1, 7: 20, 8: 'MODE_EMA', 9: 'PRICE_CLOSE' },
    });
  });
});
