import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { ConfigError, ConfigSchema, isObject, mergeDeep, readConfigFile, type ConfigLayer } from './config.js';

/** Environment variables that configure the loader itself, not a config key. */
const ENV_PREFIX = 'TAPEBRIDGE_';
const LOADER_VARIABLES = new Set([`${ENV_PREFIX}CONFIG_DIR`]);

export interface ConfigLoaderOptions {
  /** Folder of `default.json` and `<NODE_ENV>.json` (missing files are skipped). */
  configDir: string;
  /** Selects `<nodeEnv>.json`; none when undefined or empty. */
  nodeEnv?: string | undefined;
  /** `--config FILE`: must exist. */
  file?: string | undefined;
  /** Read for `TAPEBRIDGE_*` variables. */
  env?: NodeJS.ProcessEnv;
  /** CLI flags, the last layer. */
  cli?: ConfigLayer;
  /** Folders appended to the sources the other layers give (`--watch`, the demo folder). */
  extraSources?: readonly string[];
}

/**
 * The layers a running bridge's config is built from, lowest first: `config/default.json`,
 * `config/<NODE_ENV>.json`, the `--config` file, `TAPEBRIDGE_*` environment variables, CLI
 * flags. Loaded again when one of the files changes.
 */
export class ConfigLoader {
  readonly #options: ConfigLoaderOptions;

  constructor(options: ConfigLoaderOptions) {
    this.#options = options;
  }

  /** Every file a layer may come from, whether it exists yet or not (to watch). */
  get files(): string[] {
    const { configDir, nodeEnv, file } = this.#options;
    const files = [join(configDir, 'default.json')];
    if (nodeEnv) files.push(join(configDir, `${nodeEnv}.json`));
    if (file) files.push(resolve(file));
    return files;
  }

  /** Reads every layer; throws ConfigError naming the file or variable at fault. */
  async load(): Promise<ConfigLayer[]> {
    const { configDir, nodeEnv, file, env = {}, cli = {}, extraSources = [] } = this.#options;
    const layers: ConfigLayer[] = [];
    for (const optional of [join(configDir, 'default.json'), ...(nodeEnv ? [join(configDir, `${nodeEnv}.json`)] : [])]) {
      if (await exists(optional)) layers.push(await readConfigFile(optional));
    }
    if (file) layers.push(await readConfigFile(file));
    layers.push(envLayer(env));
    const cliLayer: ConfigLayer = { ...cli };
    if (extraSources.length > 0) {
      const below = layers.reduce<unknown>((merged, layer) => mergeDeep(merged, layer), {});
      const sources = isObject(below) && Array.isArray(below.sources) ? (below.sources as unknown[]) : [];
      cliLayer.sources = [...sources, ...extraSources.map((path) => ({ path }))];
    }
    layers.push(cliLayer);
    return layers;
  }
}

/**
 * `TAPEBRIDGE_<KEY>__<KEY>...=value`: `__` separates levels and each part names a key of
 * that level, compared without case and underscores (`TAPEBRIDGE_WATCH__DEBOUNCE_MS` is
 * `watch.debounceMs`, `TAPEBRIDGE_DOCUMENT__BARS__M5` is `document.bars.M5`). A value is
 * JSON when it parses as JSON (numbers, booleans, null, arrays, objects, quoted strings),
 * the text itself otherwise.
 */
export function envLayer(env: NodeJS.ProcessEnv): ConfigLayer {
  let layer: ConfigLayer = {};
  const problems: string[] = [];
  for (const [name, text] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!name.startsWith(ENV_PREFIX) || LOADER_VARIABLES.has(name) || text === undefined) continue;
    const path = keyPath(name.slice(ENV_PREFIX.length).split('__'));
    if (typeof path === 'string') {
      problems.push(`${name}: ${path}`);
      continue;
    }
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // Not JSON: the text itself (TAPEBRIDGE_HOST=0.0.0.0).
    }
    layer = mergeDeep(
      layer,
      path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value),
    ) as ConfigLayer;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return layer;
}

/** The config key path the parts of a variable name denote, or why there is none. */
function keyPath(parts: string[]): string[] | string {
  const path: string[] = [];
  let schema: TSchema | undefined = ConfigSchema;
  for (const part of parts) {
    const properties = schema?.properties as Record<string, TSchema> | undefined;
    const wanted = normalise(part);
    const key = properties ? Object.keys(properties).find((candidate) => normalise(candidate) === wanted) : undefined;
    if (key === undefined || wanted === '') {
      const where = path.length > 0 ? ` in ${path.join('.')}` : '';
      const known = properties ? `; known: ${Object.keys(properties).join(', ')}` : ' (that key holds no keys)';
      return `no key ${JSON.stringify(part)}${where}${known}`;
    }
    path.push(key);
    schema = properties?.[key];
  }
  return path;
}

function normalise(name: string): string {
  return name.replace(/_/g, '').toLowerCase();
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
