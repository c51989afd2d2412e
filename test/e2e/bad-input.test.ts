import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfigLayer } from '../../src/app/config.js';
import type { InstrumentDocument } from '../../src/model/document.js';
import { DepthWriter, snapshotBatch } from '../../src/sim/depth-writer.js';
import { writeJsonSnapshot } from '../../src/sim/json-writer.js';
import { Mt5BarWriter, Mt5TickWriter } from '../../src/sim/mt5-writer.js';
import { encodeScidRecords, ScidWriter, scidTickRecord } from '../../src/sim/scid-writer.js';
import { LogCapture, startTestBridge } from '../helpers/bridge.js';
import { getJson, SseClient, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The "Bad input" table of docs/reliability.md, row by row: the bad input is written into a watched folder
 * next to a healthy file, with another source beside it; the test finds the warning the row
 * promises (file, offset, reason), checks that the symbol keeps its last good state where it
 * had one, and that the healthy files' symbols still update. (Locked files: test/watch/locked.test.ts; JSON snapshots
 * half-written or invalid: test/watch/file-tail.test.ts; config: test/app/config-layers.test.ts.)
 */

const T0 = Date.UTC(2026, 10, 20, 14);
const trade = (i: number, last = 6000 + i) => scidTickRecord({ time: T0 + i * 1000, bid: last - 0.25, ask: last, last, size: 1, side: 'buy' });

interface BadCase {
  row: string;
  /** Files present when the bridge starts. */
  before?(dir: string): Promise<void>;
  /** The bad write, made while the bridge runs. */
  write(dir: string): Promise<void>;
  /** The warning the row promises. */
  warning: { file: string; msg: RegExp; offset?: number };
  /** What the affected symbol holds afterwards (its last good state, or the good records around a bad one). */
  kept?: { symbol: string; check: (document: InstrumentDocument) => void };
  /** Options of the folder's source; one that reads every file one way has no healthy file beside the bad one. */
  config?: ConfigLayer;
  /** Options of the bridge. */
  bridge?: ConfigLayer;
}

const CASES: BadCase[] = [
  {
    row: 'a .scid with a bad magic',
    async before(dir) {
      await new ScidWriter(join(dir, 'ES.scid')).create([trade(0)]);
    },
    async write(dir) {
      const bytes = Buffer.concat([Buffer.from('SCIX'), Buffer.alloc(92)]);
      await writeFile(join(dir, 'ES.scid'), bytes);
    },
    warning: { file: 'ES.scid', msg: /not a Sierra Chart intraday file: magic is 0x58494353/, offset: 0 },
    kept: { symbol: 'ES', check: (document) => expect(document.quote.last).toBe(6000) },
  },
  {
    row: 'a .depth with a wrong record size',
    async write(dir) {
      const writer = new DepthWriter(join(dir, 'ES.2026-11-20.depth'));
      await writer.create(snapshotBatch(T0, { bids: [[1, 1, 1]], asks: [[2, 1, 1]] }));
      const { readFile } = await import('node:fs/promises');
      const bytes = await readFile(join(dir, 'ES.2026-11-20.depth'));
      bytes.writeUInt32LE(40, 8);
      await writeFile(join(dir, 'ES.2026-11-20.depth'), bytes);
    },
    warning: { file: 'ES.2026-11-20.depth', msg: /record size 40 is not supported \(expected 24\)/, offset: 8 },
  },
  {
    row: 'a .scid record that does not decode',
    async before(dir) {
      await new ScidWriter(join(dir, 'ES.scid')).create([trade(0)]);
    },
    async write(dir) {
      const records = encodeScidRecords([trade(1), trade(2), trade(3)]);
      records.fill(0, 40, 48); // the second has no DateTime
      await appendFile(join(dir, 'ES.scid'), records);
    },
    warning: { file: 'ES.scid', msg: /record has no DateTime/, offset: 56 + 2 * 40 },
    kept: { symbol: 'ES', check: (document) => expect(document.quote).toMatchObject({ last: 6003, time: T0 + 3000 }) },
  },
  {
    row: 'a text line that does not parse',
    async before(dir) {
      await new Mt5TickWriter(join(dir, 'EURUSD_202611200000_202611202359.csv'), 'utf16le').create([{ time: T0, bid: 1.1, ask: 1.2 }]);
    },
    async write(dir) {
      const path = join(dir, 'EURUSD_202611200000_202611202359.csv');
      await appendFile(path, Buffer.from('2026.11.20\t14:00:01\tabc\t1.3\t\t\t6\r\n2026.11.20\t14:00:02\t1.15\t1.25\t\t\t6\r\n', 'utf16le'));
    },
    warning: { file: 'EURUSD_202611200000_202611202359.csv', msg: /^a price or volume is not a number \(line of \d+ characters\); line skipped$/ },
    kept: { symbol: 'EURUSD', check: (document) => expect(document.quote).toEqual({ bid: 1.15, ask: 1.25, time: T0 + 2000 }) },
  },
  {
    row: "a text file whose header is not its format's",
    async write(dir) {
      await writeFile(join(dir, 'EURUSD_M1_202611200000_202611202359.csv'), '<DATE>\t<TIME>\t<BID>\t<ASK>\r\n2026.11.20\t14:00:00\t1.1\t1.2\r\n');
    },
    config: { format: 'mt5-bars' },
    warning: { file: 'EURUSD_M1_202611200000_202611202359.csv', msg: /lacks <DATE>, <OPEN>, <HIGH>, <LOW> and <CLOSE>/, offset: 0 },
  },
  {
    row: 'a CSV mapping that names a column the file lacks',
    async write(dir) {
      await writeFile(join(dir, 'ticks.csv'), 'Time,Bid\r\n2026.11.20 14:00:00,1.1\r\n');
    },
    config: { columns: { time: 'Time', bid: 'Bid', ask: 'Ask' } },
    warning: { file: 'ticks.csv', msg: /columns\.ask is "Ask", which the header \(2 columns\) lacks/, offset: 0 },
  },
  {
    row: 'an MT5 export of a timeframe the document does not keep',
    async write(dir) {
      await new Mt5BarWriter(join(dir, 'EURUSD_MN1_202401010000_202611010000.csv')).create([
        { t: T0, o: 1, h: 2, l: 0.5, c: 1.5, tickVolume: 1, volume: 0, spread: 1 },
      ]);
    },
    warning: { file: 'EURUSD_MN1_202401010000_202611010000.csv', msg: /timeframe MN1 is not one the document keeps/ },
  },
  {
    row: 'an NDJSON line that is not a JSON object',
    async before(dir) {
      await writeFile(join(dir, 'feed.ndjson'), `${JSON.stringify({ symbol: 'BTC', bid: 1, time: T0 })}\n`);
    },
    async write(dir) {
      await appendFile(join(dir, 'feed.ndjson'), `{"symbol": "BTC", "bid": 2, "time"\n${JSON.stringify({ symbol: 'BTC', bid: 3, time: T0 + 2 })}\n`);
    },
    warning: {
      file: 'feed.ndjson',
      msg: /^line is not JSON \(\d+ bytes\); line skipped$/,
      offset: JSON.stringify({ symbol: 'BTC', bid: 1, time: T0 }).length + 1,
    },
    kept: { symbol: 'BTC', check: (document) => expect(document.quote).toEqual({ bid: 3, time: T0 + 2 }) },
  },
  {
    row: 'a JSON map entry that is not a record',
    async write(dir) {
      await writeJsonSnapshot(join(dir, 'DWX_Market_Data.txt'), { EURUSD: { bid: 1.1, ask: 1.2 }, GBPUSD: 'closed' }, 'rewrite');
    },
    config: { json: 'map' },
    warning: { file: 'DWX_Market_Data.txt', msg: /GBPUSD: expected a record object, got a string of 6 characters/ },
    kept: { symbol: 'EURUSD', check: (document) => expect(document.quote).toEqual({ bid: 1.1, ask: 1.2 }) },
  },
  {
    row: 'a JSON value of the wrong shape',
    async before(dir) {
      await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: 2650 }, 'rewrite');
    },
    async write(dir) {
      await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: 'n/a' }, 'rewrite');
    },
    warning: { file: 'XAUUSD.json', msg: /record\.bid must be a number, got a string of 3 characters/, offset: 0 },
    kept: { symbol: 'XAUUSD', check: (document) => expect(document.quote).toEqual({ bid: 2650 }) },
  },
  {
    row: 'more than 10 problems in one read',
    async write(dir) {
      const lines = Array.from({ length: 15 }, (_, i) => `bad${i},1\r\n`).join('');
      await writeFile(join(dir, 'ticks.csv'), `Time,Bid\r\n${lines}2026.11.20 14:00:00,1.5\r\n`);
    },
    warning: { file: 'ticks.csv', msg: /^5 more problems in this read were not logged one by one$/ },
    kept: { symbol: 'ticks', check: (document) => expect(document.quote).toEqual({ bid: 1.5, time: T0 }) },
  },
  {
    row: 'a text line longer than 64 KiB',
    async before(dir) {
      await writeFile(join(dir, 'ticks.csv'), 'Time,Bid\r\n2026.11.20 14:00:00,1.5\r\n');
    },
    async write(dir) {
      await appendFile(join(dir, 'ticks.csv'), `2026.11.20 14:00:01,${'9'.repeat(70_000)}\r\n2026.11.20 14:00:02,1.7\r\n`);
    },
    warning: {
      file: 'ticks.csv',
      msg: /^line longer than the limit \(65536 bytes\); skipped to the next line end$/,
      offset: 'Time,Bid\r\n2026.11.20 14:00:00,1.5\r\n'.length,
    },
    kept: { symbol: 'ticks', check: (document) => expect(document.quote).toEqual({ bid: 1.7, time: T0 + 2000 }) },
  },
  {
    row: 'a JSON snapshot larger than watch.maxWholeBytes',
    async before(dir) {
      await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: 2650 }, 'rewrite');
    },
    async write(dir) {
      await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: 2651, note: 'x'.repeat(5000) }, 'rewrite');
    },
    bridge: { watch: { maxWholeBytes: 4096 } },
    warning: { file: 'XAUUSD.json', msg: /^file is \d+ bytes, more than the 4096 a whole-file source may hold$/, offset: 0 },
    kept: { symbol: 'XAUUSD', check: (document) => expect(document.quote).toEqual({ bid: 2650 }) },
  },
  {
    row: 'a JSON record holding a key no JSON Patch applier may patch',
    async before(dir) {
      await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: 2650 }, 'rewrite');
    },
    async write(dir) {
      await writeFile(join(dir, 'XAUUSD.json'), '{"bid": 2651, "__proto__": {"admin": true}}');
    },
    warning: { file: 'XAUUSD.json', msg: /^record\.__proto__: a key JSON Patch appliers refuse to patch/, offset: 0 },
    kept: { symbol: 'XAUUSD', check: (document) => expect(document).toMatchObject({ quote: { bid: 2650 }, fields: {} }) },
  },
];

describe('bad input: the docs/reliability.md table, row by row', () => {
  for (const badCase of CASES) {
    it(`${badCase.row}: one clear warning, the rest goes on`, async () => {
      const dir = await tempDir();
      const elsewhere = await tempDir();
      const besideIt = badCase.config === undefined;
      if (besideIt) await writeJsonSnapshot(join(dir, 'GOOD.json'), { bid: 1 }, 'rewrite');
      await writeJsonSnapshot(join(elsewhere, 'OTHER.json'), { bid: 1 }, 'rewrite');
      await badCase.before?.(dir);
      const logs = new LogCapture('warn');
      const bridge = await startTestBridge([], { ...badCase.bridge, sources: [{ path: dir, ...badCase.config }, { path: elsewhere }] }, logs);
      await badCase.write(dir);

      const path = join(dir, badCase.warning.file);
      const warning = await waitFor(`the warning for ${badCase.row}`, () =>
        logs.lines.find((line) => line.file === path && line.level === 40 && badCase.warning.msg.test(String(line.msg))),
      );
      if (badCase.warning.offset !== undefined) expect(warning.offset).toBe(badCase.warning.offset);

      const healthy = besideIt ? [join(dir, 'GOOD.json'), join(elsewhere, 'OTHER.json')] : [join(elsewhere, 'OTHER.json')];
      const update = async (bid: number): Promise<void> => {
        await Promise.all(healthy.map((file) => writeJsonSnapshot(file, { bid }, 'rewrite')));
        for (const symbol of besideIt ? ['GOOD', 'OTHER'] : ['OTHER']) {
          await waitFor(`${symbol} to update`, () => bridge.store.get(symbol)?.document.quote.bid === bid);
        }
      };
      await update(2);
      if (badCase.kept) {
        const { symbol, check } = badCase.kept;
        await waitFor(`${symbol} to settle`, () => {
          try {
            check(bridge.store.get(symbol)?.document as InstrumentDocument);
            return true;
          } catch {
            return false;
          }
        });
      }
      const stats = (await getJson<{ sources: { problems: number } }>(`${bridge.url}/v1/stats`)).body;
      expect(stats.sources.problems).toBeGreaterThanOrEqual(1);
      // The same bad bytes are not reported again on later reads.
      const count = logs.lines.filter((line) => line.file === path && line.level === 40).length;
      await update(3);
      expect(logs.lines.filter((line) => line.file === path && line.level === 40)).toHaveLength(count);
    });
  }
});

describe('bad input beyond the files', () => {
  it('a file no format reads is left alone: no symbol, no warning, the others go on', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'notes.txt'), 'call the broker about the margin\r\n');
    await writeJsonSnapshot(join(dir, 'GOOD.json'), { bid: 1 }, 'rewrite');
    const logs = new LogCapture('warn');
    const bridge = await startTestBridge([dir], {}, logs);
    await writeJsonSnapshot(join(dir, 'GOOD.json'), { bid: 2 }, 'rewrite');
    await waitFor('GOOD to update', () => bridge.store.get('GOOD')?.document.quote.bid === 2);
    expect([...bridge.store.symbols()].map((state) => state.symbol)).toEqual(['GOOD']);
    expect(logs.lines).toEqual([]);
  });

  it('a resume point the bridge cannot serve (a seq ahead of it, another epoch) gets a snapshot; an SSE cursor that is not ours gets snapshots', async () => {
    const dir = await tempDir();
    await writeJsonSnapshot(join(dir, 'XAUUSD.json'), { bid: 1 }, 'rewrite');
    const bridge = await startTestBridge([dir]);
    const seq = bridge.store.get('XAUUSD')?.seq as number;
    const client = await WsClient.connect(bridge.url);
    client.subscribe(['XAUUSD'], { XAUUSD: { epoch: bridge.store.epoch, seq: seq + 5 } });
    await waitFor('a snapshot for a seq ahead', () => client.of('snapshot').length === 1);
    expect(client.of('snapshot')[0]).toMatchObject({ symbol: 'XAUUSD', epoch: bridge.store.epoch, seq });
    client.subscribe(['XAUUSD'], { XAUUSD: { epoch: 'an-old-epoch', seq } });
    await waitFor('a snapshot for another epoch', () => client.of('snapshot').length === 2);
    expect(client.of('patch')).toEqual([]);
    await client.close();
    for (const cursor of ['not-a-cursor', `another-epoch:${bridge.store.gseq}`, `${bridge.store.epoch}:5:9`, `${bridge.store.epoch}:-1`]) {
      const sse = await SseClient.connect(bridge.url, 'symbols=XAUUSD', { 'last-event-id': cursor });
      await waitFor(`a snapshot for Last-Event-ID ${cursor}`, () => sse.mirror.snapshots === 1);
      expect(sse.status).toBe(200);
      sse.close();
    }
  });
});
