import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sierraTextFormat } from '../../src/formats/sierra-text.js';
import { DEFAULT_FORMAT_OPTIONS, FormatError } from '../../src/formats/types.js';
import { TimeZone } from '../../src/model/zone.js';
import { sierraTextFile, sierraTextHeader, type SierraBar, type SierraTextVariant } from '../../src/sim/sierra-text-writer.js';
import { ALL_HISTORY, bufferFile, decodeAll, decoderFor, feedInRuns } from './fixtures.js';

const T0 = Date.UTC(2026, 4, 7, 14, 0);

function bars(count: number, stepMs: number, start = T0): SierraBar[] {
  return Array.from({ length: count }, (_, i) => {
    const o = 6000 + i * 0.25;
    return {
      t: start + i * stepMs,
      o,
      h: o + 1,
      l: o - 0.5,
      c: o + 0.5,
      v: 10 + i,
      n: 3 + i,
      bv: 4 + i,
      av: 6,
      openInterest: 1000 + i,
      studies: [o - 1, o + 2, i, o + 3],
    };
  });
}

const decode = (variant: SierraTextVariant, name: string, rows: SierraBar[], options = {}, writer = {}) =>
  decodeAll(decoderFor(sierraTextFormat, name, options), Buffer.from(sierraTextFile(rows, variant, writer)));

describe('sierra-text: the file name', () => {
  it('drops -BarData, _BarData, -BarStudyData and a data-file extension left in the name', () => {
    expect(sierraTextFormat.symbolFor('ES.txt')).toBe('ES');
    expect(sierraTextFormat.symbolFor('ESM26-CME-BarData.txt')).toBe('ESM26-CME');
    expect(sierraTextFormat.symbolFor('NQZ25-CME.scid_BarData.txt')).toBe('NQZ25-CME');
    expect(sierraTextFormat.symbolFor('NQM26-CME.DAILY_BarData.txt')).toBe('NQM26-CME');
    expect(sierraTextFormat.symbolFor('ESM26-CME-BarStudyData.csv')).toBe('ESM26-CME');
    expect(sierraTextFormat.symbolFor('CLH25-NYM.dly')).toBe('CLH25-NYM');
  });

  it('sniffs each variant by its header, and nothing else', () => {
    const sniff = (text: string) => sierraTextFormat.sniff?.(Buffer.from(`${text}\r\n`), DEFAULT_FORMAT_OPTIONS);
    for (const variant of ['export', 'study2020', 'study2025', 'dly'] as const) expect(sniff(sierraTextHeader(variant)), variant).toBe(true);
    expect(sniff(sierraTextHeader('study2025', { tab: true, studyNames: ['Top'] }))).toBe(true);
    expect(sniff('Time,Bid,Ask')).toBe(false);
    expect(sniff('<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>')).toBe(false);
    expect(sierraTextFormat.sniff?.(Buffer.from('Date, Time, Op'), DEFAULT_FORMAT_OPTIONS)).toBeUndefined();
  });
});

describe('sierra-text: each writer', () => {
  it('"Export Bar Data": YYYY/M/D, padded milliseconds, Last; 1-minute bars go to M1', async () => {
    const rows = bars(5, 60_000);
    const { sink } = await decode('export', 'ES.txt', rows);
    expect(sink.problems).toEqual([]);
    const events = sink.events.filter((event) => event.kind === 'bar');
    expect(events.map((event) => event.timeframe)).toEqual(['M1', 'M1', 'M1', 'M1', 'M1']);
    expect(sink.bars[0]).toEqual({ t: T0, o: 6000, h: 6001, l: 5999.5, c: 6000.5, v: 10, n: 3, bv: 4, av: 6 });
    // A chart of sub-second bars prints milliseconds: 14:00:00.782.
    const fine = bars(3, 391);
    expect(sierraTextFile(fine, 'export')).toContain('2026/5/7, 14:00:00.782, ');
    const subSecond = await decode('export', 'ES.txt', fine);
    expect(subSecond.sink.bars.map((bar) => bar.t - T0)).toEqual([0, 391, 782]);
  });

  it('2020 "Write Bar Data To File": Close, YYYY/MM/DD and milliseconds printed without padding (.5 is 5 ms)', async () => {
    const rows = bars(3, 5_000);
    rows[1]!.t += 5;
    rows[2]!.t += 50;
    const text = sierraTextFile(rows, 'study2020');
    expect(text).toContain('2026/05/07, 14:00:05.5, ');
    const { sink } = await decodeAll(decoderFor(sierraTextFormat, 'ES-BarData.txt'), Buffer.from(text));
    expect(sink.bars.map((bar) => bar.t - T0)).toEqual([0, 5_005, 10_050]);
  });

  it('"Write Bar and Study Data To File": YYYY-M-D, 6-digit fractions, study columns by position (repeated names)', async () => {
    const studyNames = ['Top', 'Bottom', 'Top', 'Volume / Sec'];
    const rows = bars(4, 300_000);
    const { sink } = await decode('study2025', 'ES-BarStudyData.csv', rows, {}, { studyNames });
    expect(sink.problems).toEqual([]);
    expect(sink.events.filter((event) => event.kind === 'bar').every((event) => event.timeframe === 'M5')).toBe(true);
    // The averages are not kept; bid and ask volumes are.
    expect(sink.bars[3]).toEqual({ t: T0 + 900_000, o: 6000.75, h: 6001.75, l: 6000.25, c: 6001.25, v: 13, n: 6, bv: 7, av: 6 });
    const fields = sink.events.flatMap((event) => (event.kind === 'fields' ? [event.fields] : []));
    expect(fields.at(-1)).toEqual({ Top: 5999.75, Bottom: 6002.75, 'Top#2': 3, 'Volume / Sec': 6003.75 });
  });

  it('tab-delimited study output reads the same', async () => {
    const studyNames = ['Top'];
    const comma = await decode('study2025', 'A.txt', bars(3, 60_000), {}, { studyNames });
    const tab = await decode('study2025', 'A.txt', bars(3, 60_000), {}, { studyNames, tab: true });
    expect(tab.sink.events).toStrictEqual(comma.sink.events);
  });

  it('.dly daily files: D1 bars and OpenInterest in fields', async () => {
    const rows = bars(3, 86_400_000, Date.UTC(2025, 0, 6));
    const { sink } = await decode('dly', 'CLH25-NYM.dly', rows);
    expect(sink.events.filter((event) => event.kind === 'bar').every((event) => event.timeframe === 'D1')).toBe(true);
    expect(sink.bars[2]).toEqual({ t: Date.UTC(2025, 0, 8), o: 6000.5, h: 6001.5, l: 6000, c: 6001, v: 12 });
    expect(sink.events.at(-1)).toEqual({ kind: 'fields', symbol: 'CLH25-NYM', fields: { openInterest: 1002 } });
  });

  it('sub-minute bars merge into M1; a row repeating the last time replaces it; a 1-tick chart row is a trade', async () => {
    const rows = bars(3, 10_000);
    rows.push({ ...rows[2]!, c: 6002, v: 99 }); // the forming bar written again
    rows.push({ t: T0 + 40_000, o: 6001, h: 6001.25, l: 6000.75, c: 6001, v: 2, n: 1, bv: 2, av: 0 });
    const { sink } = await decode('export', 'ES.txt', rows);
    const kinds = sink.events.map((event) => (event.kind === 'bar' ? `bar${event.replacesLast ? '!' : ''}:${String(event.timeframe)}` : event.kind));
    expect(kinds).toEqual(['bar:null', 'bar:null', 'bar:null', 'bar!:null', 'tick']);
    expect(sink.ticks).toEqual([{ time: T0 + 40_000, bid: 6000.75, ask: 6001.25, last: 6001, size: 2 }]);
  });

  it('reads times in the source zone and day-first dates when told', async () => {
    const zone = TimeZone.parse('Europe/Berlin');
    const toWall = (t: number) => t + zone.offsetAt(t);
    const { sink } = await decode('export', 'ES.txt', bars(2, 60_000), { timeZone: zone }, { toWall });
    expect(sink.bars.map((bar) => bar.t)).toEqual([T0, T0 + 60_000]);
    const dmy = Buffer.from('Date, Time, Open, High, Low, Close\r\n07/05/2026, 14:00:00, 1, 2, 0.5, 1.5\r\n');
    expect((await decodeAll(decoderFor(sierraTextFormat, 'X.txt', { timeFormat: 'dmy' }), dmy)).sink.bars[0]?.t).toBe(T0);
    const unset = await decodeAll(decoderFor(sierraTextFormat, 'X.txt'), dmy);
    expect(unset.sink.problems[0]?.reason).toMatch(/set timeFormat to dmy or mdy/);
  });

  it('skips a bad line with its offset and reads the rest', async () => {
    const text = sierraTextFile(bars(3, 60_000), 'export').replace('6000.25, 6001.25', '6000.25, x');
    const header = `${sierraTextHeader('export')}\r\n`;
    const { sink } = await decodeAll(decoderFor(sierraTextFormat, 'ES.txt'), Buffer.from(text));
    expect(sink.problems).toHaveLength(1);
    expect(sink.problems[0]?.offset).toBe(text.indexOf('\n', header.length) + 1);
    expect(sink.problems[0]?.reason).toMatch(/not a number/);
    expect(sink.bars).toHaveLength(2);
  });

  it("rejects a header that is not Sierra's with FormatError", async () => {
    await expect(decoderFor(sierraTextFormat, 'X.txt').open(bufferFile(Buffer.from('Time, Bid, Ask\r\n')), ALL_HISTORY)).rejects.toThrow(FormatError);
  });

  it('gives the same records whatever the runs the bytes arrive in', async () => {
    const buf = Buffer.from(sierraTextFile(bars(40, 20_000), 'study2025', { studyNames: ['A', 'A'] }));
    const whole = (await decodeAll(decoderFor(sierraTextFormat, 'ES.txt'), buf)).sink.events;
    const start = buf.indexOf('\n') + 1;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: start, max: buf.length }), { maxLength: 25 }), async (splits) => {
        const decoder = decoderFor(sierraTextFormat, 'ES.txt');
        await decoder.open(bufferFile(buf), ALL_HISTORY);
        expect(feedInRuns(decoder, buf, start, splits).events).toStrictEqual(whole);
      }),
      { numRuns: 100 },
    );
  });
});
