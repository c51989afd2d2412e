import type { DerivedCache } from '../derive/cache.js';
import type { Hub } from '../hub/hub.js';
import type { Store } from '../state/store.js';
import { servedStatus, type SourceSet } from './sources.js';
import type { EventLoopMonitor } from '../core/health.js';
import type { BridgeMetrics } from './metrics.js';
import type { Tally } from '../core/tally.js';
import type { Notifier } from './notifier.js';
import type { Checkpointer } from './checkpoint.js';
import type { StatsRegistry } from '../core/stats.js';

/** The parts whose figures /v1/stats reports (the same figures /metrics exposes). */
export interface StatsParts {
  store: Store;
  hub: Hub;
  metrics: BridgeMetrics;
  sources: SourceSet;
  eventLoop: EventLoopMonitor;
  notifier: Notifier;
  cache: DerivedCache;
  checkpointer: Checkpointer;
}

/** Registers the bridge's sections: hub, latency, sources, warmup, state, checkpoint, cache, eventLoop, memory, notifications, refusals, config. */
export function bridgeStats(stats: StatsRegistry, { store, hub, metrics, sources, eventLoop, notifier, cache, checkpointer }: StatsParts): void {
  stats.register('hub', () => ({
    clients: hub.clients(),
    slowConsumers: hub.slowConsumers,
    symbols: [...store.symbols()].length,
    backlogBytes: hub.backlogBytes(),
    deliveries: values(metrics.hub.deliveries),
    slowConsumerActions: values(metrics.hub.slowConsumers),
  }));
  stats.register('latency', () => ({
    writeToSendMs: metrics.hub.writeToSend.summary(),
    readToSendMs: metrics.hub.readToSend.summary(),
  }));
  stats.register('sources', () => {
    const folders = sources.statuses().map(({ status }) => {
      const counters = metrics.source(status.path);
      return { ...servedStatus(status), events: values(counters.events), reads: values(counters.reads), bytesRead: counters.bytes.value };
    });
    return {
      problems: folders.reduce((sum, folder) => sum + folder.problems, 0),
      folders,
      breakerTransitions: values(metrics.breakerTransitions),
    };
  });
  stats.register('warmup', () => ({ ...sources.warmup() }));
  stats.register('state', () => {
    const { snapshotHits, snapshotMisses, patches, patchBytes } = metrics.store;
    const served = snapshotHits.value + snapshotMisses.value;
    return {
      gseq: store.gseq,
      patches: patches.value,
      patchBytes: patchBytes.value,
      journal: store.journalTotals(),
      snapshotCache: {
        hits: snapshotHits.value,
        misses: snapshotMisses.value,
        hitRate: served === 0 ? null : Math.round((snapshotHits.value / served) * 1000) / 1000,
      },
    };
  });
  stats.register('checkpoint', () => {
    const last = checkpointer.last;
    return { files: values(metrics.checkpointFiles), last: last && { ...last, at: new Date(last.at).toISOString() } };
  });
  stats.register('cache', () => ({ ...cache.stats() }));
  stats.register('eventLoop', () => ({ ...eventLoop.delay() }));
  stats.register('memory', () => {
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    return { rssBytes: rss, heapUsedBytes: heapUsed, heapTotalBytes: heapTotal, externalBytes: external };
  });
  stats.register('notifications', () => ({ ...values(metrics.notifications), pending: notifier.pending }));
  stats.register('refusals', () => values(metrics.refusals));
  stats.register('config', () => values(metrics.configChanges));
}

function values<K extends string>(tallies: Record<K, Tally>): Record<K, number> {
  return Object.fromEntries(Object.entries<Tally>(tallies).map(([key, tally]) => [key, tally.value])) as Record<K, number>;
}
