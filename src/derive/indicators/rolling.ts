/**
 * The last `size` values pushed, with their sum and sum of squares. The sums are of
 * deviations from an anchor (a recent value) and are recomputed from the values every
 * `size` pushes, so rounding errors neither build up over a long run nor swamp a small
 * spread around a large price (a variance of 0.01 around 6000).
 */
export class RollingWindow {
  readonly #values: Float64Array;
  #pushed = 0;
  #next = 0;
  #anchor = 0;
  #sum = 0;
  #squares = 0;
  #sinceExact = 0;

  constructor(readonly size: number) {
    this.#values = new Float64Array(size);
  }

  /** Values held: at most `size`. */
  get length(): number {
    return Math.min(this.#pushed, this.size);
  }

  push(value: number): void {
    if (this.size === 0) return;
    if (this.#pushed === 0) this.#anchor = value;
    if (this.#pushed >= this.size) {
      const old = (this.#values[this.#next] as number) - this.#anchor;
      this.#sum -= old;
      this.#squares -= old * old;
    }
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.size;
    this.#pushed++;
    const deviation = value - this.#anchor;
    this.#sum += deviation;
    this.#squares += deviation * deviation;
    if (++this.#sinceExact >= this.size) this.#recompute();
  }

  /** Mean of the values held and `extra`. */
  meanWith(extra: number): number {
    return this.#anchor + (this.#sum + extra - this.#anchor) / (this.length + 1);
  }

  /** Population variance of the values held and `extra`. */
  varianceWith(extra: number): number {
    const n = this.length + 1;
    const deviation = extra - this.#anchor;
    const mean = (this.#sum + deviation) / n;
    return Math.max(0, (this.#squares + deviation * deviation) / n - mean * mean);
  }

  #recompute(): void {
    const count = this.length;
    this.#anchor = this.#values[(this.#next + this.size - 1) % this.size] as number;
    this.#sum = 0;
    this.#squares = 0;
    for (let i = 0; i < count; i++) {
      const deviation = (this.#values[i] as number) - this.#anchor;
      this.#sum += deviation;
      this.#squares += deviation * deviation;
    }
    this.#sinceExact = 0;
  }
}

/**
 * An exponential moving average of `period` over numbers, seeded with the simple average
 * of the first `period` values (the usual convention: the first value is that average).
 */
export class EmaCore {
  readonly #alpha: number;
  #count = 0;
  #seed = 0;
  #ema = 0;

  constructor(readonly period: number) {
    this.#alpha = 2 / (period + 1);
  }

  push(value: number): void {
    this.#count++;
    if (this.#count < this.period) this.#seed += value;
    else if (this.#count === this.period) this.#ema = (this.#seed + value) / this.period;
    else this.#ema += this.#alpha * (value - this.#ema);
  }

  /** The average with `value` as the newest. */
  value(value: number): number | undefined {
    const count = this.#count + 1;
    if (count < this.period) return undefined;
    if (count === this.period) return (this.#seed + value) / this.period;
    return this.#ema + this.#alpha * (value - this.#ema);
  }

  /** The average of the values pushed, once there are `period` of them. */
  get current(): number | undefined {
    return this.#count >= this.period ? this.#ema : undefined;
  }
}

/** The batch counterpart of EmaCore: the EMA at every index (undefined before `period` values). */
export function emaOf(values: readonly number[], period: number): (number | undefined)[] {
  const alpha = 2 / (period + 1);
  const out: (number | undefined)[] = [];
  let ema = 0;
  for (let i = 0; i < values.length; i++) {
    if (i + 1 < period) {
      out.push(undefined);
      continue;
    }
    if (i + 1 === period) {
      let sum = 0;
      for (let j = 0; j < period; j++) sum += values[j] as number;
      ema = sum / period;
    } else {
      ema += alpha * ((values[i] as number) - ema);
    }
    out.push(ema);
  }
  return out;
}
