import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mt5BarsFormat } from '../../src/formats/mt5-bars.js';
import { DEFAULT_FORMAT_OPTIONS, FormatError } from '../../src/formats/types.js';
import { TimeZone } from '../../src/model/zone.js';
import { mt5BarHeader, mt5BarRow, type Mt5Bar, type Mt5Encoding } from '../../src/sim/mt5-writer.js';
import { ALL_HISTORY, bufferFile, decodeAll, decoderFor, feedInRuns } from './fixtures.js';

const T0 = Date.UTC(2024, 0, 2);

function mt5Bars(count: number, stepMs: number, start = T0): Mt5Bar[] {
  return Array.from({ length: count }, (_, i) => {
    const o = 1.10421 + i * 0.0001;
    return { t: start + i * stepMs, o, h: o + 0.00012, l: o - 0.00016, c: o - 0.0001, tickVolume: 12 + i, volume: 0, spread: 6 + (i % 3) };
  });
}

function exportFile(bars: readonly Mt5Bar[], encoding: Mt5Encoding = 'utf8', withTime = true): Buffer {
  const text = [mt5BarHeader(withTime), ...bars.map((bar) => mt5BarRow(bar, 5, withTime))].map((row) => `${row}\r\n`).join('');
  return Buffer.concat([encoding === 'utf16le' ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0), Buffer.from(text, encoding)]);
}

describe('mt5-bars: names and sniffing', () => {
  it('takes the symbol and timeframe from SYMBOL_TF_from_to.csv', () => {
    expect(mt5BarsFormat.symbolFor('EURUSD_M1_202401020000_202406282359.csv')).toBe('EURUSD');
    expect(mt5BarsFormat.symbolFor('XAUUSDm_H4_202401020000_202406282359.csv')).toBe('XAUUSDm');
    expect(mt5BarsFormat.symbolFor('US500_Cash_D1_202401020000_202406282359.csv')).toBe('US500_Cash');
    expect(mt5BarsFormat.symbolFor('EURUSD_202401020000_202406282359.csv')).toBe('EURUSD');
  });

  it('sniffs the bars header with and without <TIME>, in UTF-8 and UTF-16LE', () => {
    for (const head of [exportFile([]), exportFile([], 'utf16le'), exportFile([], 'utf8', false)]) {
      expect(mt5BarsFormat.sniff?.(head, DEFAULT_FORMAT_OPTIONS)).toBe(true);
    }
    expect(mt5BarsFormat.sniff?.(Buffer.from('<DATE>\t<TIME>\t<BID>\t<ASK>\r\n'), DEFAULT_FORMAT_OPTIONS)).toBe(false);
  });
});

describe('mt5-bars: decoding', () => {
  it('reads each row as the bar of the named timeframe, tick volume when there is no real volume, spread in fields', async () => {
    for (const encoding of ['utf8', 'utf16le'] as const) {
      const bars = mt5Bars(3, 60_000);
      bars[2]!.volume = 250;
      const { sink } = await decodeAll(decoderFor(mt5BarsFormat, 'EURUSD_M1_202401020000_202401022359.csv'), exportFile(bars, encoding));
      expect(sink.problems).toEqual([]);
      expect(sink.events.filter((event) => event.kind === 'bar').map((event) => event.timeframe)).toEqual(['M1', 'M1', 'M1']);
      expect(sink.bars[0]).toEqual({ t: T0, o: 1.10421, h: 1.10433, l: 1.10405, c: 1.10411, v: 12 });
      expect(sink.bars[2]?.v).toBe(250);
      expect(sink.events.at(-1)).toEqual({ kind: 'fields', symbol: 'EURUSD', fields: { spread: 8 } });
    }
  });

  it('reads a D1 export without <TIME> at midnight of the server zone', async () => {
    const bars = mt5Bars(2, 86_400_000);
    const zone = TimeZone.parse('America/New_York+07:00');
    const { sink } = await decodeAll(decoderFor(mt5BarsFormat, 'EURUSD_D1_202401020000_202401032359.csv', { timeZone: zone }), exportFile(bars, 'utf8', false));
    // Midnight server time (UTC+2 in January) is 22:00 UTC the day before.
    expect(sink.bars.map((bar) => bar.t)).toEqual([T0 - 2 * 3_600_000, T0 + 86_400_000 - 2 * 3_600_000]);
  });

  it('infers the timeframe from the rows when the name does not say, or takes the configured one', async () => {
    const rows = exportFile(mt5Bars(5, 900_000));
    const inferred = await decodeAll(decoderFor(mt5BarsFormat, 'export.csv'), rows);
    expect(inferred.sink.events.find((event) => event.kind === 'bar')).toMatchObject({ timeframe: 'M15' });
    const pinned = await decodeAll(decoderFor(mt5BarsFormat, 'export.csv', { timeframe: 'H1' }), rows);
    expect(pinned.sink.events.find((event) => event.kind === 'bar')).toMatchObject({ timeframe: 'H1' });
  });

  it('rejects a timeframe the document does not keep (W1, MN1) with FormatError', async () => {
    const open = decoderFor(mt5BarsFormat, 'EURUSD_MN1_202401020000_202406282359.csv').open(bufferFile(exportFile(mt5Bars(2, 1))), ALL_HISTORY);
    await expect(open).rejects.toThrow(FormatError);
    await expect(open).rejects.toMatchObject({ code: 'FORMAT_TIMEFRAME' });
    await expect(open).rejects.toThrow(/MN1 is not one the document keeps/);
  });

  it('starts a large export near its end: only the bars the window keeps', async () => {
    const bars = mt5Bars(20_000, 60_000);
    const buf = exportFile(bars);
    const read = bufferFile(buf);
    const decoder = decoderFor(mt5BarsFormat, 'EURUSD_M1_202401020000_202406282359.csv');
    const start = await decoder.open(read, { historyMs: 0, maxBackfillBytes: 1 << 30, windows: { M1: 100 } });
    expect(read.stats.bytes).toBeLessThan(buf.length / 4);
    const rest = feedInRuns(decoder, buf, start!.offset, []);
    expect(rest.bars.length).toBeGreaterThanOrEqual(101);
    expect(rest.bars.length).toBeLessThan(2000);
    expect(rest.bars.at(-1)?.t).toBe(bars.at(-1)?.t);
  });

  it('gives the same records whatever the runs the bytes arrive in (UTF-16LE)', async () => {
    const buf = exportFile(mt5Bars(30, 300_000), 'utf16le');
    const name = 'GBPUSD_M5_202401020000_202401022359.csv';
    const whole = (await decodeAll(decoderFor(mt5BarsFormat, name), buf)).sink.events;
    const decoder = decoderFor(mt5BarsFormat, name);
    const start = (await decoder.open(bufferFile(buf), ALL_HISTORY))!.offset;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: start, max: buf.length }), { maxLength: 25 }), async (splits) => {
        const fresh = decoderFor(mt5BarsFormat, name);
        await fresh.open(bufferFile(buf), ALL_HISTORY);
        expect(feedInRuns(fresh, buf, start, splits).events).toStrictEqual(whole);
      }),
      { numRuns: 100 },
    );
  });
});
