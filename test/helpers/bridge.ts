import { pino } from 'pino';
import { afterEach } from 'vitest';
import { startBridge, type Bridge, type BridgeOptions } from '../../src/app/bridge.js';
import { resolveConfig, type Config, type ConfigLayer } from '../../src/app/config.js';
import type { Logger } from '../../src/core/logger.js';

const running: Bridge[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((bridge) => bridge.close()));
});

/** Log lines a test can inspect. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly logger: Logger;

  constructor(level: 'debug' | 'info' | 'warn' = 'info') {
    this.logger = pino({ level }, { write: (line: string) => void this.lines.push(JSON.parse(line) as Record<string, unknown>) });
  }

  find(predicate: (line: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
    return this.lines.find(predicate);
  }
}

/** A bridge on 127.0.0.1 and a free port, watching `dirs`, closed after the test. */
export async function startTestBridge(dirs: string[], overrides: ConfigLayer = {}, logs: LogCapture = new LogCapture('warn')): Promise<Bridge> {
  const config = resolveConfig({ port: 0, sources: dirs.map((path) => ({ path })) }, overrides);
  return startConfiguredBridge(config, { logger: logs.logger });
}

/** A bridge started from a config as given, closed after the test. */
export async function startConfiguredBridge(config: Config, options: BridgeOptions): Promise<Bridge> {
  const bridge = await startBridge(config, options);
  running.push(bridge);
  await bridge.ready;
  return bridge;
}
