import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { TimeZone } from '../../src/model/zone.js';

/** The wall time of an instant in `zone`, by luxon (an independent implementation), as UTC ms. */
function wallOf(utcMs: number, zone: string): number {
  const local = DateTime.fromMillis(utcMs, { zone });
  return utcMs + local.offset * 60_000;
}

const wall = (y: number, mo: number, d: number, h: number, mi = 0): number => Date.UTC(y, mo - 1, d, h, mi);

describe('zone: TimeZone.toUtc against luxon', () => {
  const zones = ['Europe/Athens', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/Sao_Paulo', 'Asia/Tokyo'];

  it('gives back every instant from its wall time (the earlier one where the wall time occurs twice)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: Date.UTC(1995, 0, 1), max: Date.UTC(2035, 0, 1) }), (name, instant) => {
        const zone = TimeZone.parse(name);
        const utc = zone.toUtc(wallOf(instant, name));
        expect(wallOf(utc, name)).toBe(wallOf(instant, name));
        // Where the wall time is ambiguous the earlier instant is chosen: never a later one.
        expect(utc).toBeLessThanOrEqual(instant);
        expect(instant - utc).toBeLessThanOrEqual(2 * 3_600_000);
      }),
      { numRuns: 3000 },
    );
  });

  it('matches luxon every 97 minutes through 2025, across its DST transitions', () => {
    for (const name of ['Europe/Athens', 'America/New_York', 'Australia/Lord_Howe']) {
      const zone = TimeZone.parse(name);
      for (let instant = Date.UTC(2025, 0, 1); instant < Date.UTC(2026, 0, 1); instant += 97 * 60_000) {
        const offset = DateTime.fromMillis(instant, { zone: name }).offset * 60_000;
        expect(zone.offsetAt(instant), `${name} at ${new Date(instant).toISOString()}`).toBe(offset);
      }
    }
  });
});

describe('zone: clock changes', () => {
  const athens = TimeZone.parse('Europe/Athens');
  const newYork = TimeZone.parse('America/New_York');

  it('moves a wall time skipped by spring forward ahead by the change (03:30 does not exist in Athens on 2025-03-30)', () => {
    // 03:00 EET becomes 04:00 EEST at 01:00 UTC.
    expect(athens.toUtc(wall(2025, 3, 30, 2, 59))).toBe(Date.UTC(2025, 2, 30, 0, 59));
    expect(athens.toUtc(wall(2025, 3, 30, 3, 30))).toBe(Date.UTC(2025, 2, 30, 1, 30)); // read as 04:30 EEST
    expect(athens.toUtc(wall(2025, 3, 30, 4, 0))).toBe(Date.UTC(2025, 2, 30, 1, 0));
    expect(newYork.toUtc(wall(2025, 3, 9, 2, 30))).toBe(Date.UTC(2025, 2, 9, 7, 30)); // read as 03:30 EDT
  });

  it('reads a wall time of the repeated hour as the earlier instant, or the later one after it', () => {
    // Athens 2025-10-26: 04:00 EEST becomes 03:00 EET at 01:00 UTC; 03:30 occurs at 00:30 and 01:30 UTC.
    const twice = wall(2025, 10, 26, 3, 30);
    expect(athens.toUtc(twice)).toBe(Date.UTC(2025, 9, 26, 0, 30));
    expect(athens.toUtc(twice, Date.UTC(2025, 9, 26, 0, 50))).toBe(Date.UTC(2025, 9, 26, 1, 30));
    expect(newYork.toUtc(wall(2025, 11, 2, 1, 30))).toBe(Date.UTC(2025, 10, 2, 5, 30));
    expect(newYork.toUtc(wall(2025, 11, 2, 1, 30), Date.UTC(2025, 10, 2, 5, 45))).toBe(Date.UTC(2025, 10, 2, 6, 30));
  });

  it('reads time-ordered rows through the repeated hour in order', () => {
    let last = Number.NEGATIVE_INFINITY;
    const instants: number[] = [];
    for (let minutes = 0; minutes < 180; minutes += 15) {
      const instant = Date.UTC(2025, 9, 25, 23, 0) + minutes * 60_000;
      last = athens.toUtc(wallOf(instant, 'Europe/Athens'), last);
      instants.push(last);
      expect(last).toBe(instant);
    }
    expect(instants).toEqual([...instants].sort((a, b) => a - b));
  });
});

describe('zone: TimeZone.parse', () => {
  it('takes UTC, fixed offsets, IANA names, and IANA names shifted by an offset', () => {
    expect(TimeZone.parse('UTC').isUtc).toBe(true);
    expect(TimeZone.parse('UTC+3').toUtc(wall(2025, 1, 2, 12))).toBe(Date.UTC(2025, 0, 2, 9));
    expect(TimeZone.parse('+02:00').toUtc(wall(2025, 1, 2, 12))).toBe(Date.UTC(2025, 0, 2, 10));
    expect(TimeZone.parse('-0530').toUtc(wall(2025, 1, 2, 12))).toBe(Date.UTC(2025, 0, 2, 17, 30));
    // POSIX signs: Etc/GMT+3 is three hours behind UTC.
    expect(TimeZone.parse('Etc/GMT+3').toUtc(wall(2025, 1, 2, 12))).toBe(Date.UTC(2025, 0, 2, 15));
  });

  it('gives the "New York close" broker time: UTC+2 in winter, UTC+3 in summer, switching on the US dates', () => {
    const server = TimeZone.parse('America/New_York+07:00');
    expect(server.offsetAt(Date.UTC(2025, 0, 15))).toBe(2 * 3_600_000);
    expect(server.offsetAt(Date.UTC(2025, 6, 15))).toBe(3 * 3_600_000);
    // 2025-03-10: New York is on summer time, Europe is not yet.
    expect(server.offsetAt(Date.UTC(2025, 2, 10, 12))).toBe(3 * 3_600_000);
    // Midnight server time is 17:00 in New York, every day of the year.
    expect(server.toUtc(wall(2025, 3, 10, 0))).toBe(Date.UTC(2025, 2, 9, 21));
    expect(server.toUtc(wall(2025, 1, 10, 0))).toBe(Date.UTC(2025, 0, 9, 22));
  });

  it('names what is wrong with a bad zone', () => {
    expect(() => TimeZone.parse('Mars/Olympus')).toThrow(/not an IANA name/);
    expect(() => TimeZone.parse('Mars/Olympus+02:00')).toThrow(/"Mars\/Olympus" is not a known IANA time zone/);
    expect(() => TimeZone.parse('+15:00')).toThrow(/beyond ±14:00/);
    expect(() => TimeZone.parse('')).toThrow(RangeError);
  });
});
