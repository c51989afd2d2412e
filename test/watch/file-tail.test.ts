import { appendFile, mkdir, open, rename, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatRegistry } from '../../src/formats/registry.js';
import type { Quote } from '../../src/model/document.js';
import { ingestInto } from '../../src/state/ingest.js';
import { Store } from '../../src/state/store.js';
import { Mt5TickWriter } from '../../src/sim/mt5-writer.js';
import type { MarketTick } from '../../src/sim/random.js';
import { ScidWriter, encodeScidRecords, scidHeader, scidTickRecord } from '../../src/sim/scid-writer.js';
import { FileTail } from '../../src/watch/file-tail.js';
import { LogCapture } from '../helpers/bridge.js';
import { tempDir } from '../helpers/temp.js';

const T0 = Date.UTC(2026, 10, 20, 14, 30);

function trade(i: number, price = 6000 + i * 0.25): MarketTick {
  return { time: T0 + i * 1000, bid: price - 0.25, ask: price, last: price, size: 1 + (i % 3), side: 'buy' };
}

function setup(logs = new LogCapture('warn')) {
  const store = new Store({ journalSize: 100, epoch: 'test' });
  let opens = 0;
  const tail = (path: string) =>
    new FileTail(path, {
      registry: new FormatRegistry(),
      openIngest: ingestInto(store, { windows: { M1: 200 } }),
      logger: logs.logger,
      historyMs: 200 * 60_000,
      maxBackfillBytes: 64 * 1024 * 1024,
      chunkBytes: 64 * 1024,
      maxWholeBytes: 1024 * 1024,
      openFile: (file) => {
        opens++;
        return open(file, 'r');
      },
    });
  const quote = (symbol: string): Quote | undefined => store.get(symbol)?.document.quote;
  return { store, tail, quote, logs, opens: () => opens };
}

describe('FileTail on a .scid file', () => {
  it('reads appended bursts by offset and reports unchanged when nothing was added', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ESZ25_FUT_CME.scid');
    const writer = new ScidWriter(path);
    await writer.create([0, 1, 2].map((i) => scidTickRecord(trade(i))));
    const { tail, quote, store } = setup();
    const reader = tail(path);

    expect(await reader.read()).toBe('changed');
    expect(quote('ESZ25_FUT_CME')).toMatchObject({ last: 6000.5, time: T0 + 2000 });
    expect(await reader.read()).toBe('unchanged');

    await writer.append([3, 4].map((i) => scidTickRecord(trade(i))));
    expect(await reader.read()).toBe('changed');
    expect(quote('ESZ25_FUT_CME')).toMatchObject({ last: 6001, lastSize: 2, time: T0 + 4000 });
    expect(store.get('ESZ25_FUT_CME')?.seq).toBe(2);
    expect(store.get('ESZ25_FUT_CME')?.document.bars.M1?.[0]).toMatchObject({ o: 6000, c: 6001, v: 1 + 2 + 3 + 1 + 2, n: 5 });
  });

  it('does not open a file whose inode, size and modification time are those of its last read', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ESZ25_FUT_CME.scid');
    const writer = new ScidWriter(path);
    await writer.create([0, 1].map((i) => scidTickRecord(trade(i))));
    // Written a while ago: a write since would have another modification time.
    const past = new Date(Date.now() - 60_000);
    await utimes(path, past, past);
    const { tail, quote, opens } = setup();
    const reader = tail(path);
    expect(await reader.read()).toBe('changed');
    const afterFirst = opens();
    expect(await reader.read()).toBe('unchanged');
    expect(await reader.read()).toBe('unchanged');
    expect(opens()).toBe(afterFirst);
    await writer.append([scidTickRecord(trade(2))]);
    expect(await reader.read()).toBe('changed');
    expect(opens()).toBe(afterFirst + 1);
    expect(quote('ESZ25_FUT_CME')?.time).toBe(T0 + 2000);
    // A rewrite to the same size is a new modification time: opened and read from the start.
    await writer.create([5, 6, 7].map((i) => scidTickRecord(trade(i, 5000))));
    expect(await reader.read()).toBe('changed');
    expect(quote('ESZ25_FUT_CME')).toMatchObject({ last: 5000, time: T0 + 7000 });
  });

  it('opens a file modified just before its last read, though it looks the same: a same-size rewrite may keep the modification time', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ESZ25_FUT_CME.scid');
    const writer = new ScidWriter(path);
    await writer.create([0, 1].map((i) => scidTickRecord(trade(i))));
    // A whole second, which utimes sets exactly.
    const now = Math.floor(Date.now() / 1000);
    await utimes(path, now, now);
    const { tail, quote } = setup();
    const reader = tail(path);
    expect(await reader.read()).toBe('changed');
    // Rewritten to the same size within the timestamp resolution: the same inode, size and modification time.
    await writer.create([5, 6].map((i) => scidTickRecord(trade(i, 5000))));
    await utimes(path, now, now);
    expect((await stat(path)).mtimeMs).toBe(now * 1000);
    expect(await reader.read()).toBe('changed');
    expect(quote('ESZ25_FUT_CME')).toMatchObject({ last: 5000, time: T0 + 6000 });
  });

  it('keeps a partial last record until the rest of it arrives', async () => {
    const dir = await tempDir();
    const path = join(dir, 'NQ.scid');
    const writer = new ScidWriter(path);
    await writer.create([scidTickRecord(trade(0))]);
    const { tail, quote } = setup();
    const reader = tail(path);
    await reader.read();

    await writer.appendPartial([scidTickRecord(trade(1)), scidTickRecord(trade(2))], 13);
    expect(await reader.read()).toBe('changed');
    expect(quote('NQ')?.time).toBe(T0 + 1000);

    await writer.append([]);
    expect(await reader.read()).toBe('changed');
    expect(quote('NQ')?.time).toBe(T0 + 2000);
  });

  it('reads a file again from its start when it shrinks, and the document loses what is gone', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ES.scid');
    const writer = new ScidWriter(path);
    await writer.create([0, 1, 2, 3, 4].map((i) => scidTickRecord(trade(i * 60))));
    const { tail, store } = setup();
    const reader = tail(path);
    await reader.read();
    expect(store.get('ES')?.document.bars.M1).toHaveLength(5);

    await writer.create([0, 1].map((i) => scidTickRecord(trade(i * 60, 5000))));
    expect(await reader.read()).toBe('changed');
    const state = store.get('ES');
    expect(state?.document.bars.M1).toHaveLength(2);
    expect(state?.document.quote.last).toBe(5000);
    const entry = state?.journal.since(state.seq - 1)?.[0];
    expect(JSON.parse(entry?.opsJson ?? '[]')).not.toHaveLength(0);
  });

  it('detects a rewrite that did not shrink the file by its changed first record', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ES.scid');
    await writeFile(path, Buffer.concat([scidHeader(), encodeScidRecords([0, 1].map((i) => scidTickRecord(trade(i))))]));
    const { tail, quote } = setup();
    const reader = tail(path);
    await reader.read();
    // Same size plus one record, but different content from the first record on.
    await writeFile(path, Buffer.concat([scidHeader(), encodeScidRecords([7, 8, 9].map((i) => scidTickRecord(trade(i, 4000))))]));
    expect(await reader.read()).toBe('changed');
    expect(quote('ES')).toMatchObject({ last: 4000, time: T0 + 9000 });
  });

  it('treats a file replaced by rename (new inode) as a new file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ES.scid');
    const writer = new ScidWriter(path);
    await writer.create([scidTickRecord(trade(0))]);
    const { tail, quote } = setup();
    const reader = tail(path);
    await reader.read();

    const staged = join(dir, 'staging.tmp');
    await new ScidWriter(staged).create([scidTickRecord(trade(0)), scidTickRecord(trade(1, 4321))]);
    await rename(staged, path);
    expect(await reader.read()).toBe('changed');
    expect(quote('ES')?.last).toBe(4321);
  });

  it('keeps the last state while a rewritten file is still empty', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ES.scid');
    const writer = new ScidWriter(path);
    await writer.create([scidTickRecord(trade(0))]);
    const { tail, store } = setup();
    const reader = tail(path);
    await reader.read();
    const before = store.get('ES')?.document;

    await truncate(path, 0);
    expect(await reader.read()).toBe('retry');
    await writeFile(path, scidHeader());
    expect(await reader.read()).toBe('unchanged');
    expect(store.get('ES')?.document).toBe(before);

    await appendFile(path, encodeScidRecords([scidTickRecord(trade(5, 5555))]));
    expect(await reader.read()).toBe('changed');
    expect(store.get('ES')?.document.quote.last).toBe(5555);
    expect(store.get('ES')?.document.bars.M1).toHaveLength(1);
  });

  it('logs a file that is not a .scid with its offset and leaves other symbols alone', async () => {
    const dir = await tempDir();
    const bad = join(dir, 'BAD.scid');
    await writeFile(bad, Buffer.from('this is not a Sierra Chart file at all, just text'));
    const good = join(dir, 'GOOD.scid');
    await new ScidWriter(good).create([scidTickRecord(trade(0))]);
    const { tail, store, logs } = setup();

    const badReader = tail(bad);
    expect(await badReader.read()).toBe('failed');
    expect(await tail(good).read()).toBe('changed');
    const line = logs.find((entry) => entry.file === bad);
    expect(line).toMatchObject({ level: 40, offset: 0, event: 'file_rejected', code: 'FORMAT_BAD_MAGIC' });
    expect(String(line?.msg)).toMatch(/magic/);
    expect(store.get('BAD')).toBeUndefined();
    expect(store.get('GOOD')?.document.quote.last).toBe(6000);
    // Until it changes it stays a failed read (for its circuit breaker), logged once.
    expect(await badReader.read()).toBe('failed');
    expect(badReader.lastFailure).toMatch(/magic/);
    expect(logs.lines.filter((entry) => entry.file === bad)).toHaveLength(1);
  });

  it('reports an I/O error as a failed read with its reason, logged once per run of failures', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ES.scid');
    await mkdir(path);
    const { tail, logs } = setup();
    const reader = tail(path);
    expect(await reader.read()).toBe('failed');
    expect(await reader.read()).toBe('failed');
    expect(reader.lastFailure).toMatch(/read failed: EISDIR/);
    expect(logs.lines.filter((line) => line.file === path)).toMatchObject([{ level: 50, event: 'read_failed', err: { code: 'EISDIR' } }]);
  });

  it('reports a deleted file as gone', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ES.scid');
    await new ScidWriter(path).create([scidTickRecord(trade(0))]);
    const { tail } = setup();
    const reader = tail(path);
    await reader.read();
    await rm(path);
    expect(await reader.read()).toBe('gone');
  });
});

describe('FileTail on an MT5 tick export', () => {
  it('tails a UTF-16LE export line by line, holding back a half-written line', async () => {
    const dir = await tempDir();
    const path = join(dir, 'EURUSD_202611200000_202611202359.csv');
    const writer = new Mt5TickWriter(path, 'utf16le', 5);
    const tick = (i: number): MarketTick => ({ time: T0 + i * 500, bid: 1.08 + i / 1e5, ask: 1.0801 + i / 1e5 });
    await writer.create([tick(0), tick(1)]);
    const { tail, quote } = setup();
    const reader = tail(path);
    expect(await reader.read()).toBe('changed');
    expect(quote('EURUSD')).toEqual({ bid: 1.08001, ask: 1.08011, time: T0 + 500 });

    // Half a row: the UTF-16 bytes of "2026.11.20\t14:30:01" without its line end.
    await appendFile(path, Buffer.from('2026.11.20\t14:30:01.000\t1.09000', 'utf16le'));
    expect(await reader.read()).toBe('unchanged');
    await appendFile(path, Buffer.from('\t\t\t\t2\r\n', 'utf16le'));
    expect(await reader.read()).toBe('changed');
    expect(quote('EURUSD')).toEqual({ bid: 1.09, ask: 1.08011, time: T0 + 1000 });
  });
});

describe('FileTail on a JSON snapshot', () => {
  it('treats a half-written file as not ready, then publishes the complete one', async () => {
    const dir = await tempDir();
    const path = join(dir, 'XAUUSD.json');
    await writeFile(path, '{"bid": 2650.1, "ask": 26');
    const { tail, store, logs } = setup();
    const reader = tail(path);
    expect(await reader.read()).toBe('retry');
    expect(store.get('XAUUSD')).toBeUndefined();

    await writeFile(path, '{"bid": 2650.1, "ask": 2650.4, "time": 1763648400123, "spread": 30}');
    expect(await reader.read()).toBe('changed');
    expect(store.get('XAUUSD')?.document).toMatchObject({
      quote: { bid: 2650.1, ask: 2650.4, time: 1763648400123 },
      fields: { spread: 30 },
    });
    expect(logs.lines).toEqual([]);
  });

  it('skips decoding when the bytes did not change', async () => {
    const dir = await tempDir();
    const path = join(dir, 'XAUUSD.json');
    await writeFile(path, '{"bid": 1, "ask": 2}');
    const { tail, store } = setup();
    const reader = tail(path);
    await reader.read();
    await writeFile(path, '{"bid": 1, "ask": 2}');
    expect(await reader.read()).toBe('unchanged');
    expect(store.get('XAUUSD')?.seq).toBe(1);
  });

  it('reports a file that stays invalid and keeps the last good state', async () => {
    const dir = await tempDir();
    const path = join(dir, 'XAUUSD.json');
    await writeFile(path, '{"bid": 1, "ask": 2}');
    const { tail, store, logs } = setup();
    const reader = tail(path);
    await reader.read();
    await writeFile(path, '{"bid": 1, "ask": ');
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) outcomes.push(await reader.read());
    expect(outcomes.slice(0, 9).every((outcome) => outcome === 'retry')).toBe(true);
    expect(outcomes[9]).toBe('failed');
    expect(await reader.read()).toBe('failed');
    expect(logs.find((line) => line.file === path && String(line.msg).includes('invalid JSON'))).toMatchObject({
      event: 'file_rejected',
      code: 'FORMAT_TRUNCATED',
    });
    expect(store.get('XAUUSD')?.document.quote).toEqual({ bid: 1, ask: 2 });
  });

  it('reports content of the wrong shape once, with the reason, and changes nothing', async () => {
    const dir = await tempDir();
    const path = join(dir, 'XAUUSD.json');
    await writeFile(path, '{"bid": 1, "ask": 2}');
    const { tail, store, logs } = setup();
    const reader = tail(path);
    await reader.read();
    await writeFile(path, '{"bid": "high", "ask": 2}');
    expect(await reader.read()).toBe('unchanged');
    expect(logs.find((line) => line.file === path)).toMatchObject({ event: 'record_skipped', msg: expect.stringMatching(/record\.bid must be a number/) });
    expect(store.get('XAUUSD')?.seq).toBe(1);
  });
});
