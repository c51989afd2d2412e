export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export const BREAKER_STATES: readonly BreakerState[] = ['CLOSED', 'HALF_OPEN', 'OPEN'];

export interface BreakerOptions {
  /** Failures in a row that open the breaker. */
  failureThreshold: number;
  /** How long an open breaker refuses attempts before one trial (HALF_OPEN). */
  coolDownMs: number;
  /** Delay before the attempt after the first failure; doubles with each further one. */
  retryBaseMs: number;
  /** Longest delay between attempts while closed. */
  retryMaxMs: number;
}

/** The breaker of a file when nothing else is configured (`breaker` in the config). */
export const DEFAULT_BREAKER: Readonly<BreakerOptions> = { failureThreshold: 5, coolDownMs: 60_000, retryBaseMs: 1000, retryMaxMs: 4000 };

export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
  /** Failures in a row when it happened. */
  failures: number;
  /** When the next attempt is allowed (performance.now() time), for OPEN. */
  retryAt: number | null;
}

/**
 * Consecutive-failure circuit breaker: while CLOSED, each failure delays the next attempt
 * (retryBaseMs, doubling up to retryMaxMs); the failureThreshold-th in a row opens it.
 * OPEN refuses attempts for coolDownMs; then one trial runs (HALF_OPEN): a success closes
 * it, a failure opens it again. Times are performance.now() values.
 */
export class CircuitBreaker {
  #state: BreakerState = 'CLOSED';
  #failures = 0;
  #retryAt = 0;
  readonly #onTransition: (transition: BreakerTransition) => void;

  constructor(onTransition: (transition: BreakerTransition) => void = () => undefined) {
    this.#onTransition = onTransition;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Failures in a row (0 after a success). */
  get failures(): number {
    return this.#failures;
  }

  /** When the next attempt may start (performance.now() time); 0 when at once. */
  get retryAt(): number {
    return this.#retryAt;
  }

  /** Whether an attempt may start at `now`; an OPEN breaker past its cool-down moves to HALF_OPEN. */
  tryAttempt(now: number): boolean {
    if (this.#state !== 'OPEN') return true;
    if (now < this.#retryAt) return false;
    this.#move('HALF_OPEN', null);
    return true;
  }

  /** Whether a failure is being waited out: no attempt should start before `retryAt`. */
  get backingOff(): boolean {
    return this.#failures > 0;
  }

  success(): void {
    this.#failures = 0;
    this.#retryAt = 0;
    if (this.#state !== 'CLOSED') this.#move('CLOSED', null);
  }

  /** Records a failed attempt at `now`; returns the delay before the next one. */
  failure(now: number, options: BreakerOptions): number {
    this.#failures++;
    if (this.#state === 'HALF_OPEN' || this.#failures >= options.failureThreshold) {
      this.#retryAt = now + options.coolDownMs;
      if (this.#state !== 'OPEN') this.#move('OPEN', this.#retryAt);
      return options.coolDownMs;
    }
    const delay = Math.min(options.retryBaseMs * 2 ** (this.#failures - 1), options.retryMaxMs);
    this.#retryAt = now + delay;
    return delay;
  }

  #move(to: BreakerState, retryAt: number | null): void {
    const from = this.#state;
    this.#state = to;
    this.#onTransition({ from, to, failures: this.#failures, retryAt });
  }
}
