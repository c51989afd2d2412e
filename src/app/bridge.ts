import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DerivedCache } from '../derive/cache.js';
import { IndicatorPlan } from '../derive/indicators/deriver.js';
import { FormatRegistry } from '../formats/registry.js';
import { TimeZone } from '../model/zone.js';
import { Hub } from '../hub/hub.js';
import { AuthGate } from '../transports/auth.js';
import { loadTokens } from './tokens.js';
import type { Config, ConfigLayer, SourceConfig } from './config.js';
import type { ConfigLoader } from './config-loader.js';
import { FileWatcher } from '../core/file-watcher.js';
import { EventLoopMonitor, HealthMonitor, HealthRegistry, memoryHealth, type HealthReport, type HealthStatus } from '../core/health.js';
import { LiveConfig } from './live-config.js';
import { closeInOrder, type CloseStep } from './shutdown.js';
import { BridgeMetrics } from './metrics.js';
import { Notifier, type NotifyLevel } from './notifier.js';
import { bridgeStats } from './stats.js';
import { StatsRegistry } from '../core/stats.js';
import { createLogger, type Logger } from '../core/logger.js';
import { ClientError } from '../model/errors.js';
import type { UnexpectedErrors } from './unexpected.js';
import { type Timeframe, TIMEFRAME_MS } from '../model/document.js';
import { loadState, saveState } from '../state/persist.js';
import { Checkpointer, loadCheckpoint, type RestoredFiles } from './checkpoint.js';
import type { DataLimits } from '../state/data-guard.js';
import { ingestInto, type SourceIngestOptions } from '../state/ingest.js';
import { Store } from '../state/store.js';
import { DashboardStream } from '../transports/dashboard-sse.js';
import { registerDashboardPage } from '../transports/dashboard-page.js';
import { registerConfigRoutes } from './config-routes.js';
import { registerDerivedRoutes } from '../transports/derived-routes.js';
import { installGuards } from '../transports/guard.js';
import { registerHttpRoutes } from '../transports/http.js';
import { registerSourcesRoute, type SourceFile, type SourceFiles } from '../transports/sources-route.js';
import { ConnectionGuard } from '../transports/connections.js';
import { ExposureError, exposureProblem, hostAllowed, isLoopback } from '../transports/host-check.js';
import { createHttpServer } from '../transports/server.js';
import { SseEndpoint } from '../transports/sse.js';
import { WebSocketEndpoint } from '../transports/ws.js';
import { formatOptionsOf, symbolMapperOf } from './source-options.js';
import { documentShape, SourceSet, sourceHealth, sourceKey, type BridgeWarmup } from './sources.js';
import { SourceWatcher, type FileBreakerEvent } from '../watch/source-watcher.js';
import { installHttpCompression } from '../transports/compression.js';
import { installOpenApi } from '../transports/openapi.js';
import { VERSION } from '../model/version.js';
import { clusterRoleOf, joinCluster, nodeIdOf, type ClusterNode, type ClusterRole } from './cluster.js';
import type { RelayedResume } from '../model/wire.js';

export interface BridgeOptions {
  logger?: Logger;
  /** Fixes the epoch (tests); random otherwise. */
  epoch?: string;
  /** Where `config` came from: the bridge watches its files and applies their edits. */
  configLoader?: ConfigLoader;
  /** The layers `config` was resolved from (with configLoader). */
  configLayers?: ConfigLayer[];
  /** The process's last line of defence (cli.ts installs it): counted in /metrics, shown in /health. */
  unexpected?: UnexpectedErrors;
  /**
   * The embedder's own parts, closed with the bridge: right after it stops accepting, before
   * its own parts, each isolated like them (one that fails is logged, the rest still close).
   */
  closeSteps?: readonly CloseStep[];
}

export interface Bridge extends AsyncDisposable {
  /** `http://host:port` the bridge listens on. */
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  readonly hub: Hub;
  /** The running configuration: PATCH /v1/config and config file edits change it. */
  readonly config: LiveConfig;
  readonly health: HealthRegistry;
  /** Resolves once every file present at start has been read once (and config files are watched). */
  readonly ready: Promise<void>;
  /** The history still to read behind the tails served first (watch.tailFirstBytes). */
  warmup(): BridgeWarmup;
  /**
   * Stops accepting, stops watching, closes every connection (WebSocket 1001) and the server,
   * step by step (a step that fails is logged and the others still run). Memoised: every call
   * gets the same promise.
   */
  close(): Promise<void>;
  /** close(), for `await using bridge = await startBridge(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The document and what fans it out, with the config and ops parts around them: nothing listens yet. */
interface State {
  readonly metrics: BridgeMetrics;
  readonly store: Store;
  readonly cache: DerivedCache;
  readonly hub: Hub;
  readonly live: LiveConfig;
  readonly notifier: Notifier;
  readonly health: HealthRegistry;
  readonly stats: StatsRegistry;
  /** What the checkpoint gives the files at start (null: none was taken); emptied once they were read. */
  readonly restored: RestoredFiles | null;
  /** This node's id (hello carries it) and its role in a cluster (null: a single node). */
  readonly node: string;
  readonly role: ClusterRole | null;
  /** An edge's SSE cursor scope (Hub cursorScope), null elsewhere. */
  readonly cursorScope: string | null;
}

/** The HTTP server with its routes and streams, registered but not listening. */
interface Transports {
  readonly app: FastifyInstance;
  readonly connections: ConnectionGuard;
  readonly sse: SseEndpoint;
  readonly ws: WebSocketEndpoint;
  readonly dashboard: DashboardStream;
  /** Stops passing token changes on to the open SSE and dashboard streams. */
  readonly stopReauthorizing: () => void;
}

interface Monitoring {
  readonly eventLoop: EventLoopMonitor;
  readonly monitor: HealthMonitor;
}

/** The files whose edits change the running config: the tokens file, the config files (with a loader). */
interface ConfigWatchers {
  readonly tokenWatcher: FileWatcher;
  readonly configWatcher: FileWatcher | null;
}

/** Starts the whole pipeline: watch → formats → state → hub → transports, with ops around it. */
export async function startBridge(config: Config, options: BridgeOptions = {}): Promise<Bridge> {
  const logger = options.logger ?? createLogger(config.log.level);
  const auth = await checkAccess(config, logger);
  const state = await buildState(config, options, logger);
  // The sources route is registered with the other routes, before the folders it reports on are opened.
  let sources: SourceSet | null = null;
  const files = (): SourceFile[] => sources?.files(state.store) ?? [];
  let cluster: ClusterNode | null = null;
  const resolveCursor = state.role === 'edge' ? (id: string) => cluster?.resolveCursor(id) ?? Promise.resolve(null) : null;
  const transports = await openTransports(config, options.unexpected, logger, auth, state, files, resolveCursor);
  const { role, node, cursorScope } = state;
  cluster = role === null ? null : joinCluster(config, { role, node, cursorScope }, state.store, logger, state.metrics.cluster);
  const { url, port } = await listenWhenSynced(config, logger, auth, state, transports, cluster);
  sources = openSources(logger, state);
  const checkpointer = checkpointerOf(state, sources, logger);
  const monitoring = monitorHealth(config, options.unexpected, state, transports.connections, sources, checkpointer, cluster);
  const watchers = wireLiveConfig(config, options.configLoader, logger, auth, state, transports, sources, monitoring.monitor);
  const ready = readInitialFiles(config, logger, state, sources, watchers, checkpointer, cluster);

  const steps = shutdownSteps(state, transports, sources, monitoring, watchers, checkpointer, cluster, options.closeSteps ?? [], logger);
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= closeInOrder(steps, logger).then(() => logger.info('closed'));
    return closing;
  };

  return {
    url,
    port,
    store: state.store,
    hub: state.hub,
    config: state.live,
    health: state.health,
    ready,
    warmup: () => sources.warmup(),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Refuses an exposure without access control, and reads the tokens file before anything opens: a bad one stops the start. */
async function checkAccess(config: Config, logger: Logger): Promise<AuthGate> {
  const exposure = exposureProblem(config.host, config.auth);
  if (exposure) throw new ExposureError(exposure);
  if (!isLoopback(config.host) && config.auth.insecureNoAuth && config.auth.tokens.length === 0 && config.auth.tokensFile === null) {
    logger.error(
      { event: 'insecure_no_auth', host: config.host },
      'listening beyond loopback WITHOUT TOKENS (--insecure-no-auth): anyone who reaches this address can read every symbol and change the config',
    );
  }
  return new AuthGate(await loadTokens(config.auth), config.auth);
}

/** The store (restored from journal.persistDir when saved there), the cache, the hub, the live config and the ops registries. */
async function buildState(config: Config, options: BridgeOptions, logger: Logger): Promise<State> {
  const metrics = new BridgeMetrics();
  const role = clusterRoleOf(config);
  // An edge's state is Redis's: it keeps none of its own across restarts.
  const persistDir = role === 'edge' ? null : config.journal.persistDir;
  const saved = persistDir === null ? null : await loadState(resolve(persistDir), logger);
  const epoch = saved?.epoch ?? options.epoch;
  const store = new Store(
    {
      journalSize: config.journal.size,
      journalBytes: journalBytesOf(config),
      limits: dataLimitsOf(config),
      counters: metrics.store,
      indicators: indicatorPlanOf(config),
      mirror: role === 'edge',
      ...(epoch ? { epoch } : {}),
    },
    (error) => logger.error({ event: 'commit_listener_failed', err: error }, 'commit listener failed'),
  );
  if (saved) {
    store.restore(saved);
    logger.info({ event: 'state_restored', epoch: saved.epoch, symbols: saved.symbols.length }, 'saved state restored: clients resume in the same epoch');
  }
  const restored =
    persistDir === null
      ? null
      : await loadCheckpoint(resolve(persistDir), config.journal.checkpointMaxBytes, {
          store,
          logger,
          shape: documentShape(config),
          sources: new Set(config.sources.map(sourceKey)),
          ingest: ingestOptionsOf(config),
        });
  const cache = new DerivedCache(config.cache, metrics.cache);
  const node = nodeIdOf(config);
  // An edge's commit counter starts again with each process: a cursor of its previous one, under
  // the same node id, must not be read as one of this one's (it would skip what came in between).
  const cursorScope = role === 'edge' ? `${node}.${randomBytes(3).toString('hex')}` : null;
  const hub = new Hub({ store, logger, counters: metrics.hub, cursorScope }, config.stream);
  const loader = options.configLoader;
  const live = new LiveConfig(config, {
    ...(options.configLayers ? { base: options.configLayers } : {}),
    ...(loader ? { load: () => loader.load() } : {}),
    logger,
    counters: metrics.configChanges,
  });
  const notifier = new Notifier(
    { logger, counters: metrics.notifications, identity: () => ({ name: 'tapebridge', version: VERSION, epoch: store.epoch }) },
    config.notify,
  );
  const health = new HealthRegistry();
  const stats = new StatsRegistry();
  return { metrics, store, cache, hub, live, notifier, health, stats, restored, node, role, cursorScope };
}

/** The HTTP server, its guards and routes, the SSE, WebSocket and dashboard streams. */
async function openTransports(
  config: Config,
  unexpected: UnexpectedErrors | undefined,
  logger: Logger,
  auth: AuthGate,
  state: State,
  files: SourceFiles,
  resolveCursor: ((id: string) => Promise<RelayedResume | null>) | null,
): Promise<Transports> {
  const { metrics, store, cache, hub, live, health, stats } = state;
  const app = createHttpServer(logger);
  const connections = new ConnectionGuard({ server: app.server, logger, refused: metrics.refusals.connections }, config.http);
  unexpected?.attach(logger, metrics.registry);
  await installGuards(app, { auth, host: config.host, config: () => live.current, refusals: metrics.refusals });
  if (config.stream.compression.http) await installHttpCompression(app, config.stream.compression.thresholdBytes);
  await installOpenApi(app);
  const sse = new SseEndpoint({ hub, store, logger, refusals: metrics.refusals, ...(resolveCursor ? { resolveCursor } : {}) }, config.stream);
  sse.register(app);
  registerHttpRoutes(app, { auth, store, hub, health, stats, metrics: metrics.registry }, config.http);
  registerDerivedRoutes(app, { store, cache });
  registerSourcesRoute(app, files);
  registerConfigRoutes(app, live);
  const ws = new WebSocketEndpoint(
    {
      server: app.server,
      hub,
      store,
      logger,
      node: state.node,
      access: {
        auth,
        origins: () => live.current.http.origins,
        hostAllowed: (header) => hostAllowed(header, config.host, live.current.http.allowedHosts),
        refusals: metrics.refusals,
      },
    },
    config.stream,
  );
  const dashboard = new DashboardStream({ store, health }, { ...config.dashboard, highWaterBytes: config.stream.highWaterBytes });
  dashboard.register(app, () => {
    const limit = live.current.stream.maxConnections;
    if (hub.connections + dashboard.clients < limit) return null;
    metrics.refusals.connections.add();
    return new ClientError('OVERLOADED', `the bridge serves its maximum of ${limit} connections; try again later`);
  });
  // A token removed or narrowed reaches the open streams too (the WebSocket transport listens itself).
  const stopReauthorizing = auth.onChange(() => {
    sse.reauthorize(auth);
    dashboard.reauthorize(auth);
  });
  registerDashboardPage(app);
  return { app, connections, sse, ws, dashboard, stopReauthorizing };
}

/** Listens on config.host:config.port; when it cannot, closes what was opened and throws. */
async function listen(config: Config, logger: Logger, auth: AuthGate, state: State, transports: Transports): Promise<{ url: string; port: number }> {
  const { store, cache, hub } = state;
  const { app, sse, ws, dashboard } = transports;
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await closeInOrder(
      [
        { name: 'websocket and http server', close: () => Promise.all([ws.close(), app.close()]) },
        { name: 'cache', close: () => cache.close() },
        { name: 'sse', close: () => sse.close() },
        { name: 'dashboard', close: () => dashboard.close() },
        { name: 'hub', close: () => hub.close() },
      ],
      logger,
    );
    throw error;
  }
  const port = (app.server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, epoch: store.epoch, sources: config.sources.map((source) => source.path), tokens: auth.enabled }, 'listening');
  return { url, port };
}

/** How long an edge waits for its first read of Redis before it listens anyway (DEGRADED, serving what it holds). */
const EDGE_FIRST_SYNC_MS = 5000;

/**
 * listen(), once an edge holds what Redis holds (at most EDGE_FIRST_SYNC_MS): clients that come
 * over from another edge then resume with patches, not snapshots of symbols not read yet.
 * Closes the cluster's connections when it cannot listen.
 */
async function listenWhenSynced(
  config: Config,
  logger: Logger,
  auth: AuthGate,
  state: State,
  transports: Transports,
  cluster: ClusterNode | null,
): Promise<{ url: string; port: number }> {
  if (cluster?.role === 'edge') {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([cluster.synced, new Promise<void>((resolve) => (timer = setTimeout(resolve, EDGE_FIRST_SYNC_MS)))]);
    clearTimeout(timer);
  }
  try {
    return await listen(config, logger, auth, state, transports);
  } catch (error) {
    await cluster?.close();
    throw error;
  }
}

/** The watched folders (started by readInitialFiles), their circuit breakers told to the notifier. */
function openSources(logger: Logger, { store, metrics, notifier, restored }: State): SourceSet {
  const onBreaker = (event: FileBreakerEvent): void => {
    metrics.breakerTransitions[event.to].add();
    const retryAt = event.retryAt === null ? null : new Date(Date.now() + (event.retryAt - performance.now())).toISOString();
    const notification = {
      type: 'breaker' as const,
      source: event.source,
      file: event.file,
      from: event.from,
      to: event.to,
      failures: event.failures,
      reason: event.reason,
      retryAt,
    };
    if (event.to === 'CLOSED') notifier.notify('info', 'file readable again; circuit breaker closed', notification);
    else if (event.from === 'CLOSED')
      notifier.notify('error', `file failed ${event.failures} times in a row; circuit breaker open, next try at ${retryAt}`, notification);
    else notifier.notify('debug', `circuit breaker ${event.from} -> ${event.to}`, notification, false);
  };
  const watcherFor = (source: SourceConfig, config: Config, initial: boolean): SourceWatcher => {
    const mapSymbol = symbolMapperOf(source.symbols);
    return new SourceWatcher({
      path: source.path,
      registry: new FormatRegistry(source.format, formatOptionsOf(source, config.document.bookLevels)),
      include: source.include,
      openIngest: ingestInto(store, {
        ...ingestOptionsOf(config),
        ...(mapSymbol ? { mapSymbol } : {}),
        ...(restored ? { resumeFrom: (key: string) => restored.ingests.get(key) } : {}),
      }),
      ...(restored ? { savedTail: (path: string) => restored.tails.get(path) } : {}),
      onResume: (_path, outcome) => metrics.checkpointFiles[outcome.resumed ? 'resumed' : 'reread'].add(),
      logger,
      schedule: config.watch,
      usePolling: source.usePolling,
      pollIntervalMs: source.pollIntervalMs,
      depth: source.depth,
      followSymlinks: source.followSymlinks,
      historyMs: historyMsOf(config),
      maxBackfillBytes: config.watch.maxBackfillBytes,
      // A folder a config change adds or reads again keeps what it published until it is read whole.
      tailFirstBytes: initial ? config.watch.tailFirstBytes : 0,
      chunkBytes: config.watch.chunkBytes,
      maxWholeBytes: config.watch.maxWholeBytes,
      breaker: config.breaker,
      onBreaker,
      counters: metrics.source(resolve(source.path)),
    });
  };
  return new SourceSet(watcherFor, logger);
}

/** The health components, the monitor that tells their changes to the notifier, /stats and the /metrics probes. */
function monitorHealth(
  config: Config,
  unexpected: UnexpectedErrors | undefined,
  state: State,
  connections: ConnectionGuard,
  sources: SourceSet,
  checkpointer: Checkpointer,
  cluster: ClusterNode | null,
): Monitoring {
  const { metrics, store, cache, hub, live, notifier, health, stats } = state;
  const eventLoop = new EventLoopMonitor();
  if (cluster) health.register('cluster', () => cluster.health());
  health.registerGroup(() => sourceHealth(sources.statuses()));
  health.register('hub', () => {
    const limit = live.current.stream.maxConnections;
    return {
      status: hub.connections >= limit ? 'DEGRADED' : 'HEALTHY',
      clients: hub.clients(),
      maxConnections: limit,
      backlogBytes: hub.backlogBytes(),
      slowConsumers: hub.slowConsumers,
    };
  });
  health.register('data', () => {
    const journal = store.journalTotals();
    return store.guard.health({ symbols: store.symbolCount, journalBytes: journal.bytes, maxJournalBytes: store.journalBytes.total });
  });
  health.register('eventLoop', () => eventLoop.check(live.current.health));
  health.register('connections', () => ({
    status: connections.open >= connections.cap ? 'DEGRADED' : 'HEALTHY',
    open: connections.open,
    cap: connections.cap,
  }));
  if (unexpected) health.register('process', () => unexpected.health());
  health.register('memory', () => memoryHealth(live.current.health.maxRssBytes));
  const onChange = (from: HealthStatus, to: HealthStatus, report: HealthReport): void => {
    const problems = Object.fromEntries(Object.entries(report.components).filter(([, component]) => component.status !== 'HEALTHY'));
    notifier.notify(HEALTH_LOG_LEVEL[to], `health ${from} -> ${to}`, { type: 'health', from, to, problems });
  };
  const monitor = new HealthMonitor({ registry: health, eventLoop, onChange }, { intervalMs: config.health.intervalMs });
  bridgeStats(stats, { store, hub, metrics, sources, eventLoop, notifier, cache, checkpointer });
  metrics.setProbes({
    clients: () => hub.clients(),
    symbols: () => [...store.symbols()].length,
    journal: () => store.journalTotals(),
    data: () => ({ symbols: store.symbolCount, limits: store.guard.limits, journalMaxBytes: store.journalBytes.total, refused: store.guard.refused }),
    breakers: () => sources.statuses().map(({ status }) => ({ source: status.path, states: status.breakers })),
    health: () => health.report().status,
    warmup: () => sources.warmup(),
    cache: () => {
      const { entries, bytes } = cache.stats();
      return { entries, bytes };
    },
  });
  return { eventLoop, monitor };
}

/** What each part does when the running config changes, and the watchers of the files that change it. */
function wireLiveConfig(
  config: Config,
  loader: ConfigLoader | undefined,
  logger: Logger,
  auth: AuthGate,
  { store, cache, hub, live, notifier }: State,
  { sse, ws, dashboard, connections }: Transports,
  sources: SourceSet,
  monitor: HealthMonitor,
): ConfigWatchers {
  const reloadTokens = async (): Promise<void> => {
    try {
      auth.apply(await loadTokens(live.current.auth), live.current.auth);
      logger.info({ event: 'tokens_reloaded' }, 'tokens file reloaded');
    } catch (error) {
      logger.error({ event: 'tokens_refused', err: error }, 'tokens file change refused; the tokens in force stay');
    }
  };
  const tokenWatcher = new FileWatcher(tokenFiles(config), () => void reloadTokens(), logger);
  live.register({
    name: 'auth',
    apply: async (next, previous) => {
      if (isDeepStrictEqual(next.auth, previous.auth)) return;
      auth.apply(await loadTokens(next.auth), next.auth);
      tokenWatcher.watchOnly(tokenFiles(next));
    },
  });
  live.register({
    name: 'log',
    apply: (next, previous) => {
      // Children follow: they take their level from this logger unless given their own.
      if (next.log.level !== previous.log.level) logger.level = next.log.level;
    },
  });
  live.register({
    name: 'journal',
    apply: (next, previous) => {
      if (next.journal.size !== previous.journal.size) store.setJournalSize(next.journal.size);
      if (!isDeepStrictEqual(journalBytesOf(next), journalBytesOf(previous))) store.setJournalBytes(journalBytesOf(next));
    },
  });
  live.register({
    name: 'streams',
    apply: (next) => {
      hub.applyOptions(next.stream);
      sse.applyOptions(next.stream);
      ws.applyOptions(next.stream);
    },
  });
  live.register({ name: 'connections', apply: (next) => connections.applyLimits(next.http) });
  live.register({ name: 'data', apply: (next) => void (store.guard.limits = dataLimitsOf(next)) });
  live.register({ name: 'dashboard', apply: (next) => dashboard.applyOptions(next.dashboard) });
  live.register({ name: 'notify', apply: (next) => notifier.applyConfig(next.notify) });
  live.register({ name: 'health', apply: (next) => monitor.setInterval(next.health.intervalMs) });
  live.register({ name: 'sources', apply: (next, previous) => sources.apply(next, previous) });
  live.register({
    name: 'derive',
    apply: (next, previous) => {
      if (!isDeepStrictEqual(next.cache, previous.cache)) cache.applyOptions(next.cache);
      const { indicators, sessionZone } = next.document;
      if (isDeepStrictEqual(indicators, previous.document.indicators) && sessionZone === previous.document.sessionZone) return;
      store.setIndicatorPlan(indicatorPlanOf(next));
      cache.clear();
    },
  });
  const configWatcher = loader ? new FileWatcher(loader.files, () => void live.reload(), logger) : null;
  return { tokenWatcher, configWatcher };
}

/**
 * Starts the sources: resolves once every file present has been read once and the config
 * files are watched. Checkpoints are taken from then on.
 */
function readInitialFiles(
  config: Config,
  logger: Logger,
  { store, restored }: State,
  sources: SourceSet,
  { tokenWatcher, configWatcher }: ConfigWatchers,
  checkpointer: Checkpointer,
  cluster: ClusterNode | null,
): Promise<void> {
  const ready = Promise.all([sources.start(config), tokenWatcher.ready(), configWatcher?.ready(), cluster?.synced])
    .finally(() => {
      store.release();
      restored?.tails.clear();
      restored?.ingests.clear();
      checkpointer.start();
    })
    .then(() => {
      logger.info({ symbols: [...store.symbols()].length }, 'initial read done');
    });
  ready.catch((error: unknown) => logger.error({ event: 'source_start_failed', err: error }, 'a source failed to start'));
  return ready;
}

/**
 * The shutdown, in order: stop accepting first (no new connection, upgrade or config change
 * from here on), then the inputs (config changes, watchers, sources) so that nothing commits
 * any more, then the state is saved, then the streams end and the server closes.
 */
function shutdownSteps(
  { store, cache, hub, live, notifier, role }: State,
  { app, sse, ws, dashboard, stopReauthorizing }: Transports,
  sources: SourceSet,
  { eventLoop, monitor }: Monitoring,
  { tokenWatcher, configWatcher }: ConfigWatchers,
  checkpointer: Checkpointer,
  cluster: ClusterNode | null,
  embedderSteps: readonly CloseStep[],
  logger: Logger,
): CloseStep[] {
  return [
    {
      name: 'stop accepting',
      close: () => {
        app.server.close();
        ws.stopAccepting();
      },
    },
    ...embedderSteps,
    { name: 'live config', close: () => live.close() },
    { name: 'config file watchers', close: () => Promise.all([configWatcher?.close(), tokenWatcher.close()]) },
    { name: 'stream reauthorization', close: stopReauthorizing },
    { name: 'health monitor', close: () => monitor.close() },
    { name: 'event loop monitor', close: () => eventLoop.close() },
    // Before the sources close (they hold where each file was read); reads still running are waited for, file by file.
    { name: 'checkpoint', close: () => checkpointer.close() },
    { name: 'sources', close: () => sources.close() },
    // Once nothing commits: what the last reads changed is published before the leases are given up.
    { name: 'cluster', close: () => cluster?.close() },
    { name: 'saved state', close: () => saveOnClose(store, role === 'edge' ? null : live.current.journal.persistDir, logger) },
    { name: 'hub', close: () => hub.close() },
    { name: 'sse', close: () => sse.close() },
    { name: 'dashboard', close: () => dashboard.close() },
    { name: 'websocket', close: () => ws.close() },
    { name: 'notifier', close: () => notifier.close() },
    { name: 'http server', close: () => app.close() },
    { name: 'cache', close: () => cache.close() },
  ];
}

/** Saves the state for the next start (journal.persistDir), once nothing commits any more. */
async function saveOnClose(store: Store, persistDir: string | null, logger: Logger): Promise<void> {
  if (persistDir === null) return;
  const dir = resolve(persistDir);
  try {
    const { symbols } = await saveState(store, dir);
    logger.info({ event: 'state_saved', dir, symbols, epoch: store.epoch }, 'state saved for the next start');
  } catch (error) {
    logger.error({ event: 'state_save_failed', err: error, dir }, 'state could not be saved; the next start begins a new epoch');
  }
}

const HEALTH_LOG_LEVEL: Record<HealthStatus, NotifyLevel> = { HEALTHY: 'info', DEGRADED: 'warn', UNHEALTHY: 'error' };

/** How far back a file's history is read at start: enough to fill the longest bar window. */
function historyMsOf(config: Config): number {
  return Math.max(0, ...Object.entries(config.document.bars).map(([tf, size]) => (size ?? 0) * TIMEFRAME_MS[tf as Timeframe]));
}

/** How every file's records become contributions: the bar windows and where D1 bars begin. */
function ingestOptionsOf(config: Config): Pick<SourceIngestOptions, 'windows' | 'sessionZone'> {
  return { windows: config.document.bars, sessionZone: TimeZone.parse(config.document.sessionZone) };
}

/** Checkpoints into journal.persistDir, as the running config says (none while it is null). */
function checkpointerOf({ store, live }: State, sources: SourceSet, logger: Logger): Checkpointer {
  return new Checkpointer({ sources, store, logger, shape: () => documentShape(live.current) }, () => {
    const { persistDir, checkpointMs, checkpointMaxBytes } = live.current.journal;
    return persistDir === null ? null : { dir: resolve(persistDir), intervalMs: checkpointMs, maxBytes: checkpointMaxBytes };
  });
}

function indicatorPlanOf(config: Config): IndicatorPlan {
  return new IndicatorPlan(config.document.indicators, TimeZone.parse(config.document.sessionZone));
}

function tokenFiles(config: Config): string[] {
  return config.auth.tokensFile === null ? [] : [resolve(config.auth.tokensFile)];
}

/** The journal's byte caps (journal.maxBytesPerSymbol, journal.maxBytes). */
function journalBytesOf(config: Config): { perSymbol: number; total: number } {
  return { perSymbol: config.journal.maxBytesPerSymbol, total: config.journal.maxBytes };
}

/** What files' content may do to the state (document.maxSymbols*, watch.maxFutureMs, watch.maxPastMs). */
function dataLimitsOf(config: Config): DataLimits {
  return {
    maxSymbolsPerFile: config.document.maxSymbolsPerFile,
    maxSymbols: config.document.maxSymbols,
    maxFutureMs: config.watch.maxFutureMs,
    maxPastMs: config.watch.maxPastMs,
  };
}
