import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeText, firstLine, forEachLine, LineReader, lineTailStart, MAX_LINE_BYTES, sniffEncoding } from '../../src/formats/text.js';
import { bufferFile } from './fixtures.js';
import type { TextEncoding } from '../../src/formats/types.js';

interface Split {
  lines: { text: string; offset: number }[];
  overflows: number[];
  consumed: number;
}

function split(chunk: Buffer, encoding: TextEncoding, offset = 0): Split {
  const lines: Split['lines'] = [];
  const overflows: Split['overflows'] = [];
  const consumed = forEachLine(
    chunk,
    offset,
    encoding,
    (text, at) => lines.push({ text, offset: at }),
    (at) => overflows.push(at),
  );
  return { lines, overflows, consumed };
}

describe('text: sniffEncoding', () => {
  it('recognises byte-order marks', () => {
    expect(sniffEncoding(Buffer.from([0xff, 0xfe, 0x3c, 0x00]))).toEqual({ encoding: 'utf16le', bomBytes: 2 });
    expect(sniffEncoding(Buffer.from([0xff, 0xfe]))).toEqual({ encoding: 'utf16le', bomBytes: 2 });
    expect(sniffEncoding(Buffer.from([0xef, 0xbb, 0xbf, 0x7b]))).toEqual({ encoding: 'utf8', bomBytes: 3 });
  });

  it('recognises UTF-16LE without a BOM by its zero bytes', () => {
    expect(sniffEncoding(Buffer.from('<DATE>\t<TIME>\t<BID>\r\n', 'utf16le'))).toEqual({ encoding: 'utf16le', bomBytes: 0 });
    expect(sniffEncoding(Buffer.from('2020.04.01 00:00:00,11.75,14.26\r\n', 'utf16le'))).toEqual({ encoding: 'utf16le', bomBytes: 0 });
    // Too short to tell: plain UTF-8.
    expect(sniffEncoding(Buffer.from('a', 'utf16le'))).toEqual({ encoding: 'utf8', bomBytes: 0 });
  });

  it('takes valid UTF-8 as UTF-8, even when the head cuts a character in two', () => {
    expect(sniffEncoding(Buffer.from('<DATE>\t<TIME>\r\n'))).toEqual({ encoding: 'utf8', bomBytes: 0 });
    expect(sniffEncoding(Buffer.from('symbol,note\r\nEURUSD,café\r\n'))).toEqual({ encoding: 'utf8', bomBytes: 0 });
    const euro = Buffer.from('price €');
    expect(sniffEncoding(euro.subarray(0, euro.length - 1))).toEqual({ encoding: 'utf8', bomBytes: 0 });
    expect(sniffEncoding(Buffer.alloc(0))).toEqual({ encoding: 'utf8', bomBytes: 0 });
  });

  it('takes invalid UTF-8 as Windows-1252 (byte 0xE9 is "é")', () => {
    const ansi = Buffer.from([...Buffer.from('symbol,note\r\nEURUSD,caf'), 0xe9, 0x0d, 0x0a]);
    expect(sniffEncoding(ansi)).toEqual({ encoding: 'windows-1252', bomBytes: 0 });
    expect(decodeText(ansi, 'windows-1252')).toBe('symbol,note\r\nEURUSD,café\r\n');
    expect(decodeText(Buffer.from([0xe9]), 'windows-1252')).toBe('é');
    // Windows-1252, not Latin-1: 0x80-0x9F are printable (0x80 is the euro sign).
    expect(decodeText(Buffer.from([0x80, 0x31]), 'windows-1252')).toBe('€1');
    expect(decodeText(Buffer.from([0x93, 0x61, 0x94, 0x20, 0x92, 0x96, 0x99, 0x9f]), 'windows-1252')).toBe('\u201ca\u201d \u2019\u2013\u2122\u0178');
    // The five bytes Windows-1252 leaves undefined stay C1 controls (WHATWG).
    expect(decodeText(Buffer.from([0x81, 0x8d, 0x8f, 0x90, 0x9d]), 'windows-1252')).toBe('\u0081\u008d\u008f\u0090\u009d');
    // A line of an ANSI file read as UTF-8 falls back per line.
    expect(decodeText(Buffer.from([0x80, 0x20, 0x35]), 'utf8')).toBe('€ 5');
  });
});

describe('text: decodeText', () => {
  it('decodes each encoding, and falls back to Windows-1252 for a line that is not UTF-8', () => {
    expect(decodeText(Buffer.from('café'), 'utf8')).toBe('café');
    expect(decodeText(Buffer.from('café', 'utf16le'), 'utf16le')).toBe('café');
    expect(decodeText(Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'utf8')).toBe('café');
  });
});

describe('text: forEachLine', () => {
  it('returns the bytes up to the end of the last complete line (CRLF and LF)', () => {
    const chunk = Buffer.from('a\r\nbb\n\r\ncc');
    const { lines, overflows, consumed } = split(chunk, 'utf8', 1000);
    expect(lines).toEqual([
      { text: 'a', offset: 1000 },
      { text: 'bb', offset: 1003 },
      { text: '', offset: 1006 },
    ]);
    expect(consumed).toBe(8);
    expect(overflows).toEqual([]);
  });

  it('consumes nothing without a line end, and a lone CR is not one', () => {
    expect(split(Buffer.alloc(0), 'utf8')).toEqual({ lines: [], overflows: [], consumed: 0 });
    expect(split(Buffer.from('2025.01.02\t00:00'), 'utf8').consumed).toBe(0);
    expect(split(Buffer.from('a\rb\r'), 'utf8').consumed).toBe(0);
    // A CR in the middle of a line stays in the text; only the one before LF is dropped.
    expect(split(Buffer.from('a\rb\r\n'), 'utf8').lines).toEqual([{ text: 'a\rb', offset: 0 }]);
  });

  it('keeps multi-byte UTF-8 characters whole', () => {
    const chunk = Buffer.from('prix 5€\r\nnext\r\n');
    expect(split(chunk, 'utf8').lines.map((line) => line.text)).toEqual(['prix 5€', 'next']);
  });

  it('decodes Windows-1252 lines', () => {
    const chunk = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0d, 0x0a]);
    expect(split(chunk, 'windows-1252').lines).toEqual([{ text: 'café', offset: 0 }]);
  });

  it('in UTF-16LE, ends lines only at 0A 00 on an even offset', () => {
    // U+0A00 then U+0100 encode as 00 0A 00 01: a 0x0A followed by 0x00 at an odd offset.
    const tricky = 'x\u0a00\u0100y';
    expect(Buffer.from(tricky, 'utf16le').indexOf(Buffer.from([0x0a, 0x00]))).toBe(3);
    // U+010A encodes as 0A 01: a 0x0A at an even offset that is not a line end.
    const chunk = Buffer.from(`${tricky}\r\n\u010Az\n`, 'utf16le');
    const { lines, consumed } = split(chunk, 'utf16le', 10);
    expect(lines).toEqual([
      { text: tricky, offset: 10 },
      { text: '\u010Az', offset: 10 + (tricky.length + 2) * 2 },
    ]);
    expect(consumed).toBe(chunk.length);
  });

  it('in UTF-16LE, waits for the second byte of a line end', () => {
    const chunk = Buffer.from('ab\r\ncd\r\n', 'utf16le');
    const { lines, consumed } = split(chunk.subarray(0, chunk.length - 1), 'utf16le');
    expect(lines.map((line) => line.text)).toEqual(['ab']);
    expect(consumed).toBe(8);
    expect(split(chunk.subarray(0, 7), 'utf16le').consumed).toBe(0);
  });

  it('reports a complete over-long line via onOverflow and goes on', () => {
    const long = 'x'.repeat(MAX_LINE_BYTES + 10);
    const chunk = Buffer.from(`ok\n${long}\r\nafter\n`);
    const { lines, overflows, consumed } = split(chunk, 'utf8', 50);
    expect(lines).toEqual([
      { text: 'ok', offset: 50 },
      { text: 'after', offset: 50 + 3 + long.length + 2 },
    ]);
    expect(overflows).toEqual([53]);
    expect(consumed).toBe(chunk.length);
  });

  it('reports and drops an over-long partial line instead of keeping it', () => {
    const chunk = Buffer.from(`ok\n${'y'.repeat(MAX_LINE_BYTES + 1)}`);
    const { lines, overflows, consumed } = split(chunk, 'utf8');
    expect(lines.map((line) => line.text)).toEqual(['ok']);
    expect(overflows).toEqual([3]);
    expect(consumed).toBe(chunk.length);
    // In UTF-16LE only whole code units are dropped.
    const wide = Buffer.concat([Buffer.from('ok\n', 'utf16le'), Buffer.alloc(MAX_LINE_BYTES + 3, 0x41)]);
    const result = split(wide, 'utf16le');
    expect(result.overflows).toEqual([6]);
    expect(result.consumed).toBe(wide.length - 1);
  });

  it('skips the rest of an over-long line that later reads bring, and reports it once', () => {
    for (const encoding of ['utf8', 'utf16le'] as const) {
      const unit = encoding === 'utf16le' ? 2 : 1;
      const bytes = Buffer.from(`ok\n${'z'.repeat(MAX_LINE_BYTES + 5)}${'w'.repeat(300)}\nafter\n`, encoding);
      const cut = (3 + MAX_LINE_BYTES + 5) * unit;
      const reader = new LineReader(encoding);
      const lines: string[] = [];
      const overflows: number[] = [];
      const onLine = (text: string): number => lines.push(text);
      const onOverflow = (at: number): number => overflows.push(at);
      const first = reader.read(bytes.subarray(0, cut), 0, onLine, onOverflow);
      expect(first).toBe(cut);
      // The next read starts inside the skipped line: its rest is not a line of its own.
      expect(reader.read(bytes.subarray(cut), cut, onLine, onOverflow)).toBe(bytes.length - cut);
      expect(lines).toEqual(['ok', 'after']);
      expect(overflows).toEqual([3 * unit]);
      // Read whole, the same.
      const whole = split(bytes, encoding);
      expect(whole.lines.map((line) => line.text)).toEqual(['ok', 'after']);
      expect(whole.overflows).toEqual([3 * unit]);
    }
  });

  it('gives the same lines for any split into runs (property)', () => {
    const texts = fc.array(fc.string({ unit: fc.constantFrom('a', 'é', '€', '\t', ' ', '1', '\u0a00', '\u0100', '\r'), maxLength: 12 }), { maxLength: 12 });
    fc.assert(
      fc.property(texts, fc.constantFrom<'utf8' | 'utf16le'>('utf8', 'utf16le'), fc.array(fc.nat(400), { maxLength: 6 }), (lines, encoding, cuts) => {
        const chunk = Buffer.from(lines.map((line) => `${line}\n`).join(''), encoding);
        const whole = split(chunk, encoding);
        expect(whole.consumed).toBe(chunk.length);
        const got: Split['lines'] = [];
        let carry = Buffer.alloc(0);
        let position = 0;
        const points = [...new Set(cuts.map((cut) => cut % (chunk.length + 1)))].sort((a, b) => a - b);
        for (const end of [...points, chunk.length]) {
          if (end < position) continue;
          const run = Buffer.concat([carry, chunk.subarray(position, end)]);
          const start = position - carry.length;
          const part = split(run, encoding, start);
          got.push(...part.lines);
          carry = run.subarray(part.consumed);
          position = end;
        }
        expect(carry.length).toBe(0);
        expect(got).toEqual(whole.lines);
        // Lines come back as written (a CR just before a line end is part of the line end).
        expect(whole.lines.map((line) => line.text)).toEqual(lines.map((line) => line.replace(/\r$/, '')));
      }),
      { numRuns: 300 },
    );
  });
});

describe('text: firstLine', () => {
  it('gives the first line and its length with the line end', () => {
    expect(firstLine(Buffer.from('head\r\nrow\r\n'), 'utf8')).toEqual({ text: 'head', length: 6 });
    expect(firstLine(Buffer.from('head\r\nrow\r\n', 'utf16le'), 'utf16le')).toEqual({ text: 'head', length: 12 });
    expect(firstLine(Buffer.from('head'), 'utf8')).toBeNull();
  });
});

describe('text: lineTailStart', () => {
  /** Lines "<seconds>,<padding>" one second apart, after a header. */
  function timedFile(count: number, encoding: TextEncoding, seed = 1): { buf: Buffer; dataStart: number; offsets: number[]; times: number[] } {
    const header = 'time,pad\r\n';
    const offsets: number[] = [];
    const times: number[] = [];
    const unit = encoding === 'utf16le' ? 2 : 1;
    let text = header;
    let state = seed;
    for (let i = 0; i < count; i++) {
      state = (state * 1103515245 + 12345) % 2147483648;
      offsets.push(text.length * unit);
      times.push(i * 1000);
      text += `${i},${'p'.repeat(state % 60)}\r\n`;
    }
    return { buf: Buffer.from(text, encoding === 'utf16le' ? 'utf16le' : 'latin1'), dataStart: header.length * unit, offsets, times };
  }
  const timeOf = (line: string): number => {
    const comma = line.indexOf(',');
    return comma > 0 && /^\d+$/.test(line.slice(0, comma)) ? Number(line.slice(0, comma)) * 1000 : Number.NaN;
  };

  it('starts at the data when the file is small', async () => {
    const { buf, dataStart } = timedFile(100, 'utf8');
    expect(await lineTailStart(bufferFile(buf), { historyMs: 1000, maxBackfillBytes: 1 << 30, dataStart, encoding: 'utf8', timeOf })).toBe(dataStart);
  });

  it('starts on a line start even when the cap falls inside the last line', async () => {
    for (const encoding of ['utf8', 'utf16le'] as const) {
      const { buf, dataStart, offsets } = timedFile(5000, encoding);
      const last = offsets[offsets.length - 1]!;
      for (const cap of [0, 1, 2, 3, buf.length - last - 2, buf.length - last]) {
        const offset = await lineTailStart(bufferFile(buf), { historyMs: 1e12, maxBackfillBytes: cap, dataStart, encoding, timeOf });
        expect([...offsets, buf.length], `${encoding} cap ${cap}`).toContain(offset);
        expect(offset).toBeGreaterThanOrEqual(buf.length - cap - (encoding === 'utf16le' ? 1 : 0));
      }
    }
  });

  for (const encoding of ['utf8', 'utf16le'] as const) {
    it(`never starts after a needed line, nor more than one window early (${encoding}, property)`, async () => {
      const { buf, dataStart, offsets, times } = timedFile(12_000, encoding);
      const newest = times[times.length - 1]!;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: newest + 5000 }), fc.integer({ min: 0, max: buf.length + 100 }), async (historyMs, maxBackfillBytes) => {
          const disk = bufferFile(buf);
          const offset = await lineTailStart(disk, { historyMs, maxBackfillBytes, dataStart, encoding, timeOf });
          const unit = encoding === 'utf16le' ? 2 : 1;
          // The cap in whole code units (in UTF-16LE it may start one byte before an odd cap).
          const capAt = Math.max(dataStart, buf.length - maxBackfillBytes);
          const limit = capAt - ((capAt - dataStart) % unit);
          // Line starts, and the end of the file (nothing to read yet).
          const starts = [...offsets, buf.length];
          const row = starts.indexOf(offset);
          // Always a line start, never before the backfill limit.
          expect(row, `offset ${offset} of ${buf.length}`).toBeGreaterThanOrEqual(0);
          expect(offset).toBeGreaterThanOrEqual(limit);
          const firstNeeded = times.findIndex((time) => time >= newest - historyMs);
          const firstAllowed = starts.findIndex((at) => at >= limit);
          const from = Math.max(firstNeeded, firstAllowed);
          // Every needed line that the cap allows is kept.
          expect(row).toBeLessThanOrEqual(from);
          // At most one extra window of older lines.
          const neededBytes = buf.length - starts[from]!;
          expect(starts[from]! - offset).toBeLessThanOrEqual(Math.max(neededBytes, 64 * 1024) + 200);
        }),
        { numRuns: 50 },
      );
    });
  }
});
