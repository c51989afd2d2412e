import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type Config } from '../../src/app/config.js';
import { FormatRegistry } from '../../src/formats/registry.js';
import { ScidWriter, scidTickRecord } from '../../src/sim/scid-writer.js';
import { ingestInto } from '../../src/state/ingest.js';
import { Store } from '../../src/state/store.js';
import { SourceWatcher } from '../../src/watch/source-watcher.js';
import { LogCapture } from '../helpers/bridge.js';
import { tempDir } from '../helpers/temp.js';
import { sleep, waitFor } from '../helpers/wait.js';

const watchers: SourceWatcher[] = [];
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((watcher) => watcher.close()));
});

const MINUTE = Date.UTC(2026, 10, 20, 14);

/** A folder watched with the OS's change events only: no safety poll. */
async function watch(dir: string, schedule: Partial<Config['watch']>) {
  const store = new Store({ journalSize: 1000, epoch: 'test' });
  const watcher = new SourceWatcher({
    path: dir,
    registry: new FormatRegistry(),
    openIngest: ingestInto(store, { windows: { M1: 10 } }),
    logger: new LogCapture('warn').logger,
    schedule: { ...DEFAULT_CONFIG.watch, safetyPollMs: 0, ...schedule },
    usePolling: false,
    pollIntervalMs: 1000,
    depth: 0,
    historyMs: 200 * 60_000,
    maxBackfillBytes: 64 * 1024 * 1024,
    chunkBytes: 1024 * 1024,
    maxWholeBytes: 1024 * 1024,
  });
  watchers.push(watcher);
  await watcher.start();
  return store;
}

/** Records of size 1 within one minute: the M1 bar's volume counts the records read. */
const tick = (i: number) => scidTickRecord({ time: MINUTE + i, bid: 10, ask: 10.25, last: 10 + (i % 8) * 0.25, size: 1, side: 'buy' });

describe('leading-edge reads of real files', () => {
  it('reads a lone write at once although the debounce is a minute, and a write that follows within maxWaitMs', async () => {
    const dir = await tempDir();
    const writer = new ScidWriter(join(dir, 'ES.scid'));
    await writer.create();
    // A minute of debounce and no re-read after data: only the leading edge reads the first write, only the maximum wait the second.
    const store = await watch(dir, { debounceMs: 60_000, trailingMs: 3_600_000 });
    await writer.append([tick(0)]);
    await waitFor('the first write', () => store.get('ES')?.document.bars.M1?.[0]?.v === 1, 3000);
    await writer.append([tick(1)]);
    await waitFor('the second write, at the maximum wait', () => store.get('ES')?.document.bars.M1?.[0]?.v === 2, 3000);
  });

  it('with leadingEdge off, a write waits for the debounce', async () => {
    const dir = await tempDir();
    const writer = new ScidWriter(join(dir, 'ES.scid'));
    await writer.create();
    const store = await watch(dir, { leadingEdge: false, debounceMs: 60_000, maxWaitMs: 60_000 });
    await writer.append([tick(0)]);
    await sleep(200);
    expect(store.get('ES')).toBeUndefined();
  });

  it('delivers every record of bursts of writes cut mid-record, with reads running while they land', async () => {
    const dir = await tempDir();
    const writer = new ScidWriter(join(dir, 'ES.scid'));
    await writer.create();
    const store = await watch(dir, {});
    let records = 0;
    for (let burst = 0; burst < 40; burst++) {
      // 1-4 writes back to back, each ending 13 bytes into a record that the next one completes.
      for (let write = 0; write <= burst % 4; write++) await writer.appendPartial([tick(records++), tick(records++)], 13);
      await sleep(burst % 5);
    }
    await writer.append([]);
    await waitFor(`all ${records} records`, () => store.get('ES')?.document.bars.M1?.[0]?.v === records, 5000);
    expect(store.get('ES')?.document.quote.last).toBe(10 + ((records - 1) % 8) * 0.25);
  });
});
