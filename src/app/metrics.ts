import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BREAKER_STATES, type BreakerState } from '../core/circuit-breaker.js';
import type { HealthStatus } from '../core/health.js';
import { LatencyRecorder } from '../core/latency.js';
import { Tally, tallies } from '../core/tally.js';
import { cacheCounters } from '../derive/cache-counters.js';
import type { HubCounters } from '../hub/counters.js';
import { clusterCounters, type ClusterCounters } from '../cluster/counters.js';
import type { StoreCounters } from '../state/counters.js';
import { REFUSALS } from '../transports/refusals.js';
import { SourceCounters } from '../watch/counters.js';

/** Figures read when Prometheus scrapes, from the components that hold them. */
export interface MetricsProbes {
  clients(): { ws: number; sse: number };
  symbols(): number;
  journal(): { entries: number; bytes: number };
  /** Files per breaker state, per watched folder. */
  breakers(): Iterable<{ source: string; states: Record<BreakerState, number> }>;
  health(): HealthStatus;
  /** Entries and bytes the on-demand cache holds. */
  cache(): { entries: number; bytes: number };
  /** Symbols held against their caps, and what files' content had refused (state/data-guard.ts). */
  data(): { symbols: number; limits: { maxSymbols: number; maxSymbolsPerFile: number }; journalMaxBytes: number; refused: Record<string, Tally> };
  /** The history still to read behind the tails served first. */
  warmup(): { bytesLeft: number; filesLeft: number };
}

const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const HEALTH_VALUE: Record<HealthStatus, number> = { HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2 };

/**
 * Every metric of one bridge (a registry per bridge, so several bridges in one process, as
 * in tests, keep apart), served as Prometheus text by `/metrics` and read by `/v1/stats`.
 */
export class BridgeMetrics {
  readonly registry = new Registry();
  readonly store: StoreCounters = { patches: new Tally(), patchBytes: new Tally(), snapshotHits: new Tally(), snapshotMisses: new Tally() };
  readonly hub: HubCounters;
  readonly breakerTransitions = tallies(BREAKER_STATES);
  readonly notifications = tallies(['sent', 'failed', 'dropped'] as const);
  readonly refusals = tallies(REFUSALS);
  readonly configChanges = tallies(['applied', 'refused'] as const);
  /** Files a checkpoint held at start: gone on from it, or read again from their start. */
  readonly checkpointFiles = tallies(['resumed', 'reread'] as const);
  readonly cache = cacheCounters();
  readonly cluster: ClusterCounters = clusterCounters();
  readonly #sources = new Map<string, SourceCounters>();
  #probes: MetricsProbes | null = null;

  constructor() {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: 'tapebridge_' });
    const latency = (name: string, help: string): LatencyRecorder =>
      new LatencyRecorder(new Histogram({ name, help, buckets: LATENCY_BUCKETS_S, registers: [registry] }));
    this.hub = {
      deliveries: { ws: new Tally(), sse: new Tally() },
      slowConsumers: { paused: new Tally(), resnapshot: new Tally(), closed: new Tally() },
      writeToSend: latency('tapebridge_write_to_send_seconds', 'file modification time to the hub handing the message to the transports'),
      readToSend: latency('tapebridge_read_to_send_seconds', 'start of the read that found the change to the same hand-off'),
    };

    const perSource = (name: string, help: string, label: string | null, pick: (counters: SourceCounters) => Record<string, Tally> | Tally): void => {
      counter(registry, name, help, label ? ['source', label] : ['source'], (set) => {
        for (const [source, counters] of this.#sources) {
          const picked = pick(counters);
          if (picked instanceof Tally) set({ source }, picked.value);
          else for (const [key, tally] of Object.entries(picked)) set({ source, [label as string]: key }, tally.value);
        }
      });
    };
    perSource('tapebridge_file_events_total', 'watcher events (hints to read)', 'event', (counters) => counters.events);
    perSource('tapebridge_reads_total', 'file reads by outcome', 'outcome', (counters) => counters.reads);
    perSource('tapebridge_read_bytes_total', 'bytes read from watched files', null, (counters) => counters.bytes);
    perSource(
      'tapebridge_parse_errors_total',
      'records or lines that did not decode, and files not readable as their format',
      null,
      (counters) => counters.problems,
    );

    const single = (name: string, help: string, tally: Tally): void => counter(registry, name, help, [], (set) => set({}, tally.value));
    single('tapebridge_patches_total', 'patches committed', this.store.patches);
    single('tapebridge_patch_bytes_total', 'bytes of JSON Patch ops committed', this.store.patchBytes);
    single('tapebridge_snapshot_cache_hits_total', 'snapshots served from JSON already serialised for that version', this.store.snapshotHits);
    single('tapebridge_snapshot_cache_misses_total', 'snapshots that serialised their document', this.store.snapshotMisses);
    labelled(registry, 'tapebridge_deliveries_total', 'messages handed to client connections', 'transport', this.hub.deliveries);
    labelled(registry, 'tapebridge_slow_consumer_actions_total', 'slow consumer handling: paused, resnapshot, closed', 'action', this.hub.slowConsumers);
    labelled(
      registry,
      'tapebridge_checkpoint_files_total',
      'files a checkpoint held at start: resumed from it, or reread from their start',
      'outcome',
      this.checkpointFiles,
    );
    labelled(registry, 'tapebridge_breaker_transitions_total', 'file circuit breaker transitions, by new state', 'to', this.breakerTransitions);
    labelled(
      registry,
      'tapebridge_notifications_total',
      'webhook notifications: sent, failed after retries, dropped (queue full)',
      'result',
      this.notifications,
    );
    labelled(registry, 'tapebridge_refusals_total', 'requests, connections and frames refused, by reason', 'reason', this.refusals);
    labelled(registry, 'tapebridge_config_changes_total', 'configuration changes applied or refused', 'result', this.configChanges);
    labelled(registry, 'tapebridge_cache_hits_total', 'on-demand answers served without computing, by kind', 'kind', this.cache.hits);
    labelled(registry, 'tapebridge_cache_misses_total', 'on-demand answers computed, by kind', 'kind', this.cache.misses);
    labelled(
      registry,
      'tapebridge_cache_coalesced_total',
      'on-demand answers that waited for the same computation under way, by kind',
      'kind',
      this.cache.coalesced,
    );
    single('tapebridge_cluster_published_total', 'versions this ingest node wrote to Redis', this.cluster.published);
    single('tapebridge_cluster_published_bytes_total', 'bytes of the messages and documents this ingest node wrote to Redis', this.cluster.publishedBytes);
    single(
      'tapebridge_cluster_publish_errors_total',
      'writes to Redis that failed (the symbol is read again and its difference published)',
      this.cluster.publishErrors,
    );
    single('tapebridge_cluster_applied_total', 'versions this edge node took from Redis', this.cluster.applied);
    single('tapebridge_cluster_resnapshots_total', 'gaps the stream no longer held, sent to clients as fresh snapshots', this.cluster.resnapshots);
    single('tapebridge_cluster_gaps_filled_total', 'seq gaps on a channel filled from the stream', this.cluster.gapsFilled);
    single('tapebridge_cluster_bad_data_total', 'entries and messages in Redis refused as bad data', this.cluster.badData);
    single('tapebridge_cluster_cursors_relayed_total', 'SSE cursors of another edge process resumed from its commit log in Redis', this.cluster.cursorsRelayed);
    single(
      'tapebridge_cluster_cursors_unresolved_total',
      'SSE cursors of another edge process its log could not resolve (too old, or a hole): those clients got fresh snapshots',
      this.cluster.cursorsUnresolved,
    );
    single('tapebridge_cache_evictions_total', 'cache entries evicted to stay within cache.maxBytes', this.cache.evictions);
    single('tapebridge_cache_expirations_total', 'cache entries dropped at the end of their time to live', this.cache.expirations);

    const probes = (): MetricsProbes | null => this.#probes;
    gauge(registry, 'tapebridge_clients', 'connected clients', ['transport'], (set) => {
      const clients = probes()?.clients();
      if (clients) for (const [transport, count] of Object.entries(clients)) set({ transport }, count);
    });
    gauge(registry, 'tapebridge_symbols', 'symbols published', [], (set) => set({}, probes()?.symbols() ?? 0));
    gauge(registry, 'tapebridge_journal_entries', 'patches held for resume, all symbols', [], (set) => set({}, probes()?.journal().entries ?? 0));
    gauge(registry, 'tapebridge_journal_bytes', 'bytes of patch messages held for resume', [], (set) => set({}, probes()?.journal().bytes ?? 0));
    gauge(registry, 'tapebridge_breakers', 'watched files per circuit breaker state', ['source', 'state'], (set) => {
      for (const { source, states } of probes()?.breakers() ?? []) {
        for (const [state, count] of Object.entries(states)) set({ source, state }, count);
      }
    });
    gauge(registry, 'tapebridge_symbols_held', 'symbols held, published or not yet (bounded by document.maxSymbols)', [], (set) =>
      set({}, probes()?.data().symbols ?? 0),
    );
    gauge(registry, 'tapebridge_symbols_max', 'document.maxSymbols', [], (set) => set({}, probes()?.data().limits.maxSymbols ?? 0));
    gauge(registry, 'tapebridge_symbols_per_file_max', 'document.maxSymbolsPerFile', [], (set) => set({}, probes()?.data().limits.maxSymbolsPerFile ?? 0));
    gauge(registry, 'tapebridge_journal_bytes_max', 'journal.maxBytes: bytes of patches held for resume at most', [], (set) =>
      set({}, probes()?.data().journalMaxBytes ?? 0),
    );
    counter(
      registry,
      'tapebridge_data_refused_total',
      'records or symbols refused for what files hold: symbolsPerFile, symbols, symbolName, future, past',
      ['reason'],
      (set) => {
        for (const [reason, tally] of Object.entries(probes()?.data().refused ?? {})) set({ reason }, tally.value);
      },
    );
    gauge(registry, 'tapebridge_warmup_bytes_left', 'history still to read behind the tails served first (watch.tailFirstBytes)', [], (set) =>
      set({}, probes()?.warmup().bytesLeft ?? 0),
    );
    gauge(registry, 'tapebridge_warmup_files_left', 'files whose history is still being read behind their tail', [], (set) =>
      set({}, probes()?.warmup().filesLeft ?? 0),
    );
    gauge(registry, 'tapebridge_cache_entries', 'answers held by the on-demand cache', [], (set) => set({}, probes()?.cache().entries ?? 0));
    gauge(registry, 'tapebridge_cache_bytes', 'bytes held by the on-demand cache', [], (set) => set({}, probes()?.cache().bytes ?? 0));
    gauge(registry, 'tapebridge_health_status', '0 HEALTHY, 1 DEGRADED, 2 UNHEALTHY', [], (set) => {
      const status = probes()?.health();
      if (status) set({}, HEALTH_VALUE[status]);
    });
  }

  /** Tells the metrics where to read the figures they do not count themselves. */
  setProbes(probes: MetricsProbes): void {
    this.#probes = probes;
  }

  /**
   * The counters of one watched folder, created on first use and kept while the bridge
   * runs (a folder watched again after a config change goes on counting).
   */
  source(path: string): SourceCounters {
    let counters = this.#sources.get(path);
    if (!counters) {
      counters = new SourceCounters();
      this.#sources.set(path, counters);
    }
    return counters;
  }
}

type Labels = Record<string, string>;
type Emit = (set: (labels: Labels, value: number) => void) => void;

function counter(registry: Registry, name: string, help: string, labelNames: string[], emit: Emit): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      emit((labels, value) => this.inc(labels, value));
    },
  });
}

function labelled(registry: Registry, name: string, help: string, label: string, values: Record<string, Tally>): void {
  counter(registry, name, help, [label], (set) => {
    for (const [key, tally] of Object.entries(values)) set({ [label]: key }, tally.value);
  });
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[], emit: Emit): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      emit((labels, value) => this.set(labels, value));
    },
  });
}
