/** Figures for people: sizes in kB/MB, durations in ms/s, times as "3 s ago", prices to the symbol's decimals. */

export function age(ms) {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1000) return 'now';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}

export function bytes(value) {
  if (!Number.isFinite(value)) return '–';
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} kB`;
  if (value < 1024 ** 3) return `${(value / 1024 ** 2).toFixed(1)} MB`;
  return `${(value / 1024 ** 3).toFixed(2)} GB`;
}

export function millis(value) {
  if (!Number.isFinite(value)) return '–';
  if (value < 10) return `${value.toFixed(1)} ms`;
  if (value < 10_000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(1)} s`;
}

export function count(value) {
  return Number.isFinite(value) ? value.toLocaleString('en-US') : '–';
}

/** Digits after the point of a number as JSON prints it (as the bridge's rounding counts them). */
export function decimalsOf(value) {
  if (!Number.isFinite(value)) return 0;
  const text = String(value);
  if (text.includes('e')) return 8;
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : Math.min(8, text.length - dot - 1);
}

/**
 * The decimals a symbol's prices are written with. The document holds no tick size (files
 * do not state one; Sierra's price multiplier is config), so it is inferred: the most
 * decimals any of the given prices carries.
 */
export function priceDecimals(prices) {
  let decimals = 0;
  for (const value of prices) if (typeof value === 'number') decimals = Math.max(decimals, decimalsOf(value));
  return decimals;
}

export function price(value, decimals) {
  if (typeof value !== 'number') return '–';
  return decimals === undefined ? String(value) : value.toFixed(decimals);
}
