import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { InstrumentDocument } from '../src/model/document.js';
import { DepthWriter, snapshotBatch } from '../src/sim/depth-writer.js';
import { tempDir } from './helpers/temp.js';
import { readConfigFile, resolveConfig } from '../src/app/config.js';
import { startTestBridge } from './helpers/bridge.js';
import { getJson } from './helpers/clients.js';

const fixtures = fileURLToPath(new URL('../fixtures/terminal-export', import.meta.url));

describe('the documented examples hold', () => {
  it('serves the fixture folder as the examples show', async () => {
    const bridge = await startTestBridge([fixtures]);
    const eurusd = await getJson<{ data: unknown }>(`${bridge.url}/v1/symbols/EURUSD`);
    expect(eurusd.body.data).toEqual({
      symbol: 'EURUSD',
      sources: ['mt5-ticks'],
      quote: { bid: 1.08425, ask: 1.08437, time: Date.UTC(2026, 10, 20, 14, 31, 2, 4) },
      bars: {
        M1: [
          { t: Date.UTC(2026, 10, 20, 14, 30), o: 1.08421, h: 1.08422, l: 1.08421, c: 1.08422, v: 3 },
          { t: Date.UTC(2026, 10, 20, 14, 31), o: 1.08425, h: 1.08425, l: 1.08425, c: 1.08425, v: 1 },
        ],
        M5: [{ t: Date.UTC(2026, 10, 20, 14, 30), o: 1.08421, h: 1.08425, l: 1.08421, c: 1.08425, v: 4 }],
        M15: [{ t: Date.UTC(2026, 10, 20, 14, 30), o: 1.08421, h: 1.08425, l: 1.08421, c: 1.08425, v: 4 }],
        H1: [{ t: Date.UTC(2026, 10, 20, 14), o: 1.08421, h: 1.08425, l: 1.08421, c: 1.08425, v: 4 }],
      },
      fields: {},
    });
    const gold = await getJson<{ data: { quote: unknown; fields: unknown } }>(`${bridge.url}/v1/symbols/XAUUSD`);
    expect(gold.body.data.quote).toEqual({ bid: 2650.1, ask: 2650.4, last: 2650.2, lastSize: 1, time: Date.UTC(2026, 10, 20, 14, 30, 0, 123) });
    expect(gold.body.data.fields).toEqual({ spread: 30 });
  });

  it('config/example.json is a valid configuration', async () => {
    const config = resolveConfig(await readConfigFile(fileURLToPath(new URL('../config/example.json', import.meta.url))));
    expect(config.sources.map((source) => source.format)).toEqual(['auto', 'auto', 'auto']);
    expect(config.sources[0]?.include).toEqual(['*.scid', '*.dly', 'MarketDepthData/*.depth']);
    expect(config.sources[1]?.timeZone).toBe('America/New_York+07:00');
    expect(config.sources[2]?.usePolling).toBe(true);
    expect(config.sources[2]?.columns).toEqual({ time: 'ts', last: 'price', volume: 'qty' });
  });
});

/** The config block of docs/formats.md ("The sources of these examples, as a config file"), its paths from the repository root. */
async function documentedSources(): Promise<{ path: string }[]> {
  const page = await readFile(fileURLToPath(new URL('../docs/formats.md', import.meta.url)), 'utf8');
  const block = /The sources of these examples, as a config file:\n\n```json\n([\s\S]*?)\n```/.exec(page)?.[1];
  if (block === undefined) throw new Error('docs/formats.md lacks the config of its examples');
  const { sources } = JSON.parse(block) as { sources: { path: string }[] };
  return sources.map((source) => ({ ...source, path: fileURLToPath(new URL(`../${source.path}`, import.meta.url)) }));
}

describe('docs/formats.md: one example per format', () => {
  const T = Date.UTC(2026, 10, 20, 14, 30);

  it('serves fixtures/formats with the config of docs/formats.md as the page shows', async () => {
    const sources = await documentedSources();
    expect(sources.map((source) => source.path)).toEqual(
      ['sierra', 'mt5', 'other'].map((folder) => fileURLToPath(new URL(`../fixtures/formats/${folder}`, import.meta.url))),
    );
    const bridge = await startTestBridge([], { sources });
    const data = async (symbol: string) => (await getJson<{ data: InstrumentDocument }>(`${bridge.url}/v1/symbols/${symbol}`)).body.data;

    const es = await data('ESZ25-CME');
    expect(es.quote).toEqual({ last: 6014.5, time: T - 25 * 60_000 });
    const esHour = { t: T - 30 * 60_000, o: 6012.25, h: 6015.25, l: 6011.5, c: 6014.5, v: 2500, n: 515, bv: 1130, av: 1370 };
    expect(es.bars).toEqual({
      M5: [
        { t: T - 30 * 60_000, o: 6012.25, h: 6014, l: 6011.5, c: 6013.75, v: 1520, n: 310, bv: 700, av: 820 },
        { t: T - 25 * 60_000, o: 6013.75, h: 6015.25, l: 6013, c: 6014.5, v: 980, n: 205, bv: 430, av: 550 },
      ],
      M15: [esHour],
      H1: [esHour],
    });
    expect(es.fields).toEqual({ Top: 6021, Bottom: 6001, 'Top#2': 6031 });

    const eurusd = await data('EURUSD');
    const eurusdHour = { t: T - 30 * 60_000, o: 1.08421, h: 1.08451, l: 1.0841, c: 1.0844, v: 800 };
    expect(eurusd.bars).toEqual({
      M5: [
        { t: T - 30 * 60_000, o: 1.08421, h: 1.08447, l: 1.0841, c: 1.08433, v: 412 },
        { t: T - 25 * 60_000, o: 1.08433, h: 1.08451, l: 1.08425, c: 1.0844, v: 388 },
      ],
      M15: [eurusdHour],
      H1: [eurusdHour],
    });
    expect(eurusd.fields).toEqual({ spread: 7 });

    const usdjpy = await data('USDJPY');
    expect(usdjpy.sources).toEqual(['json']);
    expect(usdjpy.quote).toEqual({ bid: 155.123, ask: 155.131 });
    expect(usdjpy.fields).toEqual({ tick_value: 0.64 });

    const gold = await data('XAUUSD');
    expect(gold.quote).toEqual({ bid: 2650.17, ask: 2650.47, time: T + 1000 });

    const btc = await data('BTCUSD');
    expect(btc.quote).toEqual({ bid: 91250.5, ask: 91251, last: 91251, lastSize: 0.25, time: T + 480 });
    expect(btc.fields).toEqual({ venue: 'X' });

    const acme = await data('ACME');
    expect(acme.quote).toEqual({ last: 101.5, lastSize: 100, time: T + 1000 });
    const acmeBar = { o: 101.25, h: 101.5, l: 101.25, c: 101.5, v: 400, n: 2 };
    expect(acme.bars).toEqual({
      M1: [{ t: T, ...acmeBar }],
      M5: [{ t: T, ...acmeBar }],
      M15: [{ t: T, ...acmeBar }],
      H1: [{ t: T - 30 * 60_000, ...acmeBar }],
    });
    expect(acme.fields).toEqual({ exchange: 'NYSE' });
  });

  it('reads the .scid sample and the .depth records as docs/formats.md shows', async () => {
    const dir = await tempDir();
    await new DepthWriter(join(dir, 'ESZ25_FUT_CME.2026-11-20.depth')).create(
      snapshotBatch(T, {
        bids: [
          [6012.25, 41, 3],
          [6012, 87, 5],
        ],
        asks: [
          [6012.5, 12, 2],
          [6012.75, 66, 4],
        ],
      }),
    );
    const samples = fileURLToPath(new URL('../../shared/samples', import.meta.url));
    const sources = [{ path: dir }, ...(existsSync(samples) ? [{ path: samples, include: ['test.scid'] }] : [])];
    const bridge = await startTestBridge([], { sources });
    const book = (await getJson<{ data: InstrumentDocument }>(`${bridge.url}/v1/symbols/ESZ25_FUT_CME`)).body.data.book;
    expect(book).toEqual({
      bids: [
        [6012.25, 41, 3],
        [6012, 87, 5],
      ],
      asks: [
        [6012.5, 12, 2],
        [6012.75, 66, 4],
      ],
      time: 1795185000000,
    });
    if (existsSync(samples)) {
      const quote = (await getJson<{ data: InstrumentDocument }>(`${bridge.url}/v1/symbols/test`)).body.data.quote;
      expect(quote).toEqual({ bid: 4048.5, ask: 4049, last: 4048.25, lastSize: 1, time: 1677012052682.001 });
    }
  });
});
