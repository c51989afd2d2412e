import { appendFile, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DepthCommand } from '../../src/formats/depth.js';
import { FormatRegistry } from '../../src/formats/registry.js';
import { DEFAULT_FORMAT_OPTIONS } from '../../src/formats/types.js';
import { ingestInto } from '../../src/state/ingest.js';
import { Store } from '../../src/state/store.js';
import { depthHeader, encodeDepthRecords, endBatch, snapshotBatch } from '../../src/sim/depth-writer.js';
import { EaFileWriter, mqlDateTime } from '../../src/sim/ea-writer.js';
import { MT5_TICK_HEADER, mt5BarHeader, mt5BarRow, mt5TickRow } from '../../src/sim/mt5-writer.js';
import { RandomMarket, type MarketTick } from '../../src/sim/random.js';
import { encodeScidRecords, scidHeader, scidTickRecord, type ScidRecord } from '../../src/sim/scid-writer.js';
import { sierraTextHeader, sierraTextRow, type SierraBar } from '../../src/sim/sierra-text-writer.js';
import { encodeText } from '../../src/sim/text-encoding.js';
import { FileTail } from '../../src/watch/file-tail.js';
import { LogCapture } from '../helpers/bridge.js';
import { tempDir } from '../helpers/temp.js';

/**
 * Every tail format, written the way its writer writes it (the synthetic writers of src/sim),
 * through the sequences a watcher meets: appends in bursts, a partial record or line, a
 * rewrite, a replacement by rename, a delete and re-create. After each step the document
 * read incrementally must equal the one a fresh read of the file's bytes gives.
 */

const T0 = Date.UTC(2026, 10, 20, 14, 0);

interface Scenario {
  name: string;
  fileName: string;
  symbols: string[];
  /** Bytes before the first record (header, BOM). */
  header: Buffer;
  /** The i-th record or line as written, from the `seed`-th version of the data (rewrites change it). */
  unit(i: number, seed: number): Buffer;
}

function market(seed: number): (i: number) => MarketTick {
  const cache: MarketTick[] = [];
  const random = new RandomMarket({ start: 6000, tickSize: 0.25, spreadTicks: 1, tradeShare: 0.6, seed });
  return (i) => {
    while (cache.length <= i) cache.push(random.next(T0 + cache.length * 7_000));
    return cache[i] as MarketTick;
  };
}

function memo(build: (seed: number) => (i: number) => Buffer): (i: number, seed: number) => Buffer {
  const bySeed = new Map<number, (i: number) => Buffer>();
  return (i, seed) => {
    let unit = bySeed.get(seed);
    if (!unit) bySeed.set(seed, (unit = build(seed)));
    return unit(i);
  };
}

const sierraBar = (tick: MarketTick, i: number): SierraBar => ({
  t: T0 + i * 60_000,
  o: tick.bid,
  h: tick.ask + 1,
  l: tick.bid - 1,
  c: tick.ask,
  v: 10 + (i % 7),
  n: 3,
  bv: 4,
  av: 6 + (i % 7),
  studies: [i, tick.bid],
});

const SCENARIOS: Scenario[] = [
  {
    name: '.scid ticks',
    fileName: 'ESZ25_FUT_CME.scid',
    symbols: ['ESZ25_FUT_CME'],
    header: scidHeader(),
    unit: memo((seed) => {
      const tick = market(seed);
      return (i) => encodeScidRecords([scidTickRecord(tick(i))]);
    }),
  },
  {
    name: '.scid 10-second bars',
    fileName: 'NQZ25_FUT_CME.scid',
    symbols: ['NQZ25_FUT_CME'],
    header: scidHeader(),
    unit: memo((seed) => {
      const tick = market(seed);
      return (i) => {
        const t = tick(i);
        const record: ScidRecord = {
          time: T0 + i * 10_000,
          open: t.bid,
          high: t.ask + 0.5,
          low: t.bid - 0.25,
          close: t.ask,
          trades: 4,
          volume: 9 + i,
          bidVolume: 4,
          askVolume: 5 + i,
        };
        return encodeScidRecords([record]);
      };
    }),
  },
  {
    name: '.depth batches',
    fileName: 'ESZ25_FUT_CME.2026-11-20.depth',
    symbols: ['ESZ25_FUT_CME'],
    header: depthHeader(),
    unit: memo((seed) => {
      const tick = market(seed);
      return (i) => {
        const t = tick(i);
        if (i === 0)
          return encodeDepthRecords(
            snapshotBatch(t.time, {
              bids: [
                [t.bid, 5, 1],
                [t.bid - 0.25, 8, 2],
              ],
              asks: [
                [t.ask, 6, 1],
                [t.ask + 0.25, 9, 3],
              ],
            }),
          );
        return encodeDepthRecords(
          endBatch([
            { time: t.time, command: DepthCommand.MODIFY_BID, price: t.bid, quantity: 1 + i, orders: 1 },
            { time: t.time, command: i % 2 ? DepthCommand.DELETE_ASK : DepthCommand.MODIFY_ASK, price: t.ask + 0.25, quantity: i, orders: 2 },
          ]),
        );
      };
    }),
  },
  {
    name: 'MT5 tick export, UTF-16LE',
    fileName: 'EURUSD_202611200000_202611202359.csv',
    symbols: ['EURUSD'],
    header: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${MT5_TICK_HEADER}\r\n`, 'utf16le')]),
    unit: memo((seed) => {
      const tick = market(seed);
      return (i) => Buffer.from(`${mt5TickRow(tick(i), i === 0 ? undefined : tick(i - 1), 2)}\r\n`, 'utf16le');
    }),
  },
  {
    name: 'MT5 bar export, UTF-8',
    fileName: 'EURUSD_M1_202611200000_202611202359.csv',
    symbols: ['EURUSD'],
    header: Buffer.from(`${mt5BarHeader()}\r\n`),
    unit: memo((seed) => {
      const tick = market(seed);
      return (i) => {
        const t = tick(i);
        return Buffer.from(`${mt5BarRow({ t: T0 + i * 60_000, o: t.bid, h: t.ask, l: t.bid - 1, c: t.ask, tickVolume: 5 + i, volume: 0, spread: 3 }, 2)}\r\n`);
      };
    }),
  },
  {
    name: 'Sierra "Write Bar and Study Data To File"',
    fileName: 'ESZ25-BarStudyData.csv',
    symbols: ['ESZ25'],
    header: Buffer.from(`${sierraTextHeader('study2025', { studyNames: ['A', 'A'] })}\r\n`),
    unit: memo((seed) => {
      const tick = market(seed);
      return (i) => Buffer.from(`${sierraTextRow(sierraBar(tick(i), i), 'study2025')}\r\n`);
    }),
  },
  ...(['utf16le', 'windows-1252', 'utf8'] as const).map((encoding): Scenario => ({
    name: `EA tick log, ${encoding}`,
    fileName: 'XAUUSD_TickData.csv',
    symbols: ['XAUUSD_TickData'],
    header: new EaFileWriter('', { encoding, delimiter: encoding === 'windows-1252' ? ';' : ',', header: ['Time', 'Ask', 'Bid', 'Note'] }).content([]),
    unit: memo((seed) => {
      const tick = market(seed);
      const writer = new EaFileWriter('', { encoding, delimiter: encoding === 'windows-1252' ? ';' : ',' });
      return (i) => writer.encode([[mqlDateTime(tick(i).time), tick(i).ask, tick(i).bid, `n°${i}€`]]);
    }),
  })),
  {
    name: 'NDJSON log',
    fileName: 'feed.ndjson',
    symbols: ['A', 'B'],
    header: Buffer.alloc(0),
    unit: memo((seed) => {
      const tick = market(seed);
      return (i) => encodeText(`${JSON.stringify({ symbol: i % 2 ? 'A' : 'B', bid: tick(i).bid, ask: tick(i).ask, time: tick(i).time, i })}\n`, 'utf8');
    }),
  },
];

function harness(dir: string, scenario: Scenario) {
  const path = join(dir, scenario.fileName);
  const logs = new LogCapture('warn');
  const tailOf = (store: Store) =>
    new FileTail(path, {
      registry: new FormatRegistry('auto', DEFAULT_FORMAT_OPTIONS),
      openIngest: ingestInto(store, { windows: { M1: 500 } }),
      logger: logs.logger,
      historyMs: 500 * 60_000,
      maxBackfillBytes: 64 * 1024 * 1024,
      chunkBytes: 4096,
      maxWholeBytes: 1024 * 1024,
    });
  const store = new Store({ journalSize: 1000, epoch: 'live' });
  const tail = tailOf(store);
  let count = 0;
  let seed = 1;
  const units = (from: number, to: number): Buffer => Buffer.concat(Array.from({ length: to - from }, (_, k) => scenario.unit(from + k, seed)));
  return {
    path,
    logs,
    store,
    tail,
    get count() {
      return count;
    },
    async create(n: number, newSeed = seed): Promise<void> {
      seed = newSeed;
      count = n;
      await writeFile(path, Buffer.concat([scenario.header, units(0, n)]));
    },
    async append(n: number): Promise<void> {
      await appendFile(path, units(count, count + n));
      count += n;
    },
    /** Appends `n` units but holds back `cut` bytes of the last; returns a function writing the rest. */
    async appendPartial(n: number, cut: number): Promise<() => Promise<void>> {
      const bytes = units(count, count + n);
      count += n;
      await appendFile(path, bytes.subarray(0, bytes.length - cut));
      return () => appendFile(path, bytes.subarray(bytes.length - cut));
    },
    async renameIntoPlace(n: number, newSeed: number): Promise<void> {
      seed = newSeed;
      count = n;
      await writeFile(`${path}.tmp`, Buffer.concat([scenario.header, units(0, n)]));
      await rename(`${path}.tmp`, path);
    },
    /** The documents a fresh reader of the file's current bytes gets. */
    async fresh(): Promise<unknown[]> {
      const other = new Store({ journalSize: 10, epoch: 'fresh' });
      await tailOf(other).read();
      return scenario.symbols.map((symbol) => other.get(symbol)?.document);
    },
    documents(): unknown[] {
      return scenario.symbols.map((symbol) => store.get(symbol)?.document);
    },
  };
}

describe('writers: every tail format through appends, partial writes, rewrites, renames, delete and re-create', () => {
  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      const files = harness(await tempDir(), scenario);
      const expectFresh = async (step: string) => {
        expect(files.documents(), step).toEqual(await files.fresh());
        expect(
          files.documents().every((document) => document !== undefined),
          `${step}: every symbol published`,
        ).toBe(true);
      };

      await files.create(6);
      expect(await files.tail.read()).toBe('changed');
      await expectFresh('first read');
      expect(await files.tail.read()).toBe('unchanged');

      for (const burst of [1, 4, 9]) {
        await files.append(burst);
        expect(await files.tail.read()).toBe('changed');
      }
      await expectFresh('bursts');

      // Every cut inside the last unit: the partial bytes wait, the rest completes them.
      const unitLength = scenario.unit(files.count + 1, 1).length;
      for (const cut of [1, 2, Math.floor(unitLength / 2), unitLength - 1]) {
        const rest = await files.appendPartial(2, cut);
        await files.tail.read();
        await expectFresh(`partial (${cut} bytes held back)`);
        await rest();
        expect(await files.tail.read()).toBe('changed');
        await expectFresh(`partial completed (${cut})`);
      }

      // Truncated and rewritten with other data, shorter and then longer than before.
      await files.create(5, 2);
      expect(await files.tail.read()).toBe('changed');
      await expectFresh('rewrite, shorter');
      await files.create(40, 3);
      await files.tail.read();
      await expectFresh('rewrite that grew past the read position');

      await files.renameIntoPlace(12, 4);
      expect(await files.tail.read()).toBe('changed');
      await expectFresh('rename into place');

      await rm(files.path);
      expect(await files.tail.read()).toBe('gone');
      expect(
        files.documents().every((document) => document !== undefined),
        'a deleted file keeps its symbols',
      ).toBe(true);
      await files.create(3, 5);
      expect(await files.tail.read()).toBe('changed');
      await expectFresh('re-created');
      expect(files.logs.lines.filter((line) => (line.level as number) >= 40)).toEqual([]);
    });
  }
});

describe('writers: Sierra rewrites the forming bar record in place', () => {
  it('corrects the M1 bar instead of adding the record twice', async () => {
    const dir = await tempDir();
    const scenario = SCENARIOS.find((candidate) => candidate.name === '.scid 10-second bars') as Scenario;
    const files = harness(dir, scenario);
    await files.create(3);
    await files.tail.read();
    const record = (close: number, volume: number): Buffer =>
      encodeScidRecords([{ time: T0 + 2 * 10_000, open: 6000, high: 6010, low: 5990, close, trades: 4, volume, bidVolume: 1, askVolume: volume - 1 }]);
    for (const [close, volume] of [
      [6001, 20],
      [6003, 25],
      [6002, 31],
    ] as const) {
      const handle = await open(files.path, 'r+');
      await handle.write(record(close, volume), 0, 40, 56 + 2 * 40);
      await handle.close();
      expect(await files.tail.read()).toBe('changed');
      expect.soft(files.documents()).toEqual(await files.fresh());
    }
    const bars = files.store.get('NQZ25_FUT_CME')?.document.bars.M1;
    expect(bars).toHaveLength(1);
    expect(bars?.[0]).toMatchObject({ c: 6002, v: 9 + 10 + 31 });
    // Reading again finds nothing new: the record is compared, not decoded again.
    const seq = files.store.get('NQZ25_FUT_CME')?.seq;
    expect(await files.tail.read()).toBe('unchanged');
    expect(files.store.get('NQZ25_FUT_CME')?.seq).toBe(seq);
  });
});
