export { startBridge, type Bridge, type BridgeOptions } from './bridge.js';
export { resolveConfig, readConfigFile, ConfigError, DEFAULT_CONFIG, type Config, type SourceConfig } from './ops/config.js';
export { ConfigLoader, type ConfigLoaderOptions } from './ops/config-loader.js';
export type { LiveConfig, ConfigChange } from './ops/live-config.js';
export { ERROR_CODES, type ErrorCode } from './ops/errors.js';
export type { InstrumentDocument, Quote, Bar, Book, BookLevel, Timeframe, PartialDocument } from './state/document.js';
export type { PatchOperation } from './state/delta.js';
export { FORMATS } from './formats/registry.js';
export { startSimulator, type Simulator, type SimulatorOptions } from './sim/simulator.js';
