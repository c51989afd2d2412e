import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig, type ConfigLayer } from '../../src/app/config.js';
import { scanFolders, type ScanFile, type ScanReport } from '../../src/app/scan.js';
import { scanTable } from '../../src/app/scan-table.js';
import { DepthWriter, snapshotBatch } from '../../src/sim/depth-writer.js';
import { appendJsonLines, EaFileWriter, mqlDateTime } from '../../src/sim/ea-writer.js';
import { writeJsonSnapshot } from '../../src/sim/json-writer.js';
import { Mt5BarWriter, Mt5TickWriter, type Mt5Bar } from '../../src/sim/mt5-writer.js';
import { RandomMarket, type MarketTick } from '../../src/sim/random.js';
import { ScidWriter, scidTickRecord } from '../../src/sim/scid-writer.js';
import { sierraTextFile, type SierraBar } from '../../src/sim/sierra-text-writer.js';
import { HAS_SAMPLES, samplePath, SAMPLES_SKIP_NOTE } from '../formats/fixtures.js';
import { tempDir } from '../helpers/temp.js';

const START = Date.UTC(2026, 10, 20, 14, 0);
/** The clock the scans compare with: an hour after the files' last records. */
const NOW = START + 3_600_000;
const MINUTE = 60_000;

function ticks(count: number, from = START, stepMs = 1500, tradeShare = 0.8): MarketTick[] {
  const market = new RandomMarket({ start: 1.08, tickSize: 0.00001, spreadTicks: 10, tradeShare, seed: 3 });
  return Array.from({ length: count }, (_, i) => market.next(from + i * stepMs));
}

function bars(count: number, stepMs: number, from = START): Mt5Bar[] {
  return Array.from({ length: count }, (_, i) => ({ t: from + i * stepMs, o: 1.1, h: 1.2, l: 1.0, c: 1.15, tickVolume: 10 + i, volume: 0, spread: 2 }));
}

function sierraBars(count: number, stepMs: number, from = START): SierraBar[] {
  return Array.from({ length: count }, (_, i) => ({ t: from + i * stepMs, o: 6000, h: 6001, l: 5999, c: 6000.5, v: 10, n: 3, bv: 4, av: 6 }));
}

async function scan(dir: string, layer: ConfigLayer = {}): Promise<ScanReport> {
  return scanFolders(resolveConfig(layer), [dir], { now: NOW });
}

function only(report: ScanReport, path: string): ScanFile {
  const file = report.files.find((candidate) => candidate.path === path);
  if (!file) throw new Error(`${path} not in the report: ${report.files.map((candidate) => candidate.path).join(', ')}`);
  return file;
}

/** The keys and types PROTOCOL.md §7 gives every file entry. */
function expectContractShape(file: ScanFile): void {
  const json = JSON.parse(JSON.stringify(file)) as Record<string, unknown>;
  expect(typeof json.path).toBe('string');
  expect(json.format === null || typeof json.format === 'string').toBe(true);
  expect(json.symbol === null || typeof json.symbol === 'string' || Array.isArray(json.symbol)).toBe(true);
  expect(json.timeframe === null || typeof json.timeframe === 'string' || Array.isArray(json.timeframe)).toBe(true);
  expect(typeof json.records).toBe('number');
  expect(json.first === null || typeof json.first === 'number').toBe(true);
  expect(json.last === null || typeof json.last === 'number').toBe(true);
  expect(Array.isArray(json.warnings)).toBe(true);
}

describe('tapebridge scan', () => {
  it('reports each format as the bridge reads it: format, layout, symbol, timeframe, records, first and last time', async () => {
    const dir = await tempDir();
    const scidTicks = ticks(40);
    await new ScidWriter(join(dir, 'ESZ25_FUT_CME.scid')).create(scidTicks.map(scidTickRecord));
    await new DepthWriter(join(dir, 'ESZ25_FUT_CME.2026-11-20.depth')).create(
      snapshotBatch(START, {
        bids: [
          [6000, 5, 1],
          [5999.75, 3, 1],
        ],
        asks: [[6000.25, 4, 2]],
      }),
    );
    await new Mt5TickWriter(join(dir, 'EURUSD_202611201400_202611201500.csv'), 'utf16le', 5).create(ticks(30, START, 1000, 0));
    await new Mt5TickWriter(join(dir, 'GBPUSD_202611201400_202611201500.csv'), 'utf8', 5).create(ticks(30, START, 1000, 0));
    await new Mt5BarWriter(join(dir, 'USDJPY_M5_202611201400_202611201500.csv'), 'utf16le', 3).create(bars(12, 5 * MINUTE));
    await new Mt5BarWriter(join(dir, 'AUDUSD_M1.csv'), 'utf8', 5).create(bars(20, MINUTE));
    await writeFile(join(dir, 'NQ.txt'), sierraTextFile(sierraBars(15, MINUTE), 'export'));
    const ea = new EaFileWriter(join(dir, 'ticks.csv'), { encoding: 'utf8', delimiter: ';', header: ['symbol', 'time', 'bid', 'ask'] });
    await writeFile(
      ea.path,
      ea.content([
        ['XAUUSD', mqlDateTime(START), 2650.1, 2650.4],
        ['XAGUSD', mqlDateTime(START + 1000), 31.1, 31.2],
      ]),
    );
    await appendJsonLines(join(dir, 'BTCUSD.ndjson'), [
      { time: START, bid: 90000, ask: 90010 },
      { time: START + 2000, bid: 90001, ask: 90011, last: 90005, lastSize: 0.5 },
    ]);
    await writeJsonSnapshot(join(dir, 'DAX.json'), { bid: 20000, ask: 20001, time: START + 5000 }, 'rename');

    const report = await scan(dir);
    expect(report.folders).toEqual([{ folder: dir, zone: 'UTC', files: 10, error: null, note: null }]);
    expect(report.files.map((file) => file.path)).toEqual([
      'AUDUSD_M1.csv',
      'BTCUSD.ndjson',
      'DAX.json',
      'ESZ25_FUT_CME.2026-11-20.depth',
      'ESZ25_FUT_CME.scid',
      'EURUSD_202611201400_202611201500.csv',
      'GBPUSD_202611201400_202611201500.csv',
      'NQ.txt',
      'USDJPY_M5_202611201400_202611201500.csv',
      'ticks.csv',
    ]);
    for (const file of report.files) {
      expectContractShape(file);
      expect(file.error).toBeNull();
    }

    const scid = only(report, 'ESZ25_FUT_CME.scid');
    expect(scid).toMatchObject({ format: 'sierra-scid', symbol: 'ESZ25_FUT_CME', timeframe: null, records: 40, encoding: null });
    expect(scid.first).toBe(START);
    expect(scid.last).toBe(START + 39 * 1500);
    expect(scid.timeframeReason).toMatch(/^ticks/);

    const depth = only(report, 'ESZ25_FUT_CME.2026-11-20.depth');
    expect(depth).toMatchObject({ format: 'sierra-depth', symbol: 'ESZ25_FUT_CME', records: 1, first: START, last: START });

    const utf16 = only(report, 'EURUSD_202611201400_202611201500.csv');
    expect(utf16).toMatchObject({
      format: 'mt5-ticks',
      symbol: 'EURUSD',
      encoding: 'utf16le',
      delimiter: '\t',
      records: 30,
      first: START,
      last: START + 29_000,
    });
    expect(utf16.header).toContain('<BID>');
    expect(only(report, 'GBPUSD_202611201400_202611201500.csv')).toMatchObject({ format: 'mt5-ticks', symbol: 'GBPUSD', encoding: 'utf8', records: 30 });

    const m5 = only(report, 'USDJPY_M5_202611201400_202611201500.csv');
    expect(m5).toMatchObject({
      format: 'mt5-bars',
      symbol: 'USDJPY',
      encoding: 'utf16le',
      timeframe: 'M5',
      records: 12,
      first: START,
      last: START + 55 * MINUTE,
    });
    expect(m5.timeframeReason).toMatch(/named in the file name \(M5\)/);
    expect(only(report, 'AUDUSD_M1.csv')).toMatchObject({ format: 'mt5-bars', symbol: 'AUDUSD', encoding: 'utf8', timeframe: 'M1', records: 20 });

    const sierra = only(report, 'NQ.txt');
    expect(sierra).toMatchObject({ format: 'sierra-text', symbol: 'NQ', encoding: 'utf8', delimiter: ',', timeframe: 'M1', records: 15 });
    expect(sierra.header?.slice(0, 2)).toEqual(['Date', 'Time']);
    expect(sierra.timeframeReason).toMatch(/spacing/);

    const csv = only(report, 'ticks.csv');
    expect(csv).toMatchObject({ format: 'csv', symbol: ['XAUUSD', 'XAGUSD'], delimiter: ';', records: 2, first: START, last: START + 1000 });

    expect(only(report, 'BTCUSD.ndjson')).toMatchObject({ format: 'ndjson', symbol: 'BTCUSD', records: 2, first: START, last: START + 2000 });
    expect(only(report, 'DAX.json')).toMatchObject({ format: 'json', symbol: 'DAX', records: 1, last: START + 5000 });

    // The table: one row per file, its details under it.
    const table = scanTable(report);
    expect(table).toMatch(/^ {2}FILE +FORMAT +SYMBOL +TF +RECORDS +FIRST \(UTC\) +LAST \(UTC\)$/m);
    expect(table).toMatch(/^ {2}USDJPY_M5_202611201400_202611201500\.csv +mt5-bars +USDJPY +M5 +12 +2026-11-20 14:00:00 +2026-11-20 14:55:00$/m);
    expect(table).toMatch(/text: utf16le, delimiter tab, header <DATE>, <TIME>/);
    expect(table).toMatch(/10 files: 10 read, 0 not read, 0 cannot be read/);
  });

  it('reads the real samples as the bridge does' + SAMPLES_SKIP_NOTE, { skip: !HAS_SAMPLES }, async () => {
    const report = await scan(samplePath(''));
    for (const file of report.files) expectContractShape(file);
    expect(only(report, 'test.scid')).toMatchObject({ format: 'sierra-scid', records: 10, first: Date.parse('2023-02-21T20:37:19.026Z'), error: null });
    expect(only(report, 'ES.txt')).toMatchObject({
      format: 'sierra-text',
      symbol: 'ES',
      records: 999,
      delimiter: ',',
      first: Date.parse('2011-01-02T23:00:00Z'),
    });
    // Monthly rows: no weekends to tell a zone by.
    expect(only(report, 'BBDC4MN1.csv')).toMatchObject({ encoding: 'utf16le', delimiter: ',', header: null, error: null, warnings: [] });
    expect(only(report, 'ES.txt').warnings).toEqual([]);
    expect(only(report, 'SOURCES.md')).toMatchObject({ format: null, warnings: [expect.stringMatching(/^unknown file/)] });
  });

  it("publishes the symbol after the config's aliases and renames, and reads times in its zone", async () => {
    const dir = await tempDir();
    await new Mt5TickWriter(join(dir, 'XAUUSDc_202611201400_202611201500.csv'), 'utf16le', 2).create(ticks(5, START + 2 * 3_600_000, 1000, 0));
    await new Mt5TickWriter(join(dir, 'US500.cash_202611201400_202611201500.csv'), 'utf8', 2).create(ticks(5, START + 2 * 3_600_000, 1000, 0));
    const report = await scan(dir, {
      sources: [{ path: dir, timeZone: 'UTC+2', symbols: { aliases: { 'US500.cash': 'SPX' }, rename: [{ pattern: 'c$', replace: '' }] } }],
    });
    const gold = only(report, 'XAUUSDc_202611201400_202611201500.csv');
    expect(gold.symbol).toBe('XAUUSD');
    // Written at 16:00 on a UTC+2 clock: 14:00 UTC.
    expect(gold.first).toBe(START);
    expect(gold).toMatchObject({ zone: 'UTC+2', firstLocal: '2026-11-20 16:00:00 +02:00' });
    expect(gold.warnings).toEqual([]);
    expect(only(report, 'US500.cash_202611201400_202611201500.csv').symbol).toBe('SPX');
  });

  it('tells how a timeframe was inferred and warns when the evidence is thin or a pin is tried', async () => {
    const dir = await tempDir();
    await new Mt5BarWriter(join(dir, 'EURJPY.csv'), 'utf8', 3).create(bars(30, 15 * MINUTE, START - 30 * 15 * MINUTE));
    // Two gaps of 15 min and one of 30: a guess.
    await new Mt5BarWriter(join(dir, 'CHFJPY.csv'), 'utf8', 3).create(
      bars(4, 15 * MINUTE).map((bar, i) => (i === 3 ? { ...bar, t: bar.t + 15 * MINUTE } : bar)),
    );
    const inferred = await scan(dir);
    expect(only(inferred, 'EURJPY.csv')).toMatchObject({ timeframe: 'M15', timeframeReason: 'inferred from the spacing of the first rows', warnings: [] });
    const thin = only(inferred, 'CHFJPY.csv');
    expect(thin.timeframe).toBe('M15');
    expect(thin.warnings).toEqual([expect.stringMatching(/too few rows to be sure of the bar timeframe/)]);

    const pinned = await scan(dir, { sources: [{ path: dir, timeframe: 'H1', include: ['CHFJPY.csv'] }] });
    expect(only(pinned, 'CHFJPY.csv')).toMatchObject({ timeframe: 'H1', timeframeReason: "the source's timeframe is H1", warnings: [] });
    expect(only(pinned, 'EURJPY.csv')).toMatchObject({ format: null, warnings: [expect.stringMatching(/include/)] });
  });

  it('warns of records ahead of the clock, D1 bars off midnight, unknown files and skipped lines', async () => {
    const dir = await tempDir();
    // Written on a UTC+3 clock but read as UTC: three hours ahead.
    await new Mt5TickWriter(join(dir, 'EURUSD_202611201700_202611201800.csv'), 'utf8', 5).create(ticks(10, NOW + 3 * 3_600_000, 1000, 0));
    await new Mt5BarWriter(join(dir, 'EURUSD_Daily.csv'), 'utf8', 5).create(bars(10, 86_400_000, Date.UTC(2026, 10, 1, 22)));
    await writeFile(join(dir, 'notes.md'), '# not data\n');
    await writeFile(join(dir, 'BTCUSD.ndjson'), `${JSON.stringify({ time: START, bid: 1, ask: 2 })}\n{not json\n`);
    const report = await scan(dir);

    const future = only(report, 'EURUSD_202611201700_202611201800.csv');
    expect(future.records).toBe(10);
    expect(future.warnings).toEqual([
      expect.stringMatching(/^10 record\(s\) stamped more than 10 min ahead of the clock .*about 3 h: .*set the source's timeZone/),
    ]);

    const daily = only(report, 'EURUSD_Daily.csv');
    expect(daily.timeframe).toBe('D1');
    expect(daily.warnings).toEqual([expect.stringMatching(/^D1 bars open at 22:00 in UTC \(document\.sessionZone\), not at midnight/)]);

    expect(only(report, 'notes.md')).toMatchObject({
      format: null,
      records: 0,
      error: null,
      warnings: [expect.stringMatching(/^unknown file: no format reads/)],
    });
    const skipped = only(report, 'BTCUSD.ndjson');
    expect(skipped).toMatchObject({ records: 1, counts: { skipped: 1 } });
    expect(skipped.warnings).toEqual([expect.stringMatching(/^skipped at (line 2|byte \d+): /)]);
    expect(scanTable(report)).toMatch(/warning: unknown file/);
  });

  it('warns when the weeks open at an hour no market opens them', async () => {
    const dir = await tempDir();
    // Friday 2026-11-20 until 20:55 UTC, then the week opening on Sunday 17:00 (a New York clock read as UTC) or 22:00.
    const friday = bars(12, 5 * MINUTE, Date.UTC(2026, 10, 20, 20));
    const week = (hour: number): Mt5Bar[] => [...friday, ...bars(12, 5 * MINUTE, Date.UTC(2026, 10, 22, hour))];
    await new Mt5BarWriter(join(dir, 'EURUSD_M5.csv'), 'utf8', 5).create(week(17));
    await new Mt5BarWriter(join(dir, 'GBPUSD_M5.csv'), 'utf8', 5).create(week(22));
    const report = await scanFolders(resolveConfig({}), [dir], { now: Date.UTC(2026, 10, 23) });
    expect(only(report, 'EURUSD_M5.csv').warnings).toEqual([
      expect.stringMatching(/^the week opens at Sun 17:00 UTC \(1 of 1 weekly opens\), when no market with a weekend opens .*timeZone \(UTC\) looks wrong/),
    ]);
    expect(only(report, 'GBPUSD_M5.csv').warnings).toEqual([]);
  });

  it('reads a file larger than watch.chunkBytes in runs of it, with the records a single read gives', async () => {
    const dir = await tempDir();
    const many = ticks(2000, START - 3_600_000, 1000);
    await new ScidWriter(join(dir, 'ESZ25_FUT_CME.scid')).create(many.map(scidTickRecord));
    await new Mt5TickWriter(join(dir, 'EURUSD_202611201300_202611201400.csv'), 'utf16le', 5).create(ticks(2000, START - 3_600_000, 1000, 0));
    const small = await scanFolders(resolveConfig({ watch: { chunkBytes: 4096 } }), [dir], { now: NOW });
    const large = await scanFolders(resolveConfig({}), [dir], { now: NOW });
    expect(only(small, 'ESZ25_FUT_CME.scid').bytes).toBeGreaterThan(10 * 4096);
    expect(small).toEqual(large);
    expect(only(small, 'ESZ25_FUT_CME.scid')).toMatchObject({ records: 2000, first: START - 3_600_000, last: START - 3_600_000 + 1_999_000 });
    expect(only(small, 'EURUSD_202611201300_202611201400.csv')).toMatchObject({ records: 2000, warnings: [] });
  });

  it('reports a file that cannot be read at all with its error, and the older files of a series', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'BAD.scid'), Buffer.alloc(120, 7));
    await writeFile(join(dir, 'GOLD.json'), '{"bid": 1, "ask": ');
    await mkdir(join(dir, 'depth'));
    for (const day of ['2026-11-19', '2026-11-20']) {
      await new DepthWriter(join(dir, 'depth', `NQZ25.${day}.depth`)).create(snapshotBatch(START, { bids: [[1, 1, 1]], asks: [[2, 1, 1]] }));
    }
    const report = await scan(dir);
    const bad = only(report, 'BAD.scid');
    expect(bad.format).toBe('sierra-scid');
    expect(bad.error).toMatch(/\S/);
    expect(only(report, 'GOLD.json').error).toMatch(/\S/);
    expect(only(report, 'depth/NQZ25.2026-11-19.depth').warnings).toEqual([expect.stringMatching(/newer file of its series/)]);
    expect(only(report, 'depth/NQZ25.2026-11-20.depth').warnings).toEqual([]);
    expect(scanTable(report)).toMatch(/^ {2}BAD\.scid +sierra-scid \(unreadable\)/m);
  });

  it('refuses a link out of the folder as the watcher does, unless followSymlinks', async () => {
    const dir = await tempDir();
    const elsewhere = await tempDir();
    await new Mt5TickWriter(join(elsewhere, 'EURUSD_202611201400_202611201500.csv'), 'utf8', 5).create(ticks(3, START, 1000, 0));
    await symlink(join(elsewhere, 'EURUSD_202611201400_202611201500.csv'), join(dir, 'EURUSD_202611201400_202611201500.csv'));
    const refused = only(await scan(dir), 'EURUSD_202611201400_202611201500.csv');
    expect(refused).toMatchObject({
      format: null,
      records: 0,
      error: null,
      warnings: [expect.stringMatching(/^not read: a link to .*outside the watched folder/)],
    });
    const followed = only(await scan(dir, { sources: [{ path: dir, followSymlinks: true }] }), 'EURUSD_202611201400_202611201500.csv');
    expect(followed).toMatchObject({ format: 'mt5-ticks', records: 3, warnings: [] });
  });

  it('names a folder that does not exist', async () => {
    const dir = await tempDir();
    const report = await scan(join(dir, 'nowhere'));
    expect(report).toEqual({ files: [], folders: [{ folder: join(dir, 'nowhere'), zone: 'UTC', files: 0, error: 'the folder does not exist', note: null }] });
    expect(scanTable(report)).toMatch(/nowhere: the folder does not exist/);
  });
});
