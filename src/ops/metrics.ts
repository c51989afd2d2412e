import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The bridge's Prometheus registry (one per bridge, so that several bridges in one process,
 * as in tests, keep apart). Components add their own metrics to it; `/metrics` serves it.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tapebridge_' });
  return registry;
}
