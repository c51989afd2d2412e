import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** HEALTHY / DEGRADED / UNHEALTHY (PROTOCOL.md §5): 503 only when UNHEALTHY. */
export type HealthStatus = 'HEALTHY' | 'DEGRADED' | 'UNHEALTHY';

export interface ComponentHealth {
  status: HealthStatus;
  [detail: string]: unknown;
}

export type HealthCheck = () => ComponentHealth;
/** Several components at once, under names that come and go (one per watched folder). */
export type HealthGroup = () => Iterable<[name: string, health: ComponentHealth]>;

export interface HealthReport {
  status: HealthStatus;
  components: Record<string, ComponentHealth>;
}

const RANK: Record<HealthStatus, number> = { HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2 };

function worst(a: HealthStatus, b: HealthStatus): HealthStatus {
  return RANK[b] > RANK[a] ? b : a;
}

/** Components report their own health; the bridge's status is the worst of them. */
export class HealthRegistry {
  readonly #checks: HealthGroup[] = [];

  register(name: string, check: HealthCheck): void {
    this.#checks.push(() => [[name, check()]]);
  }

  registerGroup(group: HealthGroup): void {
    this.#checks.push(group);
  }

  report(): HealthReport {
    let status: HealthStatus = 'HEALTHY';
    const components: Record<string, ComponentHealth> = {};
    for (const group of this.#checks) {
      let entries: Iterable<[string, ComponentHealth]>;
      try {
        entries = [...group()];
      } catch (error) {
        entries = [[`check-${this.#checks.indexOf(group)}`, { status: 'UNHEALTHY', error: (error as Error).message }]];
      }
      for (const [name, component] of entries) {
        components[name] = component;
        status = worst(status, component.status);
      }
    }
    return { status, components };
  }
}

const RESOLUTION_MS = 10;

export interface EventLoopThresholds {
  eventLoopDegradedMs: number;
  eventLoopUnhealthyMs: number;
}

/**
 * Event-loop delay (perf_hooks monitorEventLoopDelay), judged over windows: each call to
 * `rotate()` closes the current window; the health check reads the last closed one (or the
 * current one before the first closes).
 */
export class EventLoopMonitor {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  #last: { p50Ms: number; p99Ms: number; maxMs: number } | null = null;

  constructor() {
    this.#histogram.enable();
  }

  rotate(): void {
    this.#last = this.#read();
    this.#histogram.reset();
  }

  /** Delay percentiles of the last window, in ms. */
  delay(): { p50Ms: number; p99Ms: number; maxMs: number } {
    return this.#last ?? this.#read();
  }

  check(thresholds: EventLoopThresholds): ComponentHealth {
    const delay = this.delay();
    const status: HealthStatus =
      delay.p99Ms > thresholds.eventLoopUnhealthyMs ? 'UNHEALTHY' : delay.p99Ms > thresholds.eventLoopDegradedMs ? 'DEGRADED' : 'HEALTHY';
    return {
      status,
      lagP50Ms: delay.p50Ms,
      lagP99Ms: delay.p99Ms,
      lagMaxMs: delay.maxMs,
      degradedAboveMs: thresholds.eventLoopDegradedMs,
      unhealthyAboveMs: thresholds.eventLoopUnhealthyMs,
    };
  }

  #closing: Promise<void> | null = null;

  /** Stops sampling. Memoised: every call gets the same promise. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = Promise.resolve();
    this.#histogram.disable();
    return this.#closing;
  }

  #read(): { p50Ms: number; p99Ms: number; maxMs: number } {
    const h = this.#histogram;
    // The histogram records the time between its timer's runs: the lag is what exceeds the resolution.
    const ms = (ns: number): number => (Number.isFinite(ns) && h.count > 0 ? Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100) : 0);
    return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
  }
}

/** Resident memory against its configured bound (null: not judged). */
export function memoryHealth(maxRssBytes: number | null): ComponentHealth {
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  const status: HealthStatus = maxRssBytes !== null && rss > maxRssBytes ? 'DEGRADED' : 'HEALTHY';
  return { status, rssBytes: rss, heapUsedBytes: heapUsed, heapTotalBytes: heapTotal, externalBytes: external, degradedAboveBytes: maxRssBytes };
}

/** What the monitor reads (the components, the event loop) and whom it tells of a change of status. */
export interface HealthMonitorDeps {
  registry: HealthRegistry;
  eventLoop: EventLoopMonitor;
  onChange: (from: HealthStatus, to: HealthStatus, report: HealthReport) => void;
}

/**
 * Evaluates health at a fixed interval (closing an event-loop window each time) and tells
 * `onChange` when the bridge's status moves.
 */
export class HealthMonitor {
  readonly #registry: HealthRegistry;
  readonly #eventLoop: EventLoopMonitor;
  readonly #onChange: (from: HealthStatus, to: HealthStatus, report: HealthReport) => void;
  #intervalMs: number;
  #timer: NodeJS.Timeout;
  #status: HealthStatus = 'HEALTHY';

  constructor({ registry, eventLoop, onChange }: HealthMonitorDeps, { intervalMs }: { intervalMs: number }) {
    this.#registry = registry;
    this.#eventLoop = eventLoop;
    this.#intervalMs = intervalMs;
    this.#onChange = onChange;
    this.#timer = setInterval(() => this.check(), intervalMs);
  }

  setInterval(intervalMs: number): void {
    if (intervalMs === this.#intervalMs) return;
    this.#intervalMs = intervalMs;
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.check(), intervalMs);
  }

  /** Evaluates now. */
  check(): HealthReport {
    this.#eventLoop.rotate();
    const report = this.#registry.report();
    const previous = this.#status;
    this.#status = report.status;
    if (report.status !== previous) this.#onChange(previous, report.status, report);
    return report;
  }

  #closing: Promise<void> | null = null;

  /** Stops evaluating. Memoised: every call gets the same promise. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = Promise.resolve();
    clearInterval(this.#timer);
    return this.#closing;
  }
}

/** How many components are in each status. */
export type HealthCounts = Record<HealthStatus, number>;

/**
 * What a caller who is not an admin is told (/health without an admin token, a dashboard
 * stream of a non-admin token): the status and the counts, no component, path or reason.
 */
export interface HealthBrief {
  status: HealthStatus;
  counts: HealthCounts;
}

export function healthBrief(report: HealthReport): HealthBrief {
  const counts: HealthCounts = { HEALTHY: 0, DEGRADED: 0, UNHEALTHY: 0 };
  for (const component of Object.values(report.components)) counts[component.status]++;
  return { status: report.status, counts };
}

/** The report as an admin sees it: the components, and the counts as in the brief. */
export function healthDetail(report: HealthReport): HealthReport & HealthBrief {
  return { ...report, ...healthBrief(report) };
}

/** Longest failure reason served. */
const MAX_REASON_CHARS = 160;

/**
 * A file's failure as it is served (/health, /v1/stats, the dashboard). A reader's or
 * decoder's reason may quote the file's bytes (JSON.parse: `Unexpected token 'r',
 * "root:x:0:0"... is not valid JSON`), so what is served keeps the bridge's own words only:
 * quoted runs become `…`, characters beyond printable ASCII `?`, and it is cut short. A
 * failed read keeps its error code (the OS message is the log's). The log keeps the whole
 * reason, with the file and offset.
 */
export function servedReason(reason: string | null): string | null {
  if (reason === null) return null;
  if (reason.startsWith('read failed')) {
    const code = /\b(E[A-Z0-9]{2,15})\b/.exec(reason)?.[1];
    return code === undefined ? 'read failed' : `read failed (${code})`;
  }
  const words = reason.replace(/"[^"]*"?|'[^']*'?|`[^`]*`?|\u201c[^\u201d]*\u201d?/g, '…').replace(/[^\x20-\x7e…]/g, '?');
  return words.length > MAX_REASON_CHARS ? `${words.slice(0, MAX_REASON_CHARS - 1)}…` : words;
}
