/**
 * The bridge's digest, `GET /v1/dashboard/sse`, and the state of that connection:
 * `connecting`, `live` (summaries arrive), `stale` (none for three intervals), or
 * `disconnected` (the stream failed; it is being retried).
 *
 * EventSource retries by itself after a network error, but gives up for good on an HTTP
 * error (a bridge that is shutting down answers 503), and never notices a connection that
 * went silent: both cases get a new EventSource here, with backoff.
 */
export class SummaryStream {
  #url;
  #onSummary;
  #onState;
  #source = null;
  #state = 'connecting';
  #lastAt = 0;
  #intervalMs = 1000;
  #retryMs = 1000;
  #retry = null;

  /**
   * @param {string} url
   * @param {{ onSummary: (summary: any) => void, onState: (state: string, previous: string) => void }} handlers
   */
  constructor(url, { onSummary, onState }) {
    this.#url = url;
    this.#onSummary = onSummary;
    this.#onState = onState;
    this.#open();
    setInterval(() => this.#check(), 250);
  }

  get state() {
    return this.#state;
  }

  #open() {
    clearTimeout(this.#retry);
    this.#source?.close();
    const source = new EventSource(this.#url);
    this.#source = source;
    this.#lastAt = performance.now();
    source.addEventListener('summary', (event) => {
      let summary;
      try {
        summary = JSON.parse(event.data);
      } catch {
        return;
      }
      this.#lastAt = performance.now();
      this.#intervalMs = summary.intervalMs;
      this.#retryMs = 1000;
      this.#set('live');
      this.#onSummary(summary);
    });
    source.addEventListener('error', () => {
      if (source !== this.#source) return;
      this.#set('disconnected');
      if (source.readyState === EventSource.CLOSED) this.#reopenLater();
    });
  }

  #reopenLater() {
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.#open(), this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, 10_000);
  }

  #check() {
    const silentMs = performance.now() - this.#lastAt;
    if (this.#state === 'live' && silentMs > 3 * this.#intervalMs) this.#set('stale');
    // Open but silent for this long: the connection is dead without knowing it.
    if ((this.#state === 'stale' || this.#state === 'connecting') && silentMs > 10 * this.#intervalMs + 2000) {
      this.#set('disconnected');
      this.#source?.close();
      this.#reopenLater();
    }
  }

  #set(state) {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.#onState(state, previous);
  }
}
