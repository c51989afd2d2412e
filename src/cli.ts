#!/usr/bin/env node
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBridge, type Bridge } from './app/bridge.js';
import { showWarmupProgress } from './app/warmup-progress.js';
import { scanFolders } from './app/scan.js';
import { scanTable } from './app/scan-table.js';
import { ConfigError, resolveConfig, type Config, type ConfigLayer } from './app/config.js';
import { ConfigLoader } from './app/config-loader.js';
import { createLogger, type LogFormat, type Logger } from './core/logger.js';
import { UnexpectedErrors } from './app/unexpected.js';
import { ExposureError } from './transports/host-check.js';
import { startSimulator, type Simulator } from './sim/simulator.js';
import { VERSION } from './model/version.js';

const USAGE = `tapebridge ${VERSION}: export files of trading terminals as live JSON Patch streams

Usage:
  tapebridge --watch DIR [--watch DIR ...] [--port N] [--host H] [--config FILE]
  tapebridge --redis URL [--port N]   (an edge node: serves what ingest nodes publish)
  tapebridge                 (no folder: runs the built-in demo, a simulator writing
                              Sierra Chart, MetaTrader 5 and JSON files into a temp folder)
  tapebridge scan DIR [DIR ...] [--config FILE] [--json]
                             reads the folders once and prints what the bridge would make
                             of each file (format, encoding, symbol, timeframe, records,
                             first and last time, warnings); exits 1 when a file cannot be
                             read at all. DIRs configured in --config are read with their
                             source's options; with no DIR, every configured source

Options:
  -w, --watch DIR       watch this folder (repeatable; adds to the configured sources)
  -p, --port N          port to listen on (default 8080; 0 picks a free one)
      --host H          interface to listen on (default 127.0.0.1)
  -c, --config FILE     JSON config file, over config/default.json and config/$NODE_ENV.json
      --config-dir DIR  where default.json and $NODE_ENV.json are (default ./config,
                        or $TAPEBRIDGE_CONFIG_DIR)
      --state-dir DIR   keep the state across restarts in DIR (journal.persistDir): the
                        saved versions and the checkpoint of where each file was read
      --redis URL       join a cluster through Redis (redis:// or rediss://, credentials in
                        the URL): with --watch an ingest node that publishes every change,
                        without it an edge node that serves what the ingest nodes publish
      --node-id ID      this node's name in the cluster and in hello (default: generated)
      --demo            run the simulator even when folders are given
      --log-level L     fatal, error, warn, info, debug, trace or silent
      --log-format F    json, pretty (lines for a person) or auto (pretty on a terminal)
      --insecure-no-auth  allow a non-loopback --host without tokens (auth.insecureNoAuth)
  -h, --help            this text

Every config key can also be set as TAPEBRIDGE_<KEY>__<KEY> (docs/configuration.md).

Routes: / (dashboard), /v1/ws (WebSocket), /v1/sse, /v1/symbols, /v1/symbols/:symbol,
        /v1/symbols/:symbol/patches, /v1/dashboard/sse, /v1/sources, /v1/stats, /v1/config, /health, /metrics
`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'scan') return scan(argv.slice(1));
  let args;
  try {
    args = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        watch: { type: 'string', short: 'w', multiple: true },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        config: { type: 'string', short: 'c' },
        'config-dir': { type: 'string' },
        'state-dir': { type: 'string' },
        redis: { type: 'string' },
        'node-id': { type: 'string' },
        demo: { type: 'boolean' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        'insecure-no-auth': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`tapebridge: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const cli: ConfigLayer = {};
  if (args.host !== undefined) cli.host = args.host;
  if (args.port !== undefined) cli.port = /^\d+$/.test(args.port) ? Number(args.port) : args.port;
  if (args['log-level'] !== undefined || args['log-format'] !== undefined) {
    cli.log = {
      ...(args['log-level'] === undefined ? {} : { level: args['log-level'] }),
      ...(args['log-format'] === undefined ? {} : { format: args['log-format'] }),
    };
  }
  if (args['insecure-no-auth']) cli.auth = { insecureNoAuth: true };
  if (args['state-dir'] !== undefined) cli.journal = { persistDir: args['state-dir'] };
  if (args.redis !== undefined || args['node-id'] !== undefined) {
    cli.cluster = {
      ...(args.redis === undefined ? {} : { redis: args.redis }),
      ...(args['node-id'] === undefined ? {} : { nodeId: args['node-id'] }),
    };
  }
  const loaderFor = (extraSources: string[]): ConfigLoader =>
    new ConfigLoader({
      configDir: args['config-dir'] ?? process.env.TAPEBRIDGE_CONFIG_DIR ?? 'config',
      nodeEnv: process.env.NODE_ENV,
      file: args.config,
      env: process.env,
      cli,
      extraSources,
    });

  let loader = loaderFor(args.watch ?? []);
  let layers: ConfigLayer[];
  let config: Config;
  try {
    layers = await loader.load();
    config = resolveConfig(...layers);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`tapebridge: ${error.message}\n`);
    return 1;
  }

  const logger = createLogger(config.log.level, undefined, logFormatOf(config.log.format));
  // From here on an error nothing handled is logged, counted and shown in /health; the
  // process keeps serving (app/unexpected.ts says why).
  const unexpected = new UnexpectedErrors();
  unexpected.install();
  let simulator: Simulator | null = null;
  let demoDir: string | null = null;
  // With --redis and no folder this is an edge node, which reads no files: no demo.
  if (args.demo || (config.sources.length === 0 && config.cluster.redis === null)) {
    demoDir = await mkdtemp(join(tmpdir(), 'tapebridge-demo-'));
    simulator = await startSimulator({ dir: demoDir });
    loader = loaderFor([...(args.watch ?? []), demoDir]);
    layers = await loader.load();
    config = resolveConfig(...layers);
  }

  let bridge: Bridge;
  try {
    bridge = await startBridge(config, { logger, configLoader: loader, configLayers: layers, unexpected });
  } catch (error) {
    await simulator?.close();
    if (demoDir) await rm(demoDir, { recursive: true, force: true });
    if (error instanceof ConfigError || error instanceof ExposureError) {
      process.stderr.write(`tapebridge: ${error.message}\n`);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'EADDRINUSE' ? `port ${config.port} is in use; pass --port N (0 picks a free one)` : (error as Error).message;
    process.stderr.write(`tapebridge: cannot listen on ${config.host}:${config.port}: ${reason}\n`);
    return 1;
  }
  if (demoDir) {
    process.stderr.write(
      `tapebridge demo: a simulator writes ${simulator?.symbols.join(', ')} into ${demoDir}\n` +
        `  dashboard: ${bridge.url}/\n` +
        `  symbols:   ${bridge.url}/v1/symbols\n  snapshot:  ${bridge.url}/v1/symbols/ESZ25_FUT_CME\n` +
        `  live SSE:  curl -N '${bridge.url}/v1/sse?symbols=*'\n  WebSocket: ${bridge.url.replace('http', 'ws')}/v1/ws\n`,
    );
  }

  const progress = showWarmupProgress(() => bridge.warmup(), { tty: process.stderr.isTTY ? process.stderr : null, logger });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const exit = (code: number): void => void flushed(logger).then(() => resolve(code));
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting at once');
        exit(1);
        return;
      }
      stopping = true;
      progress.close();
      const boundMs = bridge.config.current.shutdownTimeoutMs;
      logger.info({ signal, boundMs }, 'shutting down');
      setTimeout(() => {
        logger.error({ event: 'shutdown_timeout', boundMs }, 'shutdown did not finish in time; exiting anyway');
        exit(1);
      }, boundMs).unref();
      void (async () => {
        await simulator?.close();
        await bridge.close();
        if (demoDir) await rm(demoDir, { recursive: true, force: true });
        exit(0);
      })();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** `tapebridge scan DIR...`: one read of the folders, a report on stdout, and the exit code. */
async function scan(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'config-dir': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    process.stderr.write(`tapebridge scan: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values: args, positionals: folders } = parsed;
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: Config;
  try {
    const loader = new ConfigLoader({
      configDir: args['config-dir'] ?? process.env.TAPEBRIDGE_CONFIG_DIR ?? 'config',
      nodeEnv: process.env.NODE_ENV,
      file: args.config,
      env: process.env,
    });
    config = resolveConfig(...(await loader.load()));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`tapebridge scan: ${error.message}\n`);
    return 1;
  }
  if (folders.length === 0 && config.sources.length === 0) {
    process.stderr.write(`tapebridge scan: name a folder (tapebridge scan DIR), or a config with sources\n\n${USAGE}`);
    return 2;
  }
  // A reader that stops early (`| head`) closes the pipe: nothing is left to say to anyone.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  // A pipe may take the report in several writes: each waits for the last to be out.
  const write = (text: string): Promise<void> => new Promise((resolve) => process.stdout.write(text, () => resolve()));
  let unreadable = false;
  let report;
  if (args.json) {
    // Printed file by file, so that a folder of any size is never held whole.
    let separator = '';
    await write('{\n  "files": [');
    report = await scanFolders(config, folders, {
      onFile: async (file) => {
        unreadable ||= file.error !== null;
        await write(`${separator}\n${indent(JSON.stringify(file, null, 2), '    ')}`);
        separator = ',';
      },
    });
    await write(`${separator === '' ? '' : '\n  '}],\n  "folders": ${indent(JSON.stringify(report.folders, null, 2), '  ').trimStart()}\n}\n`);
  } else {
    report = await scanFolders(config, folders);
    unreadable = report.files.some((file) => file.error !== null);
    await write(scanTable(report));
  }
  for (const { folder, error } of report.folders) if (error !== null && args.json) process.stderr.write(`tapebridge scan: ${folder}: ${error}\n`);
  return unreadable || report.folders.some((folder) => folder.error !== null) ? 1 : 0;
}

function indent(text: string, by: string): string {
  return text.replace(/^/gm, by);
}

/** Resolves once the log lines written so far are out (pino writes asynchronously). */
function flushed(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tapebridge: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);

/** `auto`: lines for a person when stdout is a terminal, JSON for whatever reads a pipe or a file. */
function logFormatOf(format: 'auto' | LogFormat): LogFormat {
  if (format !== 'auto') return format;
  return process.stdout.isTTY ? 'pretty' : 'json';
}
