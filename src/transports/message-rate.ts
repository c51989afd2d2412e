import { performance } from 'node:perf_hooks';

export interface MessageRateOptions {
  /** Frames per second a connection may send, on average. */
  messagesPerSecond: number;
  /** Frames it may send at once. */
  messageBurst: number;
  /** Frames refused in a row before the connection counts as abusive. */
  rateLimitCloseAfter: number;
}

export type RateVerdict = 'accept' | 'refuse' | 'refuse-and-notify' | 'close';

/**
 * One connection's client-frame rate: a token bucket (refilled at messagesPerSecond, at
 * most messageBurst). A refused frame is dropped; the first of a run of refusals is told
 * (RATE_LIMITED), and a client that keeps sending into a full stop is closed.
 */
export class MessageRate {
  #tokens: number;
  #refilledAt = performance.now();
  #refusedInARow = 0;

  constructor(options: MessageRateOptions) {
    this.#tokens = options.messageBurst;
  }

  take(options: MessageRateOptions): RateVerdict {
    const now = performance.now();
    this.#tokens = Math.min(options.messageBurst, this.#tokens + ((now - this.#refilledAt) / 1000) * options.messagesPerSecond);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens--;
      this.#refusedInARow = 0;
      return 'accept';
    }
    this.#refusedInARow++;
    if (this.#refusedInARow >= options.rateLimitCloseAfter) return 'close';
    return this.#refusedInARow === 1 ? 'refuse-and-notify' : 'refuse';
  }
}
