const LATENCY_WINDOW = 4096;

export interface LatencySummary {
  /** Samples in the window the percentiles are taken from (the last 4096). */
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Where every sample goes too, in seconds (a Prometheus histogram): core/ stays free of prom-client. */
export interface SecondsObserver {
  observe(seconds: number): void;
}

/** A latency in milliseconds: a Prometheus histogram, and the recent samples for percentiles. */
export class LatencyRecorder {
  readonly #histogram: SecondsObserver;
  readonly #window = new Float64Array(LATENCY_WINDOW);
  #recorded = 0;

  constructor(histogram: SecondsObserver) {
    this.#histogram = histogram;
  }

  record(ms: number): void {
    const value = ms > 0 ? ms : 0;
    this.#window[this.#recorded % LATENCY_WINDOW] = value;
    this.#recorded++;
    this.#histogram.observe(value / 1000);
  }

  /** Nearest-rank percentiles of the last samples, in ms; null before the first. */
  summary(): LatencySummary | null {
    const count = Math.min(this.#recorded, LATENCY_WINDOW);
    if (count === 0) return null;
    const sorted = this.#window.slice(0, count).sort();
    const rank = (q: number): number => round3(sorted[Math.min(count - 1, Math.ceil(q * count) - 1)] as number);
    return { count, p50: rank(0.5), p95: rank(0.95), p99: rank(0.99), max: round3(sorted[count - 1] as number) };
  }
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
