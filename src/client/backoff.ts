export interface BackoffOptions {
  /** Upper bound of the first delay, in ms. */
  baseMs: number;
  /** No delay is ever longer than this, in ms. */
  maxMs: number;
}

/**
 * Capped exponential backoff with full jitter: the n-th delay is uniform in
 * [0, min(maxMs, baseMs * 2^n)], so clients that lost the same bridge do not come back in
 * step (AWS Architecture Blog, "Exponential Backoff And Jitter"; centrifuge-js `backoff`).
 */
export class Backoff {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /** Delays handed out since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  next(): number {
    // 2^30 is far past any cap; stopping there keeps the product finite.
    const ceiling = Math.min(this.#options.maxMs, this.#options.baseMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.floor(this.#random() * ceiling);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
