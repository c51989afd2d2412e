import { describe, expect, it } from 'vitest';
import { mt5TicksFormat } from '../../src/formats/mt5-ticks.js';
import { DEFAULT_FORMAT_OPTIONS, FormatError, type TailDecoder, type TickRecord } from '../../src/formats/types.js';
import { MT5_TICK_HEADER, type Mt5Encoding } from '../../src/sim/mt5-writer.js';
import { ALL_HISTORY, bufferFile, decodeAll, expectedTick, marketTicks, mt5Decoder, mt5File, mt5Rows } from './fixtures.js';
import { RecordingSink } from './recording-sink.js';

const DAY = Date.UTC(2025, 0, 2);
const ENCODINGS: Mt5Encoding[] = ['utf8', 'utf16le'];
/** Bytes per character of ASCII text. */
const width = (encoding: Mt5Encoding): number => (encoding === 'utf16le' ? 2 : 1);
const bomBytes = (encoding: Mt5Encoding): number => (encoding === 'utf16le' ? 2 : 0);

describe('mt5-ticks: sniffing the header', () => {
  const sniff = (head: Buffer): boolean | undefined => mt5TicksFormat.sniff!(head, DEFAULT_FORMAT_OPTIONS);
  const row = '2025.01.02\t00:00:00.351\t1.03512\t1.03524\t\t\t6\r\n';

  it('recognises the tick header in UTF-8, UTF-8 with BOM, UTF-16LE with BOM and UTF-16LE without', () => {
    expect(sniff(Buffer.from(`${MT5_TICK_HEADER}\r\n${row}`))).toBe(true);
    expect(sniff(Buffer.from(`${MT5_TICK_HEADER}\n`))).toBe(true);
    expect(sniff(Buffer.from(`\uFEFF${MT5_TICK_HEADER}\r\n`))).toBe(true);
    expect(sniff(mt5File([row.trimEnd()], 'utf16le'))).toBe(true);
    expect(sniff(Buffer.from(`${MT5_TICK_HEADER}\r\n`, 'utf16le'))).toBe(true);
    // Lower case names and a header with only <LAST> (an exchange symbol) are tick headers too.
    expect(sniff(Buffer.from('<date>\t<time>\t<last>\t<volume>\t<flags>\r\n'))).toBe(true);
  });

  it('returns undefined while the header line is incomplete', () => {
    expect(sniff(Buffer.alloc(0))).toBeUndefined();
    expect(sniff(Buffer.from('<DATE>\t<TI'))).toBeUndefined();
    expect(sniff(Buffer.from(MT5_TICK_HEADER))).toBeUndefined();
    expect(sniff(Buffer.from([0xff, 0xfe]))).toBeUndefined();
    expect(sniff(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<DATE>\t<TIME>\t<BID>', 'utf16le')]))).toBeUndefined();
    // A UTF-16LE line end cut after its first byte is not a line end yet.
    const wide = mt5File([], 'utf16le');
    expect(sniff(wide.subarray(0, wide.length - 1))).toBeUndefined();
    expect(sniff(wide)).toBe(true);
  });

  it('rejects other headers and 4 KiB without a line end', () => {
    expect(sniff(Buffer.from('<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\r\n'))).toBe(false);
    expect(sniff(Buffer.from('Date, Time, Open, High, Low, Last, Volume\r\n'))).toBe(false);
    expect(sniff(Buffer.from('2025.01.02\t00:00:00.351\t1.03512\t1.03524\t\t\t6\r\n'))).toBe(false);
    expect(sniff(Buffer.alloc(4096, 'x'))).toBe(false);
  });
});

describe('mt5-ticks: symbol from the file name', () => {
  it('strips the _YYYYMMDDHHMM_YYYYMMDDHHMM export suffix and keeps broker suffixes', () => {
    expect(mt5TicksFormat.symbolFor('XAUUSD_202607011100_202609011203.csv')).toBe('XAUUSD');
    expect(mt5TicksFormat.symbolFor('/exports/EURUSD.a_202401020000_202406282359.csv')).toBe('EURUSD.a');
    expect(mt5TicksFormat.symbolFor('GER40_cash_202401020000_202406282359.txt')).toBe('GER40_cash');
    expect(mt5TicksFormat.symbolFor('XAUUSDm.csv')).toBe('XAUUSDm');
    // Not the export pattern (wrong digit counts): kept whole.
    expect(mt5TicksFormat.symbolFor('BTCUSD_2024_2025.csv')).toBe('BTCUSD_2024_2025');
    expect(mt5TicksFormat.symbolFor('BTCUSD_20240102000_202406282359.csv')).toBe('BTCUSD_20240102000_202406282359');
  });

  it('matches .csv and .txt names only', () => {
    expect(mt5TicksFormat.matchesName('XAUUSD_202607011100_202609011203.csv')).toBe(true);
    expect(mt5TicksFormat.matchesName('ticks.TXT')).toBe(true);
    expect(mt5TicksFormat.matchesName('XAUUSD.json')).toBe(false);
    expect(mt5TicksFormat.matchesName('ES.scid')).toBe(false);
  });
});

describe.each(ENCODINGS)('mt5-ticks: decoding rows (%s)', (encoding) => {
  const ROWS = [
    '2025.01.02\t00:00:00.351\t1.03512\t1.03524\t\t\t6',
    '2025.01.02\t00:00:00.500\t1.03515\t\t\t\t2',
    '2025.01.02\t00:00:01.000\t\t\t1.0352\t3\t56',
    '2025.01.02\t00:00:01.250\t\t1.0353\t\t\t4',
    '2025.01.02\t00:00:02.000\t1.03517\t1.03531\t1.03531\t2\t30',
    '2025.01.02\t00:00:02.100\t\t\t1.0353\t7\t8',
  ];
  const EXPECTED: TickRecord[] = [
    { time: DAY + 351, bid: 1.03512, ask: 1.03524 },
    { time: DAY + 500, bid: 1.03515, ask: 1.03524 },
    { time: DAY + 1000, bid: 1.03515, ask: 1.03524, last: 1.0352, size: 3 },
    { time: DAY + 1250, bid: 1.03515, ask: 1.0353 },
    { time: DAY + 2000, bid: 1.03517, ask: 1.03531, last: 1.03531, size: 2 },
    { time: DAY + 2100, bid: 1.03517, ask: 1.03531, last: 1.0353, size: 7 },
  ];

  it('carries bid/ask over empty fields, reads trades (FLAGS has LAST) and quotes (no last)', async () => {
    const file = mt5File(ROWS, encoding);
    const { sink, offset, consumed } = await decodeAll(mt5Decoder('EURUSD'), file);
    expect(offset).toBe(bomBytes(encoding) + (MT5_TICK_HEADER.length + 2) * width(encoding));
    expect(consumed).toBe(file.length - offset);
    expect(sink.problems).toEqual([]);
    expect(sink.ticks).toStrictEqual(EXPECTED);
    expect(sink.events.every((event) => event.kind === 'tick' && event.symbol === 'EURUSD')).toBe(true);
  });

  it('decodes LF and CRLF line ends alike (and a mix of them)', async () => {
    const crlf = await decodeAll(mt5Decoder(), mt5File(ROWS, encoding, '\r\n'));
    const lf = await decodeAll(mt5Decoder(), mt5File(ROWS, encoding, '\n'));
    const mixedText = ROWS.map((row, i) => `${row}${i % 2 ? '\n' : '\r\n'}`).join('');
    const mixed = Buffer.concat([mt5File([], encoding, '\n'), Buffer.from(mixedText, encoding)]);
    const mix = await decodeAll(mt5Decoder(), mixed);
    expect(lf.sink.ticks).toStrictEqual(EXPECTED);
    expect(crlf.sink.ticks).toStrictEqual(EXPECTED);
    expect(mix.sink.ticks).toStrictEqual(EXPECTED);
    expect(lf.sink.problems).toEqual([]);
  });

  it('treats LAST without a trade flag as no trade, and 0 fields as not given', async () => {
    const rows = [
      '2025.01.02\t00:00:00.351\t1.03512\t1.03524\t1.0352\t1\t6',
      '2025.01.02\t00:00:00.400\t0\t0.00000\t\t\t6',
      '2025.01.02\t00:00:00.450\t\t\t1.0352\t2\t88',
      '2025.01.02\t00:00:00.500\t\t\t1.0352\t2\t80',
      '2025.01.02\t00:00:00.550\t\t\t1.03521\t1\t48',
    ];
    const { sink } = await decodeAll(mt5Decoder(), mt5File(rows, encoding));
    expect(sink.ticks).toStrictEqual([
      { time: DAY + 351, bid: 1.03512, ask: 1.03524 },
      { time: DAY + 400, bid: 1.03512, ask: 1.03524 },
      { time: DAY + 450, bid: 1.03512, ask: 1.03524, last: 1.0352, size: 2 },
      // 80 = VOLUME|SELL and 48 = VOLUME|BUY: an aggressor flag without the LAST bit is still a trade.
      { time: DAY + 500, bid: 1.03512, ask: 1.03524, last: 1.0352, size: 2 },
      { time: DAY + 550, bid: 1.03512, ask: 1.03524, last: 1.03521, size: 1 },
    ]);
  });

  it('takes LAST as a trade when FLAGS gives no answer (empty field or no column)', async () => {
    const empty = await decodeAll(mt5Decoder(), mt5File(['2025.01.02\t00:00:00.351\t1.03512\t1.03524\t1.0352\t4\t'], encoding));
    expect(empty.sink.ticks).toStrictEqual([{ time: DAY + 351, bid: 1.03512, ask: 1.03524, last: 1.0352, size: 4 }]);
    const noFlags = await decodeAll(
      mt5Decoder(),
      mt5File(['2025.01.02\t00:00:00.351\t1.03512\t1.03524\t1.0352\t4'], encoding, '\r\n', '<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>'),
    );
    expect(noFlags.sink.ticks).toStrictEqual(empty.sink.ticks);
  });

  it('follows the column order the header gives', async () => {
    const header = '<TIME>\t<DATE>\t<LAST>\t<VOLUME>\t<FLAGS>\t<ASK>\t<BID>';
    const { sink } = await decodeAll(mt5Decoder(), mt5File(['00:00:01.000\t2025.01.02\t1.0352\t3\t56\t1.03524\t1.03512'], encoding, '\r\n', header));
    expect(sink.ticks).toStrictEqual([{ time: DAY + 1000, bid: 1.03512, ask: 1.03524, last: 1.0352, size: 3 }]);
  });

  it('reports a bad line with its byte offset and still decodes the lines after it', async () => {
    const rows = [
      ROWS[0]!,
      'this is not a tick',
      '2025.01.02\t00:00:00.400\tabc\t1.03524\t\t\t6',
      '2025.02.30\t00:00:00.450\t1.03512\t1.03524\t\t\t6',
      '',
      ...ROWS.slice(1),
    ];
    const file = mt5File(rows, encoding);
    const { sink, offset } = await decodeAll(mt5Decoder(), file);
    const lineStart = (index: number): number => offset + rows.slice(0, index).reduce((total, row) => total + (row.length + 2) * width(encoding), 0);
    expect(sink.problems.map((problem) => problem.offset)).toEqual([lineStart(1), lineStart(2), lineStart(3)]);
    expect(sink.problems[0]!.reason).toMatch(/DATE/);
    expect(sink.problems[1]!.reason).toMatch(/not a number/);
    // The text of the offending line really starts there.
    const at = sink.problems[0]!.offset;
    expect(file.subarray(at, at + 'this'.length * width(encoding)).toString(encoding)).toBe('this');
    expect(sink.ticks).toStrictEqual(EXPECTED);
  });

  it('leaves a partial last line for the next run', async () => {
    const file = mt5File(ROWS, encoding);
    const decoder = mt5Decoder();
    const start = await decoder.open(bufferFile(file), ALL_HISTORY);
    const cut = file.length - 5 * width(encoding);
    const sink = new RecordingSink();
    const consumed = decoder.decode(file.subarray(start!.offset, cut), start!.offset, sink);
    expect(sink.ticks).toStrictEqual(EXPECTED.slice(0, -1));
    expect(start!.offset + consumed).toBe(file.length - (ROWS[5]!.length + 2) * width(encoding));
  });
});

describe('mt5-ticks: open()', () => {
  async function openError(decoder: TailDecoder, buf: Buffer): Promise<FormatError> {
    const error = await decoder.open(bufferFile(buf), ALL_HISTORY).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FormatError);
    return error as FormatError;
  }

  it('throws FormatError for a header without <DATE>', async () => {
    const error = await openError(mt5Decoder(), Buffer.from('<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>\r\n00:00:00.351\t1\t2\t\t\t6\r\n'));
    expect(error.offset).toBe(0);
    expect(error.code).toBe('FORMAT_MISSING_COLUMNS');
    expect(error.message).toMatch(/<DATE>/);
    await openError(mt5Decoder(), mt5File([], 'utf16le', '\r\n', '<TIME>\t<BID>\t<ASK>'));
  });

  it('throws FormatError when the first 4 KiB hold no line end', async () => {
    expect((await openError(mt5Decoder(), Buffer.alloc(5000, 'x'))).code).toBe('FORMAT_NOT_TEXT');
  });

  it('returns null while the header is not complete', async () => {
    expect(await mt5Decoder().open(bufferFile(Buffer.alloc(0)), ALL_HISTORY)).toBeNull();
    expect(await mt5Decoder().open(bufferFile(Buffer.from('<DATE>\t<TIME>\t<BI')), ALL_HISTORY)).toBeNull();
    expect(await mt5Decoder().open(bufferFile(Buffer.from([0xff, 0xfe, 0x3c])), ALL_HISTORY)).toBeNull();
  });

  it('names the header bytes as the fingerprint', async () => {
    expect(await mt5Decoder().open(bufferFile(mt5File([], 'utf8')), ALL_HISTORY)).toEqual({
      offset: MT5_TICK_HEADER.length + 2,
      fingerprintBytes: MT5_TICK_HEADER.length + 2,
    });
    const wideHeader = 2 + (MT5_TICK_HEADER.length + 2) * 2;
    expect(await mt5Decoder().open(bufferFile(mt5File([], 'utf16le')), ALL_HISTORY)).toEqual({ offset: wideHeader, fingerprintBytes: wideHeader });
  });
});

describe.each(ENCODINGS)('mt5-ticks: open() on a large file starts near the tail (%s)', (encoding) => {
  // About 55,000 rows over ~10.7 hours: 2.3 MB in UTF-8, 4.6 MB in UTF-16LE.
  const ticks = marketTicks(21, 55_000, { stepMs: 700 });
  const rows = mt5Rows(ticks);
  const file = mt5File(rows, encoding);
  const newest = ticks[ticks.length - 1]!.time;
  const dataStart = bomBytes(encoding) + (MT5_TICK_HEADER.length + 2) * width(encoding);
  /** Byte offset of every row. */
  const rowOffsets: number[] = [];
  rows.reduce((at, row) => {
    rowOffsets.push(at);
    return at + (row.length + 2) * width(encoding);
  }, dataStart);
  const PROBE = 64 * 1024;

  async function openAt(historyMs: number, maxBackfillBytes = 256 << 20): Promise<{ offset: number; reads: number; bytes: number }> {
    const disk = bufferFile(file);
    const start = await mt5Decoder().open(disk, { historyMs, maxBackfillBytes });
    expect(start).not.toBeNull();
    return { offset: start!.offset, reads: disk.stats.reads, bytes: disk.stats.bytes };
  }

  it('is large and spans many hours', () => {
    expect(file.length).toBeGreaterThan(2_000_000 * width(encoding));
    expect(newest - ticks[0]!.time).toBeGreaterThan(10 * 3_600_000);
  });

  for (const minutes of [1, 10, 60, 240]) {
    it(`keeps every tick of the last ${minutes} min and at most one extra window`, async () => {
      const historyMs = minutes * 60_000;
      const cutoff = newest - historyMs;
      const { offset, bytes } = await openAt(historyMs);
      expect(offset).toBeGreaterThan(dataStart);
      // The start is a row start.
      const row = rowOffsets.indexOf(offset);
      expect(row).toBeGreaterThan(0);
      // Decoding from there gives the rows from there, with nothing needed missing.
      const sink = new RecordingSink();
      const decoder = mt5Decoder();
      await decoder.open(bufferFile(file), { historyMs, maxBackfillBytes: 256 << 20 });
      decoder.decode(file.subarray(offset), offset, sink);
      expect(sink.problems).toEqual([]);
      expect(sink.ticks).toHaveLength(ticks.length - row);
      expect(sink.ticks[0]!.time).toBe(ticks[row]!.time);
      expect(ticks[row - 1]!.time).toBeLessThan(cutoff);
      // The first decoded tick is within historyMs of the newest, plus at most one extra window:
      // no more history bytes before the cutoff than after it (and at least one probe).
      const firstNeeded = ticks.findIndex((tick) => tick.time >= cutoff);
      const needed = file.length - rowOffsets[firstNeeded]!;
      const extra = rowOffsets[firstNeeded]! - offset;
      expect(extra).toBeLessThanOrEqual(Math.max(needed, PROBE) + 200);
      // It read a fraction of the file to decide.
      expect(bytes).toBeLessThan(Math.max(needed, PROBE) * 4 + 3 * PROBE);
      if (minutes <= 10) expect(bytes).toBeLessThan(file.length / 4);
    });
  }

  it('respects maxBackfillBytes even when more history is wanted', async () => {
    const cap = 300_000;
    const { offset } = await openAt(Number.MAX_SAFE_INTEGER, cap);
    expect(offset).toBeGreaterThanOrEqual(file.length - cap);
    expect(rowOffsets).toContain(offset);
    // It is the first row start inside the cap.
    const row = rowOffsets.indexOf(offset);
    expect(rowOffsets[row - 1]!).toBeLessThan(file.length - cap);
  });

  it('starts at the first row when all history is wanted', async () => {
    const { offset } = await openAt(Number.MAX_SAFE_INTEGER);
    expect(offset).toBe(dataStart);
  });

  it('decodes the needed ticks exactly as they were written', async () => {
    const historyMs = 5 * 60_000;
    const { offset } = await openAt(historyMs);
    const row = rowOffsets.indexOf(offset);
    const sink = new RecordingSink();
    const decoder = mt5Decoder();
    await decoder.open(bufferFile(file), { historyMs, maxBackfillBytes: 256 << 20 });
    decoder.decode(file.subarray(offset), offset, sink);
    // Bid and ask carry over empty fields, so compare from the first tick that has both:
    // from there on every carried value was given inside the decoded range.
    const decoded = sink.ticks;
    const firstFull = decoded.findIndex((tick) => tick.bid !== undefined && tick.ask !== undefined);
    expect(firstFull).toBeGreaterThanOrEqual(0);
    expect(firstFull).toBeLessThan(50);
    const sinceFull = decoded.slice(firstFull);
    const trailing = ticks.slice(row + firstFull);
    expect(sinceFull).toStrictEqual(trailing.map(expectedTick));
    expect(sinceFull.some((tick) => tick.last !== undefined)).toBe(true);
  });
});
