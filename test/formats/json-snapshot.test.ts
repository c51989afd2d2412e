import { describe, expect, it } from 'vitest';
import { jsonSnapshotFormat, toPartialDocument } from '../../src/formats/json-snapshot.js';
import { DEFAULT_FORMAT_OPTIONS, type FormatOptions, type WholeDecodeResult } from '../../src/formats/types.js';
import { TimeZone } from '../../src/model/zone.js';
import { RecordingSink } from './recording-sink.js';

const MTIME = 1_763_648_000_000;

function decode(content: string | Buffer, symbol = 'XAUUSD'): { result: WholeDecodeResult; sink: RecordingSink } {
  const decoder = jsonSnapshotFormat.createDecoder({ fileName: `${symbol}.json`, symbol });
  const sink = new RecordingSink();
  const result = decoder.decode(typeof content === 'string' ? Buffer.from(content) : content, sink, { mtimeMs: MTIME });
  return { result, sink };
}

/** Decodes content that must be rejected, and returns the reason given. */
function rejected(value: unknown): string {
  const { result, sink } = decode(JSON.stringify(value));
  expect(result).toEqual({ ok: true });
  expect(sink.documents).toEqual([]);
  expect(sink.problems).toHaveLength(1);
  expect(sink.problems[0]!.offset).toBe(0);
  return sink.problems[0]!.reason;
}

describe('json-snapshot: flat records', () => {
  it('puts bid/ask/last/lastSize/time into quote and every other key into fields', () => {
    const { result, sink } = decode('{"bid": 2650.1, "ask": 2650.4, "last": 2650.2, "lastSize": 1, "time": 1763648400123, "spread": 30, "session": "London"}');
    expect(result).toEqual({ ok: true });
    expect(sink.problems).toEqual([]);
    expect(sink.events).toStrictEqual([
      {
        kind: 'document',
        symbol: 'XAUUSD',
        partial: { quote: { bid: 2650.1, ask: 2650.4, last: 2650.2, lastSize: 1, time: 1763648400123 }, fields: { spread: 30, session: 'London' } },
        sourceTime: 1763648400123,
      },
    ]);
  });

  it('maps volume to lastSize and parses an ISO 8601 time', () => {
    const { sink } = decode('{"bid": 1.08123, "ask": 1.08125, "volume": 3, "time": "2025-11-20T14:20:00.123Z"}');
    const [document] = sink.documents;
    const time = Date.UTC(2025, 10, 20, 14, 20, 0, 123);
    expect(document!.partial).toStrictEqual({ quote: { bid: 1.08123, ask: 1.08125, lastSize: 3, time }, fields: {} });
    expect(document!.sourceTime).toBe(time);
    // An ISO time with an offset is converted to UTC.
    const offset = decode('{"bid": 1, "time": "2025-11-20T16:20:00.123+02:00"}');
    expect(offset.sink.documents[0]!.partial.quote?.time).toBe(time);
  });

  it('keeps volume in fields when lastSize is also given', () => {
    const { sink } = decode('{"last": 5, "lastSize": 2, "volume": 1200}');
    expect(sink.documents[0]!.partial).toStrictEqual({ quote: { last: 5, lastSize: 2 }, fields: { volume: 1200 } });
  });

  it('uses the file time as source time when the record has none, and skips null quote fields', () => {
    const { sink } = decode('{"bid": 1.08123, "ask": null, "last": 0.0}');
    expect(sink.documents[0]!.partial).toStrictEqual({ quote: { bid: 1.08123, last: 0 }, fields: {} });
    expect(sink.documents[0]!.sourceTime).toBe(MTIME);
  });

  it('tolerates a UTF-8 BOM and a trailing CRLF (DWX-style writers)', () => {
    const { result, sink } = decode(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"bid": 1.5, "ask": 1.6}\r\n')]));
    expect(result).toEqual({ ok: true });
    expect(sink.documents[0]!.partial.quote).toStrictEqual({ bid: 1.5, ask: 1.6 });
  });

  it('reads a UTF-16LE file with a BOM (MQL5 default encoding)', () => {
    const { sink } = decode(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"bid": 1.5, "note": "café"}', 'utf16le')]));
    expect(sink.documents[0]!.partial).toStrictEqual({ quote: { bid: 1.5 }, fields: { note: 'café' } });
  });
});

describe('json-snapshot: partial documents', () => {
  it('passes quote, bars, book and fields through (bars sorted by time)', () => {
    const partial = {
      quote: { bid: 6012.25, ask: 6012.5, last: 6012.25, lastSize: 3, time: 1763648400123.456 },
      bars: {
        M5: [
          { t: 1763648400000, o: 6012, h: 6013, l: 6011.5, c: 6012.25, v: 90 },
          { t: 1763648100000, o: 6011, h: 6012.5, l: 6010.75, c: 6012, v: 1520, n: 300, bv: 700, av: 820 },
        ],
        D1: [],
      },
      book: {
        bids: [
          [6012.25, 41],
          [6012.0, 87, 12],
        ],
        asks: [[6012.5, 12]],
        time: 1763648400120,
      },
      fields: { session: 'RTH', nested: { a: [1, 2] } },
    };
    const { result, sink } = decode(JSON.stringify(partial), 'ESZ25');
    expect(result).toEqual({ ok: true });
    expect(sink.problems).toEqual([]);
    const [document] = sink.documents;
    expect(document!.symbol).toBe('ESZ25');
    expect(document!.sourceTime).toBe(1763648400123.456);
    expect(document!.partial).toStrictEqual({
      ...partial,
      bars: { M5: [partial.bars.M5[1], partial.bars.M5[0]], D1: [] },
    });
  });

  it('accepts any subset of the four keys; a book side may be missing', () => {
    const { sink } = decode('{"book": {"asks": [[2650.4, 3]]}}');
    expect(sink.documents[0]!.partial).toStrictEqual({ book: { bids: [], asks: [[2650.4, 3]] } });
    expect(sink.documents[0]!.sourceTime).toBe(MTIME);
    expect(decode('{"fields": {"x": 1}}').sink.documents[0]!.partial).toStrictEqual({ fields: { x: 1 } });
  });
});

describe('json-snapshot: invalid shapes are reported, not applied', () => {
  it('rejects a top level that is not an object', () => {
    expect(rejected([{ bid: 1 }])).toMatch(/expected a JSON object, got an array/);
    expect(rejected(42)).toMatch(/expected a JSON object, got number 42/);
    expect(rejected(null)).toMatch(/got null/);
    expect(rejected('bid')).toMatch(/got a string of 3 characters/);
  });

  it('rejects a quote value that is not a number', () => {
    expect(rejected({ bid: '2650.1', ask: 2650.4 })).toMatch(/record\.bid must be a number, got a string of 6 characters/);
    expect(rejected({ quote: { ask: true } })).toMatch(/quote\.ask must be a number, got boolean true/);
    expect(rejected({ time: 'yesterday' })).toMatch(/record\.time \(a string of 9 characters\) is not an ISO 8601 time/);
    expect(rejected({ quote: [] })).toMatch(/quote must be an object, got an array/);
  });

  it('rejects an unknown key inside quote and unknown keys beside the document keys', () => {
    expect(rejected({ quote: { bid: 1, spread: 3 } })).toMatch(/quote may hold only bid, ask, last, lastSize, time; found 1 other keys/);
    expect(rejected({ quote: { bid: 1 }, spread: 3 })).toMatch(/may hold only quote, bars, book and fields; found 1 other keys/);
  });

  it('rejects a bad timeframe or a bad bar', () => {
    expect(rejected({ bars: { M2: [] } })).toMatch(/bars\.M2 is not a timeframe/);
    expect(rejected({ bars: [] })).toMatch(/bars must be an object of timeframes, got an array/);
    expect(rejected({ bars: { M1: {} } })).toMatch(/bars\.M1 must be an array, got an object/);
    expect(rejected({ bars: { M1: [{ t: 1, o: 1, l: 1, c: 1, v: 1 }] } })).toMatch(/bars\.M1\[0\]: h must be a number, got undefined/);
    expect(rejected({ bars: { M1: [{ t: 1, o: 1, h: 1, l: 1, c: 1, v: 1, n: '3' }] } })).toMatch(/bars\.M1\[0\]: n must be a number/);
    expect(rejected({ bars: { H1: [{ t: 1, o: 1, h: 1, l: 1, c: 1, v: 1 }, 7] } })).toMatch(/bars\.H1\[1\]: expected a bar object, got number 7/);
    expect(
      rejected({
        bars: {
          M1: [
            { t: 5, o: 1, h: 1, l: 1, c: 1, v: 1 },
            { t: 5, o: 2, h: 2, l: 2, c: 2, v: 2 },
          ],
        },
      }),
    ).toMatch(/two bars at t=5/);
  });

  it('rejects a bad book level', () => {
    expect(rejected({ book: { bids: [[1, 2], [1.5]] } })).toMatch(/book\.bids\[1\] must be \[price, size\] or \[price, size, orders\]/);
    expect(rejected({ book: { asks: [[1, 2, 3, 4]] } })).toMatch(/book\.asks\[0\] must be/);
    expect(rejected({ book: { asks: [[1, '2']] } })).toMatch(/book\.asks\[0\] must be/);
    expect(rejected({ book: { bids: {} } })).toMatch(/book\.bids must be an array/);
    expect(rejected({ book: { bids: [], time: 'now' } })).toMatch(/book\.time must be a number/);
  });

  it('rejects fields that are not an object', () => {
    expect(rejected({ fields: [1] })).toMatch(/fields must be an object, got an array/);
  });

  it('rejects a key JSON Patch appliers refuse, at any depth: the SDK could not follow a patch of it (found by the conformance check)', () => {
    expect(rejected(JSON.parse('{"bid": 1, "__proto__": {"x": 1}}'))).toBe(
      "record.__proto__: a key JSON Patch appliers refuse to patch (it reaches an object's prototype)",
    );
    expect(rejected(JSON.parse('{"fields": {"a": [{"__proto__": 1}]}}'))).toMatch(/^fields\.a\[0\]\.__proto__: a key JSON Patch appliers refuse/);
    expect(rejected({ bid: 1, constructor: { prototype: 2 } })).toMatch(/^record\.constructor\.prototype: /);
    // Harmless on their own.
    expect(decode('{"bid": 1, "constructor": 1, "prototype": 2}').sink.documents[0]?.partial.fields).toEqual({ constructor: 1, prototype: 2 });
  });

  it('validates with toPartialDocument directly', () => {
    expect(toPartialDocument({ bid: 1 })).toStrictEqual({ quote: { bid: 1 }, fields: {} });
    expect(typeof toPartialDocument({ quote: { bid: 'x' } })).toBe('string');
  });
});

describe('json-snapshot: half-written files', () => {
  it('reports an empty or blank file as incomplete and emits nothing', () => {
    for (const content of ['', '   \r\n', '\uFEFF']) {
      const { result, sink } = decode(content);
      expect(result).toEqual({ ok: false, incomplete: 'the file is empty' });
      expect(sink.events).toEqual([]);
    }
  });

  it('reports truncated JSON as incomplete and emits nothing', () => {
    const full = JSON.stringify({ quote: { bid: 2650.1, ask: 2650.4 }, fields: { spread: 30 } });
    for (let cut = 1; cut < full.length; cut += 7) {
      const { result, sink } = decode(full.slice(0, cut));
      expect(result.ok, full.slice(0, cut)).toBe(false);
      if (!result.ok) expect(result.incomplete).toMatch(/invalid JSON/);
      expect(sink.events).toEqual([]);
    }
    expect(decode(full).result).toEqual({ ok: true });
  });
});

describe('json-snapshot: format description', () => {
  it('matches .json names and takes the symbol from the name', () => {
    expect(jsonSnapshotFormat.mode).toBe('whole');
    expect(jsonSnapshotFormat.matchesName('XAUUSD.json')).toBe(true);
    expect(jsonSnapshotFormat.matchesName('XAUUSD.JSON')).toBe(true);
    expect(jsonSnapshotFormat.matchesName('XAUUSD.json.tmp')).toBe(false);
    expect(jsonSnapshotFormat.symbolFor('/files/DWX/XAUUSD.json')).toBe('XAUUSD');
  });
});

describe('json snapshot times', () => {
  it('reads an ISO time without a zone offset as UTC, whatever the server zone', () => {
    const { sink } = decode('{"bid": 1, "time": "2025-01-02T10:00:00.250"}');
    expect(sink.documents[0]?.partial.quote?.time).toBe(Date.UTC(2025, 0, 2, 10, 0, 0, 250));
    expect(decode('{"bid": 1, "time": "2025-01-02T10:00:00+02:00"}').sink.documents[0]?.partial.quote?.time).toBe(Date.UTC(2025, 0, 2, 8));
  });
});

describe('json-snapshot: a map of symbols (the MT5 file-bridge pattern)', () => {
  const DWX =
    '{"EURUSD": {"bid": 1.08123, "ask": 1.08125, "last": 0.00000, "tick_value": 1.00000}, "GBPUSD": {"bid": 1.2651, "ask": 1.26525, "last": 0.00000, "tick_value": 1.00000}}\r\n';

  function decodeWith(content: string, options: Partial<FormatOptions>, fileName = 'DWX_Market_Data.txt') {
    const decoder = jsonSnapshotFormat.createDecoder({ fileName, symbol: 'DWX_Market_Data', options: { ...DEFAULT_FORMAT_OPTIONS, ...options } });
    const sink = new RecordingSink();
    const result = decoder.decode(Buffer.from(content), sink, { mtimeMs: MTIME });
    return { result, sink };
  }

  it('feeds every symbol of DWX_Market_Data.txt its own record; MetaTrader\'s 0 "last" is no price', () => {
    const { result, sink } = decodeWith(DWX, {});
    expect(result).toEqual({ ok: true });
    expect(sink.documents).toEqual([
      { kind: 'document', symbol: 'EURUSD', partial: { quote: { bid: 1.08123, ask: 1.08125 }, fields: { tick_value: 1 } }, sourceTime: MTIME },
      { kind: 'document', symbol: 'GBPUSD', partial: { quote: { bid: 1.2651, ask: 1.26525 }, fields: { tick_value: 1 } }, sourceTime: MTIME },
    ]);
  });

  it("reads SYMBOL_TF entries of open/high/low/close as that timeframe's bar, in the source zone", () => {
    const bars = '{"EURUSD_M1": {"time": "2024.01.02 10:31", "open": 1.1, "high": 1.2, "low": 1.0, "close": 1.15, "tick_volume": 12}}';
    const { sink } = decodeWith(bars, { timeZone: TimeZone.parse('+02:00') }, 'DWX_Bar_Data.txt');
    expect(sink.events).toEqual([
      { kind: 'bar', symbol: 'EURUSD', bar: { t: Date.UTC(2024, 0, 2, 8, 31), o: 1.1, h: 1.2, l: 1.0, c: 1.15, v: 12 }, timeframe: 'M1' },
    ]);
  });

  it('tells a map from a single record by its shape, unless the source says which', () => {
    expect(decodeWith('{"bid": 1, "ask": 2}', {}).sink.documents[0]?.symbol).toBe('DWX_Market_Data');
    expect(decodeWith(DWX, { json: 'symbol' }).sink.documents.map((document) => document.symbol)).toEqual(['DWX_Market_Data']);
    const forced = decodeWith('{"EURUSD": {"bid": 1}, "note": "x"}', { json: 'map' });
    expect(forced.sink.documents.map((document) => document.symbol)).toEqual(['EURUSD']);
    expect(forced.sink.problems[0]?.reason).toMatch(/note: expected a record object/);
  });

  it('still reads a map with a broken entry as a map (json: auto): the entry is reported, the others read (found by the soak)', () => {
    const { sink } = decodeWith('{"EURUSD": {"bid": 1.1, "ask": 1.2}, "GBPUSD": "closed"}', {});
    expect(sink.documents.map((document) => document.symbol)).toEqual(['EURUSD']);
    expect(sink.problems.map((problem) => problem.reason)).toEqual(['GBPUSD: expected a record object, got a string of 6 characters']);
    // Before: one record of a symbol named after the file, holding the entries as fields.
    expect(sink.documents.some((document) => document.symbol === 'DWX_Market_Data')).toBe(false);
  });

  it('sniffs a .txt holding JSON, and always takes .json', () => {
    expect(jsonSnapshotFormat.sniff?.(Buffer.from(DWX), DEFAULT_FORMAT_OPTIONS, 'DWX_Market_Data.txt')).toBe(true);
    expect(jsonSnapshotFormat.sniff?.(Buffer.from('Time,Bid\r\n'), DEFAULT_FORMAT_OPTIONS, 'ticks.txt')).toBe(false);
    expect(jsonSnapshotFormat.sniff?.(Buffer.alloc(0), DEFAULT_FORMAT_OPTIONS, 'empty.txt')).toBeUndefined();
    expect(jsonSnapshotFormat.sniff?.(Buffer.alloc(0), DEFAULT_FORMAT_OPTIONS, 'XAUUSD.json')).toBe(true);
  });
});
