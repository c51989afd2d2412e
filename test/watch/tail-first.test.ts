import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatRegistry } from '../../src/formats/registry.js';
import { ingestInto } from '../../src/state/ingest.js';
import { Store } from '../../src/state/store.js';
import type { SymbolState } from '../../src/state/symbol-state.js';
import { Mt5TickWriter } from '../../src/sim/mt5-writer.js';
import { RandomMarket } from '../../src/sim/random.js';
import { ScidWriter, scidTickRecord, type ScidRecord } from '../../src/sim/scid-writer.js';
import { FileTail } from '../../src/watch/file-tail.js';
import type { MarketTick } from '../../src/sim/random.js';
import { LogCapture } from '../helpers/bridge.js';
import { tempDir } from '../helpers/temp.js';

/**
 * A file opened tail first (watch.tailFirstBytes) is served from its last bytes at once, and
 * its history is read behind them by back-fill steps: once they reach the live tail, the
 * document is exactly what a read of the whole file makes of it, whatever was appended or
 * rewritten meanwhile.
 */

const WINDOWS = { M1: 120, M5: 100, H1: 24 };
const HOUR = 3_600_000;

/** `count` ticks two seconds apart, ending about now (the store refuses times ahead of the clock). */
function ticks(count: number, seed = 3, end = Date.now() - 60_000): MarketTick[] {
  const market = new RandomMarket({ start: 6000, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.7, seed });
  return Array.from({ length: count }, (_, i) => market.next(end - (count - i) * 2000));
}

function reader(options: { tailFirstBytes: number; logs?: LogCapture }) {
  const store = new Store({ journalSize: 100, epoch: 'test' });
  const logs = options.logs ?? new LogCapture('warn');
  let bytes = 0;
  const tail = (path: string) =>
    new FileTail(path, {
      registry: new FormatRegistry(),
      openIngest: ingestInto(store, { windows: WINDOWS }),
      logger: logs.logger,
      historyMs: 24 * HOUR,
      maxBackfillBytes: 64 * 1024 * 1024,
      chunkBytes: 16 * 1024,
      maxWholeBytes: 1024 * 1024,
      tailFirstBytes: options.tailFirstBytes,
      readBytes: { add: (read) => (bytes += read) },
    });
  return { store, tail, logs, bytes: () => bytes };
}

/** What a read of the whole file, at once, makes of it. */
async function wholeRead(path: string, symbol: string): Promise<unknown> {
  const { store, tail } = reader({ tailFirstBytes: 0 });
  await tail(path).read();
  return documentOf(store, symbol);
}

const documentOf = (store: Store, symbol: string): unknown => JSON.parse(store.get(symbol)?.documentJson() ?? 'null');

async function backfillAll(tail: FileTail): Promise<number> {
  let steps = 0;
  while (await tail.backfill()) steps++;
  return steps + 1;
}

describe('a file read tail first', () => {
  it('serves the quote and newest bars from the tail, then back-fills to exactly what a whole read gives', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ESZ25_FUT_CME.scid');
    const writer = new ScidWriter(path);
    await writer.create(ticks(20_000).map(scidTickRecord));
    const { store, tail, bytes } = reader({ tailFirstBytes: 32 * 1024 });
    const file = tail(path);

    expect(await file.read()).toBe('changed');
    const served = store.get('ESZ25_FUT_CME')?.document;
    const whole = (await wholeRead(path, 'ESZ25_FUT_CME')) as typeof served;
    // The tail: the newest quote and M1 bars, the coarser windows short of their history.
    expect(served?.quote).toEqual(whole?.quote);
    expect(served?.bars.M1?.at(-1)).toEqual(whole?.bars.M1?.at(-1));
    expect(served?.bars.H1?.length).toBeLessThan(whole?.bars.H1?.length ?? 0);
    expect(bytes()).toBeLessThanOrEqual(32 * 1024 + 40);
    const progress = file.backfillProgress;
    expect(progress?.bytesLeft).toBe(progress?.bytesTotal);
    expect(progress?.bytesTotal).toBeGreaterThan(700_000);
    expect(await file.checkpoint()).toBeNull();

    const seqBefore = store.get('ESZ25_FUT_CME')?.seq ?? 0;
    expect(await backfillAll(file)).toBeGreaterThan(40);
    expect(file.backfillProgress).toBeNull();
    expect(documentOf(store, 'ESZ25_FUT_CME')).toEqual(whole);
    // The history arrives as one commit, an ordinary patch.
    expect(store.get('ESZ25_FUT_CME')?.seq).toBe(seqBefore + 1);
    expect(await file.checkpoint()).not.toBeNull();
  });

  it('ends equal to a whole read when records, partial records and a rewritten forming bar are appended during the back-fill', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ESZ25_FUT_CME.scid');
    const writer = new ScidWriter(path);
    const all = ticks(12_000);
    await writer.create(all.slice(0, 10_000).map(scidTickRecord));
    const { store, tail } = reader({ tailFirstBytes: 16 * 1024 });
    const file = tail(path);
    await file.read();
    const bar = (tick: MarketTick, close: number): ScidRecord => ({ ...scidTickRecord(tick), open: tick.bid, high: close + 1, low: tick.bid - 1, close });
    for (let round = 0, next = 10_000; await file.backfill(); round++) {
      if (round % 3 !== 0 || next >= all.length) continue;
      const batch = all.slice(next, next + 250);
      next += batch.length;
      const last = batch.at(-1) as MarketTick;
      if (round % 2 === 0) {
        await writer.append([...batch.map(scidTickRecord), bar(last, last.bid)]);
        await file.read();
        await writer.rewriteLast(bar(last, last.bid + 0.5));
      } else {
        await writer.appendPartial(batch.map(scidTickRecord), 17);
      }
      await file.read();
    }
    await writer.append([]);
    await file.read();
    expect(documentOf(store, 'ESZ25_FUT_CME')).toEqual(await wholeRead(path, 'ESZ25_FUT_CME'));
  });

  it('reads a UTF-16 text export tail first from a line start, and back-fills it to a whole read', async () => {
    const dir = await tempDir();
    const path = join(dir, 'EURUSD_ticks.csv');
    const writer = new Mt5TickWriter(path, 'utf16le', 5);
    const all = ticks(8_000, 5).map((tick) => ({
      ...tick,
      bid: tick.bid / 5000,
      ask: tick.ask / 5000,
      last: tick.last === undefined ? undefined : tick.last / 5000,
    }));
    await writer.create(all.slice(0, 7_000));
    const { store, tail } = reader({ tailFirstBytes: 20_001 });
    const file = tail(path);
    expect(await file.read()).toBe('changed');
    const symbol = ([...store.symbols()][0] as SymbolState).symbol;
    expect(file.backfillProgress?.bytesLeft).toBeGreaterThan(100_000);
    await file.backfill();
    await writer.append(all.slice(7_000));
    await file.read();
    await backfillAll(file);
    expect(documentOf(store, symbol)).toEqual(await wholeRead(path, symbol));
  });

  it('drops the back-fill of a file replaced meanwhile, and reads the new file whole', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ESZ25_FUT_CME.scid');
    const writer = new ScidWriter(path);
    await writer.create(ticks(10_000).map(scidTickRecord));
    const { store, tail } = reader({ tailFirstBytes: 16 * 1024 });
    const file = tail(path);
    await file.read();
    expect(await file.backfill()).toBe(true);
    await writer.create(ticks(6_000, 9).map(scidTickRecord));
    expect(await file.backfill()).toBe(false);
    expect(file.backfillProgress).toBeNull();
    expect(await file.read()).toBe('changed');
    expect(documentOf(store, 'ESZ25_FUT_CME')).toEqual(await wholeRead(path, 'ESZ25_FUT_CME'));
  });

  it('reads a file whose history fits in tailFirstBytes whole at once, with nothing to back-fill', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ESZ25_FUT_CME.scid');
    await new ScidWriter(path).create(ticks(500).map(scidTickRecord));
    const { tail } = reader({ tailFirstBytes: 1024 * 1024 });
    const file = tail(path);
    await file.read();
    expect(file.backfillProgress).toBeNull();
    expect(await file.backfill()).toBe(false);
  });

  it('reports a bad record in the history once, from the back-fill, and one in the tail once, from the live read', async () => {
    const dir = await tempDir();
    const path = join(dir, 'ESZ25_FUT_CME.scid');
    await new ScidWriter(path).create(ticks(5_000).map(scidTickRecord));
    const handle = await open(path, 'r+');
    const nan = Buffer.alloc(4);
    nan.writeFloatLE(Number.NaN);
    const header = 56;
    // The 100th record (history) and the 4,990th (tail) get a price that is not a number.
    for (const index of [100, 4_990]) await handle.write(nan, 0, 4, header + index * 40 + 20);
    await handle.close();
    const logs = new LogCapture('warn');
    const { tail } = reader({ tailFirstBytes: 16 * 1024, logs });
    const file = tail(path);
    await file.read();
    await backfillAll(file);
    const skipped = logs.lines.filter((line) => line.event === 'record_skipped').map((line) => line.offset);
    expect(skipped.sort((a, b) => Number(a) - Number(b))).toEqual([header + 100 * 40, header + 4_990 * 40]);
    expect(file.problems.count).toBe(2);
  });
});
