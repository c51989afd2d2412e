import type { AddressInfo } from 'node:net';
import { TIMEFRAME_MS } from './derive/candles.js';
import { FormatRegistry } from './formats/registry.js';
import { Hub } from './hub/hub.js';
import type { Config } from './ops/config.js';
import { HealthRegistry } from './ops/health.js';
import { createMetricsRegistry } from './ops/metrics.js';
import { StatsRegistry } from './ops/stats.js';
import { createLogger, type Logger } from './ops/logger.js';
import type { Timeframe } from './state/document.js';
import { Store } from './state/store.js';
import { registerHttpRoutes } from './transports/http.js';
import { createHttpServer } from './transports/server.js';
import { SseTransport } from './transports/sse.js';
import { WebSocketTransport } from './transports/ws.js';
import { formatOptionsOf, symbolMapperOf } from './watch/source-options.js';
import { SourceWatcher } from './watch/source-watcher.js';

export interface BridgeOptions {
  logger?: Logger;
  /** Fixes the epoch (tests); random otherwise. */
  epoch?: string;
}

export interface Bridge {
  /** `http://host:port` the bridge listens on. */
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  readonly hub: Hub;
  /** Resolves once every file present at start has been read once. */
  readonly ready: Promise<void>;
  /** Stops watching, closes every connection (WebSocket 1001) and the server. Idempotent. */
  close(): Promise<void>;
}

/** Starts the whole pipeline: watch → formats → state → hub → transports. */
export async function startBridge(config: Config, options: BridgeOptions = {}): Promise<Bridge> {
  const logger = options.logger ?? createLogger(config.log.level);
  const store = new Store({ journalSize: config.journal.size, ...(options.epoch ? { epoch: options.epoch } : {}) }, (error) =>
    logger.error({ err: error }, 'commit listener failed'),
  );
  const hub = new Hub(store, config.stream, logger);
  const health = new HealthRegistry();
  const stats = new StatsRegistry();
  const metrics = createMetricsRegistry();
  const app = createHttpServer(logger);
  const sse = new SseTransport(hub, store, config.stream, logger);
  sse.register(app);
  registerHttpRoutes(app, { store, hub, health, stats, metrics }, config.http);
  const ws = new WebSocketTransport(app.server, hub, store, config.stream, logger);
  health.register('hub', () => ({ status: 'HEALTHY', clients: hub.clients(), slowConsumers: hub.slowConsumers }));
  stats.register('hub', () => ({ clients: hub.clients(), slowConsumers: hub.slowConsumers, symbols: [...store.symbols()].length }));

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await Promise.all([ws.close(), app.close()]);
    sse.close();
    hub.close();
    throw error;
  }
  const port = (app.server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, epoch: store.epoch, sources: config.sources.map((source) => source.path) }, 'listening');

  const historyMs = Math.max(
    0,
    ...Object.entries(config.document.bars).map(([tf, size]) => (size ?? 0) * TIMEFRAME_MS[tf as Timeframe]),
  );
  const sources = config.sources.map((source) => {
    const mapSymbol = symbolMapperOf(source.symbols);
    return new SourceWatcher({
      path: source.path,
      registry: new FormatRegistry(source.format, formatOptionsOf(source, config.document.bookLevels)),
      ...(mapSymbol ? { mapSymbol } : {}),
      include: source.include,
      store,
      windows: config.document.bars,
      logger,
      schedule: config.watch,
      usePolling: source.usePolling,
      pollIntervalMs: source.pollIntervalMs,
      depth: source.depth,
      historyMs,
      maxBackfillBytes: config.watch.maxBackfillBytes,
      chunkBytes: config.watch.chunkBytes,
      maxWholeBytes: config.watch.maxWholeBytes,
    });
  });
  stats.register('sources', () => {
    const folders = sources.map((source) => source.status());
    return { problems: folders.reduce((sum, folder) => sum + folder.problems, 0), folders };
  });
  health.register('sources', () => ({
    status: 'HEALTHY',
    folders: sources.map((source) => ({ path: source.root, files: source.files() })),
    symbols: [...store.symbols()].length,
  }));

  const ready = Promise.all(sources.map((source) => source.start())).then(() => {
    logger.info({ symbols: [...store.symbols()].length }, 'initial read done');
  });
  ready.catch((error: unknown) => logger.error({ err: error }, 'a source failed to start'));

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await Promise.all(sources.map((source) => source.close()));
      hub.close();
      sse.close();
      await ws.close();
      await app.close();
      logger.info('closed');
    })();
    return closing;
  };

  return { url, port, store, hub, ready, close };
}
