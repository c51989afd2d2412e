import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDate, parseTimeOfDay } from '../../src/formats/datetime.js';

describe('datetime: parseDate', () => {
  it('reads MetaTrader and Sierra Chart date forms as midnight UTC', () => {
    expect(parseDate('2025.01.02')).toBe(Date.UTC(2025, 0, 2));
    expect(parseDate('2011/1/2')).toBe(Date.UTC(2011, 0, 2));
    expect(parseDate('2026-5-7')).toBe(Date.UTC(2026, 4, 7));
    expect(parseDate(' 2024.02.29 ')).toBe(Date.UTC(2024, 1, 29));
    expect(parseDate('2023.12.31')).toBe(Date.UTC(2023, 11, 31));
  });

  it('rejects dates that do not exist and text that is not a date', () => {
    for (const text of [
      '2025.02.30',
      '2025.02.29',
      '2025.04.31',
      '2025.13.01',
      '2025.00.10',
      '2025.01.00',
      '2025.01.32',
      '25.01.02',
      '1850.01.02',
      '2025.01',
      '2025',
      '',
      '2025.01.02x',
      '2025.0a.02',
      '2025..02',
      'Date',
      '00:00:00.351',
    ]) {
      expect(parseDate(text), JSON.stringify(text)).toBeNaN();
    }
  });

  it('agrees with Date.UTC for every valid day (property)', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date(Date.UTC(1970, 0, 1)), max: new Date(Date.UTC(2199, 11, 31)), noInvalidDate: true }), (date) => {
        const y = date.getUTCFullYear();
        const m = date.getUTCMonth() + 1;
        const d = date.getUTCDate();
        const midnight = Date.UTC(y, m - 1, d);
        const pad = (n: number): string => String(n).padStart(2, '0');
        expect(parseDate(`${y}.${pad(m)}.${pad(d)}`)).toBe(midnight);
        expect(parseDate(`${y}/${m}/${d}`)).toBe(midnight);
        expect(parseDate(`${y}-${m}-${d}`)).toBe(midnight);
      }),
      { numRuns: 500 },
    );
  });
});

describe('datetime: parseTimeOfDay', () => {
  it('reads HH:MM and HH:MM:SS', () => {
    expect(parseTimeOfDay('00:00')).toBe(0);
    expect(parseTimeOfDay('10:31')).toBe((10 * 60 + 31) * 60_000);
    expect(parseTimeOfDay('23:59:59')).toBe(86_399_000);
    expect(parseTimeOfDay('9:05:01')).toBe((9 * 3600 + 5 * 60 + 1) * 1000);
  });

  it('reads fractions as decimal fractions of a second', () => {
    expect(parseTimeOfDay('00:00:00.351')).toBe(351);
    expect(parseTimeOfDay('00:08:35.782')).toBe(515_782);
    expect(parseTimeOfDay('00:00:04.000000')).toBe(4000);
    expect(parseTimeOfDay('00:00:04.000000')).toBe(parseTimeOfDay('00:00:04'));
    expect(parseTimeOfDay('00:00:04.5')).toBe(4500);
    expect(parseTimeOfDay('00:00:04.05')).toBe(4050);
    expect(parseTimeOfDay('00:00:04.000123')).toBeCloseTo(4000.123, 9);
    expect(parseTimeOfDay('12:00:00.999999')).toBeCloseTo(43_200_999.999, 6);
  });

  it('reads an unpadded count of milliseconds when asked (".5" = 5 ms)', () => {
    expect(parseTimeOfDay('00:00:04.5', true)).toBe(4005);
    expect(parseTimeOfDay('00:00:04.50', true)).toBe(4050);
    expect(parseTimeOfDay('00:00:04.500', true)).toBe(4500);
    expect(parseTimeOfDay('00:00:04.1234', true)).toBeNaN();
  });

  it('every 3-digit millisecond is an exact integer', () => {
    for (let ms = 0; ms < 1000; ms++) {
      expect(parseTimeOfDay(`13:14:15.${String(ms).padStart(3, '0')}`)).toBe(((13 * 60 + 14) * 60 + 15) * 1000 + ms);
    }
  });

  it('rejects text that is not a time of day', () => {
    for (const text of [
      '24:00',
      '12:60',
      '12:00:61',
      '12:00:00.',
      '12:00:00.1234567890',
      '12:ab',
      ':30',
      '1230',
      '',
      '12:00:00,351',
      '12:00:00.35a',
      '-1:00',
      '2025.01.02',
    ]) {
      expect(parseTimeOfDay(text), JSON.stringify(text)).toBeNaN();
    }
  });
});
