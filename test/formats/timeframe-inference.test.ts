import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/formats/types.js';
import { decideTimeframe, type TimeframeEvidence } from '../../src/formats/timeframe-inference.js';
import { TimeZone } from '../../src/model/zone.js';
import { Contribution } from '../../src/state/contribution.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 2, 2);

const decide = (times: number[], fileName = 'ES-BarData.txt', pinned: TimeframeEvidence['pinned'] = 'auto', zone = TimeZone.UTC) =>
  decideTimeframe({ fileName, pinned, times, zone });

/**
 * Open times of an hourly Sierra chart of two sessions a day: the evening session's bars open
 * at :15 (22:15 to 13:15, the last one cut short by the day session), the day session's at
 * :30 (13:30 to 19:30), then a break: the grid restarts twice a day.
 */
function sessionHours(days: number): number[] {
  const times: number[] = [];
  for (let day = 0; day < days; day++) {
    const base = T0 + day * DAY;
    for (let hour = -2; hour <= 13; hour++) times.push(base + hour * HOUR + 15 * MIN);
    for (let hour = 13; hour <= 19; hour++) times.push(base + hour * HOUR + 30 * MIN);
  }
  return times;
}

describe('timeframe inference: the order of evidence', () => {
  it('the pin wins over the name and the rows', () => {
    expect(decide([0, MIN, 2 * MIN], 'EURUSD_H1.csv', 'M5')).toEqual({ timeframe: 'M5', lengthMs: null, warning: null });
  });

  it('the name wins over the rows; rows that firmly disagree give one warning naming the file, the assumption and the pin', () => {
    const fiveMinutes = Array.from({ length: 20 }, (_, i) => T0 + i * 5 * MIN);
    const decision = decide(fiveMinutes, 'EURUSD_H1.csv');
    expect(decision.timeframe).toBe('H1');
    expect(decision.warning).toContain('"EURUSD_H1.csv": its name says H1 but most of 19 gaps between rows are 5 min (19) (M5 bars); read as H1 bars');
    expect(decision.warning).toContain("set the source's timeframe");
    // Rows too few to disagree firmly: the name, quietly.
    expect(decide([T0, T0 + 3 * HOUR], 'NQH26-CME_5m.scid_BarData.txt')).toEqual({ timeframe: 'M5', lengthMs: null, warning: null });
  });

  it('an hourly chart whose sessions restart the grid (13:15 then 13:30) is H1, not M15 as the smallest gap says', () => {
    const times = sessionHours(3);
    expect(times.slice(14, 18).map((t) => new Date(t).toISOString().slice(11, 16))).toEqual(['12:15', '13:15', '13:30', '14:30']);
    expect(decide(times)).toEqual({ timeframe: 'H1', lengthMs: null, warning: null });
  });

  it('the most common gap, not the smallest: a 5-minute chart with gaps of hours and one shortened bar', () => {
    const times = [
      ...Array.from({ length: 30 }, (_, i) => T0 + i * 5 * MIN),
      T0 + 152 * MIN,
      ...Array.from({ length: 10 }, (_, i) => T0 + 5 * HOUR + i * 5 * MIN),
    ];
    expect(decide(times)).toEqual({ timeframe: 'M5', lengthMs: null, warning: null });
  });

  it('a sparse 5-minute chart (hours between bars): the largest timeframe every open time is on, with a warning', () => {
    const times = [T0 + 14 * HOUR + 35 * MIN, T0 + 16 * HOUR + 50 * MIN, T0 + DAY + 9 * HOUR + 5 * MIN, T0 + 2 * DAY + 20 * MIN];
    const decision = decide(times, 'NQU26-CME-BarData.txt');
    expect(decision.timeframe).toBe('M5');
    expect(decision.warning).toContain(
      '"NQU26-CME-BarData.txt": too few rows to be sure of the bar timeframe: the open times of 4 rows are all on the M5 grid',
    );
    // All on the hour: H1; all at midnight days apart: D1; in the file's zone.
    expect(decide([T0 + 3 * HOUR, T0 + 7 * HOUR, T0 + DAY + 2 * HOUR]).timeframe).toBe('H1');
    expect(decide([T0, T0 + 2 * DAY, T0 + 5 * DAY]).timeframe).toBe('D1');
    const ny = TimeZone.parse('America/New_York');
    expect(decide([T0 + 5 * HOUR, T0 + 3 * DAY + 5 * HOUR], 'a.txt', 'auto', ny).timeframe).toBe('D1');
    // Never coarser than the shortest gap.
    expect(decide([T0, T0 + 15 * MIN, T0 + 3 * HOUR]).timeframe).toBe('M15');
  });

  it('sub-minute and irregular bars stay of unknown length; a length between the kept ones is kept as a length', () => {
    expect(decide(Array.from({ length: 30 }, (_, i) => T0 + i * 1000))).toEqual({ timeframe: null, lengthMs: null, warning: null });
    expect(decide(Array.from({ length: 30 }, (_, i) => T0 + i * i * 7_001)).timeframe).toBeNull();
    const tenMinutes = decide(Array.from({ length: 30 }, (_, i) => T0 + i * 10 * MIN));
    expect(tenMinutes.timeframe).toBeNull();
    expect(tenMinutes.lengthMs).toBe(10 * MIN);
    expect(tenMinutes.warning).toContain('a timeframe the document does not keep');
    expect(decide([], 'ES_M10.txt')).toEqual({ timeframe: null, lengthMs: 10 * MIN, warning: null });
    expect(decide([], 'ES_30s.txt')).toEqual({ timeframe: null, lengthMs: null, warning: null });
    expect(decide([], 'GC_100T.txt')).toEqual({ timeframe: null, lengthMs: null, warning: null });
  });

  it('a name stating bars coarser than D1 (W1, MN1, weekly) is refused: they fit no window', () => {
    for (const name of ['EURUSD_W1_202401020000_202406282359.csv', 'EURUSD_MN1.csv', 'ES_weekly.txt']) {
      expect(() => decide([T0], name)).toThrow(FormatError);
    }
    expect(() => decide([T0], 'EURUSD_MN1.csv')).toThrow(/MN1 is not one the document keeps/);
  });

  it('a single row or one gap is thin evidence: assumed, with a warning', () => {
    const decision = decide([T0 + 14 * HOUR, T0 + 14 * HOUR + 5 * MIN], 'ESZ25-CME-BarStudyData.csv');
    expect(decision.timeframe).toBe('M5');
    expect(decision.warning).toMatch(/^"ESZ25-CME-BarStudyData.csv": too few rows .* read as M5 bars; set the source's timeframe/);
    expect(decide([], 'x.txt')).toEqual({ timeframe: null, lengthMs: null, warning: null });
  });
});

describe('timeframe inference: bars of a length between the kept timeframes', () => {
  it('10-minute bars go only into the windows 10 minutes divides (M30, H1), never M1, M5 or M15', () => {
    const contribution = new Contribution('sierra-text', 'trade', { M1: 10, M5: 10, M15: 10, M30: 10, H1: 10 });
    for (let i = 0; i < 4; i++)
      contribution.applyBar({ t: T0 + i * 10 * MIN, o: 10 + i, h: 12 + i, l: 9 + i, c: 11 + i, v: 5, n: 2, bv: 2, av: 3 }, null, false, 10 * MIN);
    const { bars } = contribution.seal();
    expect(Object.keys(bars)).toEqual(['M30', 'H1']);
    expect(bars.M30).toEqual([
      { t: T0, o: 10, h: 14, l: 9, c: 13, v: 15, n: 6, bv: 6, av: 9 },
      { t: T0 + 30 * MIN, o: 13, h: 15, l: 12, c: 14, v: 5, n: 2, bv: 2, av: 3 },
    ]);
    expect(bars.H1).toEqual([{ t: T0, o: 10, h: 15, l: 9, c: 14, v: 20, n: 8, bv: 8, av: 12 }]);
  });
});
