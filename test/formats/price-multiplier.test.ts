import { describe, expect, it } from 'vitest';
import { multiplierFor, scalePrice } from '../../src/formats/price-multiplier.js';
import { ConfigError, resolveConfig } from '../../src/app/config.js';
import { formatOptionsOf } from '../../src/app/source-options.js';

describe('priceMultiplier', () => {
  it('is validated as a positive finite number, per source and per symbol', () => {
    for (const bad of [0, -1, 1e10, '0.01', null]) {
      expect(() => resolveConfig({ sources: [{ path: '.', priceMultiplier: bad }] }), String(bad)).toThrow(ConfigError);
      expect(() => resolveConfig({ sources: [{ path: '.', symbols: { priceMultipliers: { ES: bad } } }] }), String(bad)).toThrow(ConfigError);
    }
    expect(() => resolveConfig({ sources: [{ path: '.', priceMultiplier: 0 }] })).toThrow(/sources\.0\.priceMultiplier: 0 is not allowed/);
    const tooMany = Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`S${i}`, 1]));
    expect(() => resolveConfig({ sources: [{ path: '.', symbols: { priceMultipliers: tooMany } }] })).toThrow(ConfigError);
    const config = resolveConfig({ sources: [{ path: '.', priceMultiplier: 0.01, symbols: { priceMultipliers: { 'CL*': 0.001, ESH26: 1 } } }] });
    const options = formatOptionsOf(config.sources[0]!, 10);
    expect(options.priceMultiplier).toBe(0.01);
    expect(multiplierFor(options, 'ESH26')).toBe(1);
    expect(multiplierFor(options, 'CLJ26-NYM')).toBe(0.001);
    expect(multiplierFor(options, 'NQH26')).toBe(0.01);
    expect(formatOptionsOf(resolveConfig({ sources: [{ path: '.' }] }).sources[0]!, 10)).toMatchObject({ priceMultiplier: 1, priceMultipliers: {} });
  });

  it('an exact symbol wins over a pattern, a pattern over the source', () => {
    const options = { priceMultiplier: 2, priceMultipliers: { 'ES?26': 0.1, ESH26: 0.01 } };
    expect(multiplierFor(options, 'ESH26')).toBe(0.01);
    expect(multiplierFor(options, 'ESM26')).toBe(0.1);
    expect(multiplierFor(options, 'ESM27')).toBe(2);
  });

  it('scales without binary noise', () => {
    expect(scalePrice(642350, 0.01)).toBe(6423.5);
    expect(scalePrice(1084215, 0.00001)).toBe(10.84215);
    expect(scalePrice(6423.5, 1)).toBe(6423.5);
    expect(scalePrice(0, 0.01)).toBe(0);
  });
});
