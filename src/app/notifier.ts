import { setTimeout as sleep } from 'node:timers/promises';
import type { BreakerState } from '../core/circuit-breaker.js';
import type { ComponentHealth, HealthStatus } from '../core/health.js';
import type { Logger } from '../core/logger.js';
import type { Tally } from '../core/tally.js';

export interface NotifyOptions {
  /** Where notifications are POSTed as JSON; null: log lines only. */
  webhookUrl: string | null;
  webhookHeaders: Readonly<Record<string, string>>;
  /** One request may take this long before it counts as failed. */
  timeoutMs: number;
  /** Further attempts after a failed one (network error, timeout, 408, 429, 5xx). */
  retries: number;
  /** Delay before the first retry; doubles with each. */
  retryBaseMs: number;
  /** Notifications waiting to be sent; when full the oldest is dropped. */
  queueSize: number;
}

/** A file's circuit breaker changed state. */
export interface BreakerNotification {
  type: 'breaker';
  /** The watched folder. */
  source: string;
  file: string;
  from: BreakerState;
  to: BreakerState;
  failures: number;
  /** Why the last read failed. */
  reason: string | null;
  /** When the file is tried again (ISO 8601), while OPEN. */
  retryAt: string | null;
}

/** The bridge's health status changed. */
export interface HealthNotification {
  type: 'health';
  from: HealthStatus;
  to: HealthStatus;
  /** The components that are not HEALTHY, with their details. */
  problems: Record<string, ComponentHealth>;
}

export type Notification = BreakerNotification | HealthNotification;

export type NotifyLevel = 'error' | 'warn' | 'info' | 'debug';

export interface NotifierCounters {
  sent: Tally;
  failed: Tally;
  dropped: Tally;
}

/** Statuses worth another attempt; any other non-2xx answer is final. */
const RETRYABLE = (status: number): boolean => status === 408 || status === 429 || status >= 500;

/**
 * Tells operators what changed: a log line at the level given and, when a webhook is
 * configured, a JSON POST. Posting never blocks the caller: notifications wait in a
 * bounded queue (the oldest is dropped, and counted, when it is full) and are sent one at
 * a time, in order, each with a timeout and retries with backoff.
 */
/** Where the notifier logs and counts, and who it says is sending (name, version, epoch). */
export interface NotifierDeps {
  logger: Logger;
  counters: NotifierCounters;
  identity: () => Record<string, unknown>;
}

export class Notifier {
  #options: NotifyOptions;
  readonly #logger: Logger;
  readonly #counters: NotifierCounters;
  readonly #identity: () => Record<string, unknown>;
  readonly #queue: string[] = [];
  readonly #closed = new AbortController();
  #sending: Promise<void> | null = null;
  #dropping = false;

  constructor({ logger, counters, identity }: NotifierDeps, options: NotifyOptions) {
    this.#options = options;
    this.#logger = logger.child({ component: 'notify' });
    this.#counters = counters;
    this.#identity = identity;
  }

  /** Notifications waiting or being sent. */
  get pending(): number {
    return this.#queue.length + (this.#sending ? 1 : 0);
  }

  applyConfig(options: NotifyOptions): void {
    this.#options = options;
    while (this.#queue.length > options.queueSize) this.#drop();
  }

  /** Logs `message` at `level`; posts the notification too unless `webhook` is false. */
  notify(level: NotifyLevel, message: string, notification: Notification, webhook = true): void {
    this.#logger[level]({ ...logEventOf(notification), notification }, message);
    if (!webhook || this.#options.webhookUrl === null || this.#closed.signal.aborted) return;
    if (this.#queue.length >= this.#options.queueSize) this.#drop();
    this.#queue.push(JSON.stringify({ ...notification, time: new Date().toISOString(), bridge: this.#identity() }));
    this.#sending ??= this.#drain();
  }

  #closing: Promise<void> | null = null;

  /** Stops sending: the request in flight is aborted and what waits is discarded. Memoised: every call gets the same promise. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed.abort();
    this.#queue.length = 0;
    await this.#sending;
  }

  #drop(): void {
    this.#queue.shift();
    this.#counters.dropped.add();
    if (!this.#dropping)
      this.#logger.warn({ event: 'notification_dropped', queueSize: this.#options.queueSize }, 'webhook queue full: dropping the oldest notifications');
    this.#dropping = true;
  }

  async #drain(): Promise<void> {
    for (let body = this.#queue.shift(); body !== undefined; body = this.#queue.shift()) {
      if (await this.#deliver(body)) {
        this.#counters.sent.add();
        this.#dropping = false;
      } else if (!this.#closed.signal.aborted) {
        this.#counters.failed.add();
      }
    }
    this.#sending = null;
  }

  /** Read through a call: close() may abort while a delivery awaits, which a narrowed field would hide. */
  #stopped(): boolean {
    return this.#closed.signal.aborted;
  }

  /** Posts one notification, retrying; true once the webhook accepted it. */
  async #deliver(body: string): Promise<boolean> {
    const { retries, retryBaseMs } = this.#options;
    let problem = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        try {
          await sleep(retryBaseMs * 2 ** (attempt - 1), undefined, { signal: this.#closed.signal });
        } catch {
          return false;
        }
      }
      const { webhookUrl, webhookHeaders, timeoutMs } = this.#options;
      if (webhookUrl === null || this.#closed.signal.aborted) return false;
      // A timer of our own, held until the attempt ends: an AbortSignal.timeout() combined by
      // AbortSignal.any() can be collected before it fires, and the request then waits for good.
      const attemptAbort = new AbortController();
      const onClose = (): void => attemptAbort.abort();
      this.#closed.signal.addEventListener('abort', onClose, { once: true });
      const timer = setTimeout(() => attemptAbort.abort(), timeoutMs);
      try {
        const response = await fetch(webhookUrl, {
          method: 'POST',
          headers: { ...webhookHeaders, 'content-type': 'application/json' },
          body,
          signal: attemptAbort.signal,
        });
        await response.body?.cancel();
        if (response.ok) return true;
        problem = `answered ${response.status}`;
        if (!RETRYABLE(response.status)) break;
      } catch (error) {
        if (this.#stopped()) return false;
        const failure = error as Error & { cause?: Error };
        problem = attemptAbort.signal.aborted ? `no answer within ${timeoutMs} ms` : (failure.cause?.message ?? failure.message);
      } finally {
        clearTimeout(timer);
        this.#closed.signal.removeEventListener('abort', onClose);
      }
    }
    this.#logger.warn({ event: 'notification_failed', webhook: redactUrl(this.#options.webhookUrl), problem }, 'webhook notification not delivered');
    return false;
  }
}

/** The `event` key of a notification's log line: the breaker's new state, or a health change. */
function logEventOf(notification: Notification): { event: string } {
  if (notification.type === 'health') return { event: 'health_changed' };
  switch (notification.to) {
    case 'OPEN':
      return { event: 'breaker_open' };
    case 'HALF_OPEN':
      return { event: 'breaker_half_open' };
    case 'CLOSED':
      return { event: 'breaker_closed' };
  }
}

/** A URL with only its origin shown (webhook URLs often carry their secret in the path). */
function redactUrl(url: string | null): string | null {
  if (url === null) return null;
  try {
    return `${new URL(url).origin}/[redacted]`;
  } catch {
    return '[redacted]';
  }
}
