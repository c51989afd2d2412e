import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readConfigFile, resolveConfig } from '../src/ops/config.js';
import { startTestBridge } from './helpers/bridge.js';
import { getJson } from './helpers/clients.js';

const fixtures = fileURLToPath(new URL('../fixtures/terminal-export', import.meta.url));

describe('the README examples hold', () => {
  it('serves the fixture folder as the README shows', async () => {
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
      },
      fields: {},
    });
    const gold = await getJson<{ data: { quote: unknown; fields: unknown } }>(`${bridge.url}/v1/symbols/XAUUSD`);
    expect(gold.body.data.quote).toEqual({ bid: 2650.1, ask: 2650.4, last: 2650.2, lastSize: 1, time: Date.UTC(2026, 10, 20, 14, 30, 0, 123) });
    expect(gold.body.data.fields).toEqual({ spread: 30 });
  });

  it('config/example.json is a valid configuration', async () => {
    const config = resolveConfig(await readConfigFile(fileURLToPath(new URL('../config/example.json', import.meta.url))));
    expect(config.sources.map((source) => source.format)).toEqual(['sierra-scid', 'auto', 'auto']);
    expect(config.sources[2]?.usePolling).toBe(true);
  });
});
