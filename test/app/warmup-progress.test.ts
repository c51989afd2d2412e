import { describe, expect, it } from 'vitest';
import type { BridgeWarmup } from '../../src/app/sources.js';
import { showWarmupProgress } from '../../src/app/warmup-progress.js';
import { LogCapture } from '../helpers/bridge.js';
import { waitFor } from '../helpers/wait.js';

const warming = (filesDone: number, filesLeft: number, bytesLeft: number): BridgeWarmup => ({
  done: false,
  filesDone,
  filesLeft,
  bytesLeft,
  tookMs: null,
  files: [],
});
const DONE: BridgeWarmup = { done: true, filesDone: 3, filesLeft: 0, bytesLeft: 0, tookMs: 4200, files: [] };

/** A warm-up that goes through `states`, one per look, then stays at the last. */
function scripted(states: BridgeWarmup[]): () => BridgeWarmup {
  let index = 0;
  return () => states[Math.min(index++, states.length - 1)] as BridgeWarmup;
}

describe('the warm-up progress of the CLI', () => {
  it('rewrites one line in place on a terminal, then says once how long it took', async () => {
    let written = '';
    showWarmupProgress(scripted([warming(0, 3, 3 * 2 ** 20), warming(2, 1, 2 ** 19), DONE]), {
      tty: { write: (text: string) => ((written += text), true) },
      logger: new LogCapture().logger,
      ttyEveryMs: 5,
    });
    await waitFor('the last line', () => written.endsWith('\n'));
    expect(written.split('\r\x1b[K').filter(Boolean)).toEqual([
      'tapebridge: warm-up: 0/3 files read whole, 3.0 MB of history left',
      'tapebridge: warm-up: 2/3 files read whole, 0.5 MB of history left',
      'tapebridge: warm-up done in 4.2 s (3 files)\n',
    ]);
  });

  it('logs the progress when not on a terminal, and shows nothing when there was nothing to back-fill', async () => {
    const logs = new LogCapture();
    const progress = showWarmupProgress(scripted([warming(1, 2, 2 ** 20), DONE]), { tty: null, logger: logs.logger, logEveryMs: 5 });
    await waitFor('a progress line', () => logs.find((line) => line.event === 'warmup_progress'));
    expect(logs.find((line) => line.event === 'warmup_progress')).toMatchObject({ filesDone: 1, filesLeft: 2, bytesLeft: 2 ** 20 });
    progress.close();

    let written = '';
    showWarmupProgress(scripted([{ ...DONE, filesDone: 0, tookMs: null }]), {
      tty: { write: (text: string) => ((written += text), true) },
      logger: logs.logger,
      ttyEveryMs: 5,
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(written).toBe('');
  });
});
