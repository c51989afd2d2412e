export { startBridge, type Bridge, type BridgeOptions } from './app/bridge.js';
export { resolveConfig, readConfigFile, ConfigError, DEFAULT_CONFIG, type Config, type SourceConfig } from './app/config.js';
export { ConfigLoader, type ConfigLoaderOptions } from './app/config-loader.js';
export type { LiveConfig, ConfigChange } from './app/live-config.js';
export { ERROR_CODES, type ErrorCode } from './model/errors.js';
export type { InstrumentDocument, Quote, Bar, Book, BookLevel, Timeframe, PartialDocument } from './model/document.js';
export type { PatchOperation } from './model/patch.js';
export { FORMATS } from './formats/registry.js';
export { startSimulator, type Simulator, type SimulatorOptions } from './sim/simulator.js';
