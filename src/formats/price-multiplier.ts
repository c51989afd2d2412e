import type { FormatOptions } from './types.js';

/**
 * Prices stored in native units (FORMATS.md §1: some feeds write 642350 for 6423.50 into
 * `.scid` and `.depth` files), scaled as Sierra Chart's symbol setting "Price Multiplier"
 * does. Only prices are scaled, never volumes or counts.
 */

/** The multiplier of a file's symbol: its own (exact name, then the first pattern that matches), else the source's. */
export function multiplierFor(options: Pick<FormatOptions, 'priceMultiplier' | 'priceMultipliers'>, symbol: string): number {
  const bySymbol = options.priceMultipliers;
  const exact = bySymbol[symbol];
  if (exact !== undefined) return exact;
  for (const [pattern, multiplier] of Object.entries(bySymbol)) {
    if ((pattern.includes('*') || pattern.includes('?')) && globPattern(pattern).test(symbol)) return multiplier;
  }
  return options.priceMultiplier;
}

/** `*` any run of characters, `?` one: the same patterns as a token's symbols. */
function globPattern(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    's',
  );
}

/**
 * A price times `multiplier`, rounded to 12 significant digits so that the product carries
 * no binary noise (642350 × 0.01 is 6423.5, not 6423.500000000001).
 */
export function scalePrice(price: number, multiplier: number): number {
  if (multiplier === 1 || price === 0 || !Number.isFinite(price)) return price;
  return Number((price * multiplier).toPrecision(12));
}
