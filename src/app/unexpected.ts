import { Counter, type Registry } from 'prom-client';
import type { ComponentHealth } from '../core/health.js';
import type { Logger } from '../core/logger.js';

/** How much of an unexpected error's message /health repeats. */
const MESSAGE_CHARS = 200;

/**
 * The process's last line of defence: an exception nothing caught, or a promise rejection
 * nothing handled, is logged (`event: 'unexpected_error'`), counted
 * (`tapebridge_unexpected_errors_total`) and kept in /health as DEGRADED, with the count and
 * the last one, for good: the process keeps serving, but it does not claim all is well.
 *
 * Why not exit: every known path that reaches here is one connection's or one record's
 * failure (a socket without an error listener, a callback that threw), and exiting would
 * drop every other client and stop every file for it, with no supervisor promised to start
 * the bridge again. A DEGRADED /health, the log line and the metric tell the operator that a
 * bug was met and that a restart is due when convenient.
 */
export class UnexpectedErrors {
  #count = 0;
  #last: { message: string; at: string; kind: string } | null = null;
  #logger: Logger | null = null;
  #counter: Counter | null = null;
  #installed = false;

  /** Where the errors are logged and counted from now on (the bridge's logger and registry). */
  attach(logger: Logger, registry: Registry): void {
    this.#logger = logger;
    this.#counter = new Counter({
      name: 'tapebridge_unexpected_errors_total',
      help: 'exceptions and promise rejections nothing handled (the process kept serving)',
      registers: [registry],
    });
    this.#counter.inc(this.#count);
  }

  /** Installs the process listeners, once for the process's life (the command's last line of defence). */
  install(): void {
    if (this.#installed) return;
    this.#installed = true;
    process.on('uncaughtException', (error: unknown) => this.record('uncaughtException', error));
    process.on('unhandledRejection', (reason: unknown) => this.record('unhandledRejection', reason));
  }

  record(kind: string, error: unknown): void {
    this.#count += 1;
    this.#counter?.inc();
    const message = (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, MESSAGE_CHARS);
    this.#last = { message, at: new Date().toISOString(), kind };
    if (this.#logger) {
      this.#logger.error(
        { event: 'unexpected_error', kind, err: error, count: this.#count },
        'unexpected error: the bridge keeps serving, /health is DEGRADED',
      );
    } else {
      process.stderr.write(`tapebridge: unexpected error (${kind}): ${error instanceof Error ? (error.stack ?? message) : message}\n`);
    }
  }

  /** The `process` component of /health. */
  health(): ComponentHealth {
    return this.#count === 0
      ? { status: 'HEALTHY', unexpectedErrors: 0 }
      : { status: 'DEGRADED', unexpectedErrors: this.#count, lastUnexpectedError: this.#last };
  }
}
