import { DEFAULT_FORMAT_OPTIONS, type FormatOptions } from '../formats/types.js';
import { TimeZone } from '../model/zone.js';
import type { SourceConfig } from './config.js';

/** The reading options of a configured source (validated by resolveConfig). */
export function formatOptionsOf(source: SourceConfig, bookLevels: number): FormatOptions {
  return {
    ...DEFAULT_FORMAT_OPTIONS,
    encoding: source.encoding,
    delimiter: source.delimiter === 'tab' ? '\t' : source.delimiter,
    header: source.header,
    timeZone: TimeZone.parse(source.timeZone),
    timeFormat: source.timeFormat,
    columns: source.columns,
    timeframe: source.timeframe,
    json: source.json,
    bookLevels,
    priceMultiplier: source.priceMultiplier,
    priceMultipliers: source.symbols.priceMultipliers ?? {},
  };
}

/**
 * The symbol published for the one a file names: its alias when it has one, otherwise the
 * rename rules applied in order (`{"pattern": "c$", "replace": ""}` makes `XAUUSDc` `XAUUSD`).
 * Undefined when the source maps nothing.
 */
export function symbolMapperOf(symbols: SourceConfig['symbols']): ((symbol: string) => string) | undefined {
  const aliases = new Map(Object.entries(symbols.aliases ?? {}));
  const rules = (symbols.rename ?? []).map((rule) => ({ pattern: new RegExp(rule.pattern), replace: rule.replace }));
  if (aliases.size === 0 && rules.length === 0) return undefined;
  return (symbol) => {
    const alias = aliases.get(symbol);
    if (alias !== undefined) return alias;
    let mapped = symbol;
    for (const rule of rules) mapped = mapped.replace(rule.pattern, rule.replace);
    return mapped === '' ? symbol : mapped;
  };
}
