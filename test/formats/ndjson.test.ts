import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ndjsonFormat } from '../../src/formats/ndjson.js';
import { ALL_HISTORY, bufferFile, decodeAll, decoderFor, feedInRuns } from './fixtures.js';

const T0 = Date.UTC(2026, 10, 20, 14, 30);
const lines = (records: unknown[]): Buffer => Buffer.from(records.map((record) => `${JSON.stringify(record)}\n`).join(''));

describe('ndjson: append-only JSON lines', () => {
  it("reads each line as a tick of its symbol (or the file's), other keys to fields", async () => {
    const buf = lines([
      { symbol: 'EURUSD', bid: 1.1, ask: 1.2, time: T0 },
      { bid: 2650.1, last: 2650.2, volume: 3, time: '2026-11-20T14:30:01Z', session: 'London' },
      { symbol: 'EURUSD', ask: 1.3, time: T0 + 2000 },
    ]);
    expect(ndjsonFormat.matchesName('ticks.ndjson') && ndjsonFormat.matchesName('log.jsonl')).toBe(true);
    const { sink } = await decodeAll(decoderFor(ndjsonFormat, 'XAUUSD.ndjson'), buf);
    expect(sink.problems).toEqual([]);
    expect(sink.events).toEqual([
      { kind: 'tick', symbol: 'EURUSD', tick: { time: T0, bid: 1.1, ask: 1.2 } },
      { kind: 'tick', symbol: 'XAUUSD', tick: { time: T0 + 1000, bid: 2650.1, last: 2650.2, size: 3 } },
      { kind: 'fields', symbol: 'XAUUSD', fields: { session: 'London' } },
      { kind: 'tick', symbol: 'EURUSD', tick: { time: T0 + 2000, ask: 1.3 } },
    ]);
  });

  it('skips a line that is not JSON, not an object, without a time or with a bad value, naming why and where', async () => {
    const good = `${JSON.stringify({ bid: 1, time: T0 })}\n`;
    const bad = ['{"bid": 1, "time"', '[1, 2]', '{"bid": 1}', '{"bid": "x", "time": 1}', '{"symbol": 7, "time": 1}'];
    const text = `${good}${bad.map((line) => `${line}\n`).join('')}${good}`;
    const { sink } = await decodeAll(decoderFor(ndjsonFormat, 'A.ndjson'), Buffer.from(text));
    expect(sink.ticks).toHaveLength(2);
    expect(sink.problems.map((problem) => problem.offset)).toEqual(bad.map((line) => text.indexOf(`${line}\n`)));
    expect(sink.problems.map((problem) => problem.reason)).toEqual([
      expect.stringMatching(/^line is not JSON \(\d+ bytes\); line skipped$/),
      'expected a JSON object, found an array; line skipped',
      expect.stringMatching(/^time must be epoch ms or a date and time/),
      expect.stringMatching(/record\.bid must be a number/),
      'symbol must be a string; line skipped',
    ]);
  });

  it('gives the same records whatever the runs the bytes arrive in', async () => {
    const buf = lines(Array.from({ length: 30 }, (_, i) => ({ symbol: i % 2 ? 'A' : 'B', bid: 1 + i, time: T0 + i * 1000, note: `é${i}` })));
    const whole = (await decodeAll(decoderFor(ndjsonFormat, 'x.ndjson'), buf)).sink.events;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: buf.length }), { maxLength: 25 }), async (splits) => {
        const decoder = decoderFor(ndjsonFormat, 'x.ndjson');
        await decoder.open(bufferFile(buf), ALL_HISTORY);
        expect(feedInRuns(decoder, buf, 0, splits).events).toStrictEqual(whole);
      }),
      { numRuns: 80 },
    );
  });
});
