import type { Logger } from '../core/logger.js';
import type { BridgeWarmup } from './sources.js';

export interface WarmupProgressOptions {
  /** Where the progress line goes when it is a terminal (a line rewritten in place); null: log lines instead. */
  tty: Pick<NodeJS.WritableStream, 'write'> | null;
  logger: Logger;
  /** How often the line is rewritten on a terminal, and how often a log line is written otherwise. */
  ttyEveryMs?: number;
  logEveryMs?: number;
}

/**
 * Shows a long warm-up while it runs: a progress line on a terminal (files and history
 * left), rewritten in place, then one line with the time it took; log lines otherwise
 * (the folders log `warmup_done` themselves). Stops once the warm-up is done.
 */
export function showWarmupProgress(warmup: () => BridgeWarmup, { tty, logger, ttyEveryMs = 250, logEveryMs = 5000 }: WarmupProgressOptions): { close(): void } {
  let shown = false;
  const timer = setInterval(
    () => {
      const now = warmup();
      if (now.done) {
        if (shown && tty) tty.write(`\r\x1b[Ktapebridge: warm-up done in ${seconds(now.tookMs ?? 0)} (${now.filesDone} files)\n`);
        close();
        return;
      }
      if (now.filesLeft === 0) return;
      shown = true;
      const line = `warm-up: ${now.filesDone}/${now.filesDone + now.filesLeft} files read whole, ${megabytes(now.bytesLeft)} of history left`;
      if (tty) tty.write(`\r\x1b[Ktapebridge: ${line}`);
      else logger.info({ event: 'warmup_progress', filesDone: now.filesDone, filesLeft: now.filesLeft, bytesLeft: now.bytesLeft }, line);
    },
    tty ? ttyEveryMs : logEveryMs,
  );
  timer.unref();
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
  };
  return { close };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const megabytes = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
