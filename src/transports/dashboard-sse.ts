import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { summaryRow, UpdateRates } from './dashboard-summary.js';
import { ANONYMOUS, type AuthGate, type Principal } from './auth.js';
import type { ClientError } from '../model/errors.js';
import { errorBody, errorMessage, summaryMessage, type SummaryHead } from '../model/wire.js';
import { healthBrief, healthDetail, type HealthReport, type HealthRegistry } from '../core/health.js';
import type { Store } from '../state/store.js';
import { healthFor } from './http.js';
import { sseEvent } from './frames.js';
import { openEventStream } from './sse.js';

const DASHBOARD_SSE_PATH = '/v1/dashboard/sse';

export interface DashboardOptions {
  /** A summary goes out at this interval. */
  intervalMs: number;
  /** Sent along: the dashboard marks a symbol stale after this long without an update. */
  staleAfterMs: number;
}

export interface DashboardDeps {
  store: Store;
  health: HealthRegistry;
}

export interface DashboardStreamOptions extends DashboardOptions {
  /** A client holding more unsent bytes than this skips a summary. Read at start only. */
  highWaterBytes: number;
}

/** Update rates are taken over at least this long. */
const RATE_WINDOW_MS = 5000;

/**
 * `GET /v1/dashboard/sse` (PROTOCOL.md §4): a `summary` event at a fixed interval with one
 * row per symbol and the health report, for dashboards that want a digest, not every tick.
 * Each token's summary holds the rows it may see, and the health report in detail for an
 * admin token, as status and counts for the others (as /health does). A summary is built
 * once per interval and serialised once per token (every client of the same token gets the
 * same bytes); a client still holding more than
 * `highWaterBytes` of earlier summaries skips this one (the next one has it all). The timer
 * runs only while someone listens.
 */
export class DashboardStream {
  readonly #store: Store;
  readonly #health: HealthRegistry;
  #options: DashboardOptions;
  readonly #highWaterBytes: number;
  /** Each listener with who it is for (looked up again whenever the tokens change). */
  readonly #responses = new Map<ServerResponse, Principal>();
  #rates: UpdateRates;
  /** The last summary built, for a client that connects between two. */
  #latest: Summary | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor({ store, health }: DashboardDeps, options: DashboardStreamOptions) {
    this.#store = store;
    this.#health = health;
    this.#options = options;
    this.#highWaterBytes = options.highWaterBytes;
    this.#rates = this.#newRates();
  }

  get clients(): number {
    return this.#responses.size;
  }

  /** `admit` refuses a stream over the connection limit (the dashboard's streams count as connections). */
  register(app: FastifyInstance, admit: () => ClientError | null = () => null): void {
    app.get(DASHBOARD_SSE_PATH, { config: { queryToken: true } }, (request, reply) => {
      const refusal = admit();
      if (refusal) return void reply.code(refusal.status).type('application/json').send(errorBody(refusal.code, refusal.message));
      const principal = request.principal ?? ANONYMOUS;
      reply.hijack();
      const response = reply.raw;
      response.on('error', () => undefined);
      openEventStream(response);
      this.#latest ??= this.#summary();
      response.write(frameFor(this.#latest, principal, new Map()));
      this.#responses.set(response, principal);
      response.on('close', () => {
        this.#responses.delete(response);
        if (this.#responses.size === 0) this.#stop();
      });
      this.#timer ??= setInterval(() => this.#broadcast(), this.#options.intervalMs);
    });
  }

  /** A live config change: the next summaries follow the new interval. */
  applyOptions(options: DashboardOptions): void {
    if (options.intervalMs === this.#options.intervalMs && options.staleAfterMs === this.#options.staleAfterMs) return;
    this.#options = options;
    this.#rates = this.#newRates();
    if (this.#timer) {
      clearInterval(this.#timer);
      this.#timer = setInterval(() => this.#broadcast(), options.intervalMs);
    }
  }

  /**
   * The tokens changed: a stream whose token was revoked gets an UNAUTHORIZED notice and
   * ends; the others take their token's new allow list and admin flag from the next summary.
   */
  reauthorize(auth: AuthGate): void {
    for (const [response, principal] of this.#responses) {
      if (response.writableEnded) continue;
      const now = auth.reauthorize(principal);
      if (now === null) {
        response.end(sseEvent('notice', errorMessage('UNAUTHORIZED', `the token ${JSON.stringify(principal.name)} is no longer valid`)));
        continue;
      }
      this.#responses.set(response, now);
    }
  }

  #closing: Promise<void> | null = null;

  /** Ends every stream. Memoised: every call gets the same promise. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = Promise.resolve();
    this.#stop();
    for (const response of this.#responses.keys()) response.end();
    return this.#closing;
  }

  /** Nobody listens: no timer, and rates start afresh with the next listener. */
  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#latest = null;
    this.#rates = this.#newRates();
  }

  #newRates(): UpdateRates {
    return new UpdateRates(Math.max(RATE_WINDOW_MS, 2 * this.#options.intervalMs));
  }

  #broadcast(): void {
    const summary = this.#summary();
    this.#latest = summary;
    const frames = new Map<Principal, Buffer>();
    for (const [response, principal] of this.#responses) {
      if (!response.writableEnded && response.writableLength <= this.#highWaterBytes) response.write(frameFor(summary, principal, frames));
    }
  }

  #summary(): Summary {
    const time = Date.now();
    const rates = this.#rates.sample(time, this.#store.symbols());
    const rows = [...this.#store.symbols()].map((state) => summaryRow(state, rates.get(state.symbol)));
    rows.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    return {
      head: {
        epoch: this.#store.epoch,
        time,
        intervalMs: this.#options.intervalMs,
        staleAfterMs: this.#options.staleAfterMs,
      },
      health: this.#health.report(),
      rows,
    };
  }
}

interface Summary {
  head: SummaryHead;
  health: HealthReport;
  rows: ReturnType<typeof summaryRow>[];
}

/** The summary event holding what a token may see, serialised once per token. */
function frameFor(summary: Summary, principal: Principal, frames: Map<Principal, Buffer>): Buffer {
  let frame = frames.get(principal);
  if (!frame) {
    const allowed = principal.symbols;
    const symbols = allowed === null ? summary.rows : summary.rows.filter((row) => allowed.allows(row.symbol));
    const health = healthFor(principal) === 'detail' ? healthDetail(summary.health) : healthBrief(summary.health);
    frame = Buffer.from(sseEvent('summary', summaryMessage(summary.head, health, symbols)));
    frames.set(principal, frame);
  }
  return frame;
}
