import { isDeepStrictEqual } from 'node:util';
import { ConfigError, isObject, mergeDeep, resolveConfig, valueAt, type Config, type ConfigLayer } from './config.js';
import type { Logger } from '../core/logger.js';
import type { Tally } from '../core/tally.js';

/** Keys read only at start: a change through PATCH is refused, one in a file waits for a restart. */
export const RESTART_KEYS: readonly string[] = [
  'host',
  'port',
  'stream.maxFrameBytes',
  'http.maxWaitMs',
  'stream.compression.websocket',
  'stream.compression.http',
  'stream.compression.thresholdBytes',
  'log.format',
  'cluster.redis',
  'cluster.nodeId',
  'cluster.prefix',
  'cluster.leaseMs',
  'cluster.documentEvery',
  'cluster.maxMessageBytes',
];

/** What GET /v1/config shows for a secret; given back in a PATCH, it keeps the secret in force. */
export const REDACTED = '[redacted]';

/** A part of the bridge whose settings can change while it runs. */
export interface LiveComponent {
  readonly name: string;
  /**
   * Moves the component to `next`. It either succeeds or throws having changed nothing
   * (ConfigError for a problem with the config itself). After a later component fails it
   * is called again with the roles swapped, to go back.
   */
  apply(next: Config, previous: Config): void | Promise<void>;
}

export interface ConfigChange {
  /** Keys that changed (dotted paths; a list such as `sources` counts as one key). */
  changed: string[];
  config: Config;
}

interface Version {
  config: Config;
  /** The layers read from files, environment and command line. */
  base: ConfigLayer[];
  /** What PATCH requests added on top, merged. */
  runtime: ConfigLayer;
}

export interface LiveConfigOptions {
  /** The layers `initial` was resolved from; `[initial]` when there are none. */
  base?: ConfigLayer[];
  /** Reads the layers again (the config files changed). */
  load?: () => Promise<ConfigLayer[]>;
  logger: Logger;
  counters: { applied: Tally; refused: Tally };
}

/**
 * The running configuration and how it changes: PATCH /v1/config, POST
 * /v1/config/rollback and edits of the config files. Each change is validated whole,
 * then applied to every component in turn; if one fails, those already moved go back, so
 * a change is applied entirely or not at all. Changes run one at a time, in order. The
 * version before the last change is kept for rollback.
 */
export class LiveConfig {
  readonly #components: LiveComponent[] = [];
  readonly #load: (() => Promise<ConfigLayer[]>) | null;
  readonly #logger: Logger;
  readonly #counters: LiveConfigOptions['counters'];
  #current: Version;
  #previous: Version | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(initial: Config, options: LiveConfigOptions) {
    this.#current = { config: initial, base: options.base ?? [initial], runtime: {} };
    this.#load = options.load ?? null;
    this.#logger = options.logger.child({ component: 'config' });
    this.#counters = options.counters;
  }

  get current(): Config {
    return this.#current.config;
  }

  get canRollback(): boolean {
    return this.#previous !== null;
  }

  /** What PATCH requests changed on top of the files, merged (secrets redacted). */
  get runtime(): ConfigLayer {
    return redact(this.#current.runtime) as ConfigLayer;
  }

  /** Components are applied in the order registered. */
  register(component: LiveComponent): void {
    this.#components.push(component);
  }

  /** Merges `body` (a partial config: objects deeply, arrays and values replaced) into the running config. */
  patch(body: unknown): Promise<ConfigChange> {
    return this.#counted(async () => {
      if (!isObject(body)) throw new ConfigError(['the body must be a JSON object: the keys to change, nested as in the config']);
      const current = this.#current;
      const runtime = mergeDeep(current.runtime, unredact(body, current.config)) as ConfigLayer;
      const next = resolveConfig(...current.base, runtime);
      const restart = changedKeys(current.config, next).filter((key) => RESTART_KEYS.includes(key));
      if (restart.length > 0) {
        throw new ConfigError(restart.map((key) => `${key}: read only at start; change it in the config file and restart the bridge`));
      }
      return this.#apply({ config: next, base: current.base, runtime }, 'PATCH /v1/config');
    });
  }

  /** Goes back to the version before the last change (a second rollback goes forward again). */
  rollback(): Promise<ConfigChange> {
    return this.#counted(async () => {
      if (!this.#previous) throw new ConfigError(['there is no previous configuration to roll back to']);
      return this.#apply(this.#previous, 'rollback');
    });
  }

  /**
   * Reads the config files again and applies what changed. A file that does not parse or
   * validate is refused with an error log line and the running config stays; keys read
   * only at start keep their running value, with a warning.
   */
  reload(): Promise<ConfigChange | null> {
    return this.#counted(async () => {
      if (!this.#load) return null;
      const current = this.#current;
      const base = await this.#load();
      const wanted = resolveConfig(...base, current.runtime);
      const restart = changedKeys(current.config, wanted).filter((key) => RESTART_KEYS.includes(key));
      if (restart.length > 0)
        this.#logger.warn({ event: 'config_restart_needed', keys: restart }, 'config file changes keys read only at start: they apply at the next start');
      const pinned: ConfigLayer = {};
      for (const key of restart) setAt(pinned, key, valueAt(current.config, key));
      return this.#apply({ config: resolveConfig(...base, current.runtime, pinned), base, runtime: current.runtime }, 'config file');
    }).catch((error: unknown) => {
      if (error instanceof ConfigError)
        this.#logger.error({ event: 'config_refused', code: error.code, problems: error.problems }, 'config file change refused; the running config stays');
      else this.#logger.error({ event: 'config_apply_failed', err: error }, 'config file change could not be applied; the running config stays');
      return null;
    });
  }

  #closing: Promise<void> | null = null;

  /** Waits for a change under way; later ones are refused. Memoised: every call gets the same promise. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#queue.then(
      () => undefined,
      () => undefined,
    );
    return this.#closing;
  }

  /** Runs `change` after the changes before it; a refusal is counted. */
  #counted<T>(change: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#closed) throw new ConfigError(['the bridge is shutting down']);
      return change();
    });
    this.#queue = run.catch(() => undefined);
    return run.catch((error: unknown) => {
      this.#counters.refused.add();
      throw error;
    });
  }

  async #apply(next: Version, by: string): Promise<ConfigChange> {
    const previous = this.#current;
    const changed = changedKeys(previous.config, next.config);
    if (changed.length === 0) {
      this.#current = { ...next, config: previous.config };
      return { changed, config: previous.config };
    }
    const done: LiveComponent[] = [];
    try {
      for (const component of this.#components) {
        await component.apply(next.config, previous.config);
        done.push(component);
      }
    } catch (error) {
      for (const component of done.reverse()) {
        try {
          await component.apply(previous.config, next.config);
        } catch (undoError) {
          this.#logger.error(
            { event: 'config_undo_failed', err: undoError, component: component.name },
            'could not restore the previous config of a component',
          );
        }
      }
      if (!(error instanceof ConfigError))
        this.#logger.error({ event: 'config_apply_failed', err: error, by }, 'config change failed; the previous config is running');
      throw error;
    }
    this.#previous = previous;
    this.#current = next;
    this.#counters.applied.add();
    this.#logger.info({ event: 'config_applied', changed, by }, 'config applied');
    return { changed, config: next.config };
  }
}

/**
 * The dotted paths whose values differ between two configs. Objects are compared key by
 * key; arrays and records of arbitrary keys (webhook headers, bar windows) as one value.
 */
export function changedKeys(a: unknown, b: unknown, path = ''): string[] {
  if (isObject(a) && isObject(b) && !WHOLE_VALUES.has(path)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((key) => changedKeys(a[key], b[key], path ? `${path}.${key}` : key));
  }
  return isDeepStrictEqual(a, b) ? [] : [path];
}

const WHOLE_VALUES = new Set(['document.bars', 'notify.webhookHeaders']);

/** A copy with secrets replaced by REDACTED: token secrets and hashes, the webhook URL and headers, the Redis URL (it may hold a password). */
export function redact(config: unknown): unknown {
  const copy = structuredClone(config) as Record<string, unknown>;
  const auth = copy.auth;
  if (isObject(auth) && Array.isArray(auth.tokens)) {
    for (const token of auth.tokens) {
      if (!isObject(token)) continue;
      if (token.token !== undefined) token.token = REDACTED;
      if (token.sha256 !== undefined) token.sha256 = REDACTED;
    }
  }
  const notify = copy.notify;
  if (isObject(notify)) {
    if (typeof notify.webhookUrl === 'string') notify.webhookUrl = REDACTED;
    if (isObject(notify.webhookHeaders)) for (const name of Object.keys(notify.webhookHeaders)) notify.webhookHeaders[name] = REDACTED;
  }
  const cluster = copy.cluster;
  if (isObject(cluster) && typeof cluster.redis === 'string') cluster.redis = REDACTED;
  return copy;
}

/** A PATCH body with REDACTED secrets replaced by the ones in force (tokens matched by name). */
function unredact(body: Record<string, unknown>, current: Config): Record<string, unknown> {
  const copy = structuredClone(body);
  const auth = copy.auth;
  if (isObject(auth) && Array.isArray(auth.tokens)) {
    for (const token of auth.tokens) {
      if (!isObject(token)) continue;
      const known = current.auth.tokens.find((candidate) => candidate.name === token.name);
      for (const secret of ['token', 'sha256'] as const) {
        if (token[secret] !== REDACTED) continue;
        if (known?.[secret] === undefined)
          throw new ConfigError([`auth.tokens: ${REDACTED} given as the ${secret} of ${JSON.stringify(token.name)}, which has none in force`]);
        token[secret] = known[secret];
      }
    }
  }
  const notify = copy.notify;
  if (isObject(notify)) {
    if (notify.webhookUrl === REDACTED) notify.webhookUrl = current.notify.webhookUrl;
    if (isObject(notify.webhookHeaders)) {
      for (const [name, value] of Object.entries(notify.webhookHeaders)) {
        if (value === REDACTED) notify.webhookHeaders[name] = current.notify.webhookHeaders[name];
      }
    }
  }
  const cluster = copy.cluster;
  if (isObject(cluster) && cluster.redis === REDACTED) cluster.redis = current.cluster.redis;
  return copy;
}

function setAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}
