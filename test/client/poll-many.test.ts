import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeJsonSnapshot } from '../../src/sim/json-writer.js';
import { startTestBridge } from '../helpers/bridge.js';
import { closeClients, expectConverged, FAST_BRIDGE, testClient } from '../helpers/sdk.js';
import { tempDir } from '../helpers/temp.js';
import { sleep, waitFor } from '../helpers/wait.js';

afterEach(closeClients);

describe('the client SDK polling many symbols', () => {
  it('keeps them all, and Node sees no listener leak (found by the soak: one abort listener per pausing loop)', async () => {
    const dir = await tempDir();
    const symbols = Array.from({ length: 15 }, (_, i) => `SYM${i}`);
    await Promise.all(symbols.map((symbol, i) => writeJsonSnapshot(join(dir, `${symbol}.json`), { bid: i }, 'rewrite')));
    const bridge = await startTestBridge([dir], FAST_BRIDGE);
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const client = testClient(bridge.url, { transports: ['poll'], poll: { maxConcurrent: 2, intervalMs: 30 } });
      client.subscribe(['*']);
      await expectConverged(client, bridge, symbols, 'poll');
      // Many rounds of 15 loops pausing at once.
      await sleep(300);
      await writeJsonSnapshot(join(dir, 'SYM3.json'), { bid: 100 }, 'rewrite');
      await waitFor('the change', () => bridge.store.get('SYM3')?.document.quote.bid === 100);
      await expectConverged(client, bridge, symbols, 'poll after a change');
      expect(client.get('SYM3')?.quote).toEqual({ bid: 100 });
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((warning) => `${warning.name}: ${warning.message}`)).toEqual([]);
  });
});
