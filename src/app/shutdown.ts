import type { Logger } from '../core/logger.js';

/** One part the bridge closes at shutdown, named in the log when its close fails. */
export interface CloseStep {
  readonly name: string;
  readonly close: () => unknown;
}

/**
 * Runs `steps` one after the other, each on its own: one that throws or rejects is logged
 * (`shutdown_step_failed`, with its name) and the next still runs, so a part that fails to
 * close never keeps the port, a timer or a watcher of another open.
 */
export async function closeInOrder(steps: readonly CloseStep[], logger: Logger): Promise<void> {
  for (const step of steps) {
    try {
      await step.close();
    } catch (error) {
      logger.error({ event: 'shutdown_step_failed', step: step.name, err: error }, `shutdown step "${step.name}" failed; the next steps still run`);
    }
  }
}
