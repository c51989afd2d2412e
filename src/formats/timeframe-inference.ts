import { TIMEFRAMES, type Timeframe, TIMEFRAME_MS } from '../model/document.js';
import { parseFileName, type NameTimeframe } from './file-names.js';
import { FormatError } from './types.js';
import type { TimeZone } from '../model/zone.js';

/**
 * The timeframe of the bars a text export holds (docs/formats-real-exports.md), from every
 * kind of evidence, in this order: the source's `timeframe` pin; the file name's timeframe
 * (`_M5`, `_1H`, `.DAILY`); the most common gap between rows, with the rows' open times on
 * that timeframe's grid except where a session restarted it (Sierra Chart starts a bar at
 * each session's open: an H1 chart opening at 13:30 has rows at 13:15 and 13:30); and, for
 * sparse files (a far-month contract with hours between 5-minute bars), the largest
 * timeframe every open time is aligned to. Evidence that disagrees or is thin gives a warning.
 */

export interface TimeframeEvidence {
  fileName: string;
  /** The source's `timeframe` option. */
  pinned: Timeframe | 'auto';
  /** Open times of the first rows, in file order. */
  times: readonly number[];
  /** The zone the file's times are written in: open times are aligned on its clock. */
  zone: TimeZone;
}

export interface TimeframeDecision {
  /** null: bars of unknown or sub-minute length, merged into the windows as finer bars. */
  timeframe: Timeframe | null;
  /** With `timeframe` null, the bars' length when known (a 10-minute chart): merged only into the windows it divides. */
  lengthMs: number | null;
  /** What was assumed and how to settle it, when the evidence disagrees or is thin. */
  warning: string | null;
}

/** Gaps of the most common length that make the rows' evidence firm. */
const FIRM_GAPS = 10;
/** Gaps of the most common length needed to take it at all (below: alignment decides). */
const MIN_GAPS = 2;
/** Share of gaps that may restart the grid (session opens, DST changes) in a chart of one timeframe. */
const MAX_RESTARTS = 0.2;
const MINUTE = 60_000;

/** What the rows say. */
interface RowEvidence {
  timeframe: Timeframe | null;
  lengthMs: number | null;
  /** How the rows say it, for messages. */
  how: string;
  firm: boolean;
}

/** The timeframe of a file's bars and the warning its evidence calls for. Throws FormatError for a name stating bars coarser than D1. */
export function decideTimeframe(evidence: TimeframeEvidence): TimeframeDecision {
  if (evidence.pinned !== 'auto') return { timeframe: evidence.pinned, lengthMs: null, warning: null };
  const named = parseFileName(evidence.fileName).timeframe;
  const rows = fromRows(evidence.times, evidence.zone);
  const file = JSON.stringify(evidence.fileName);
  const settle = `set the source's timeframe (${TIMEFRAMES.join(', ')}) to settle it`;
  if (named) {
    const stated = namedTimeframe(named);
    if (rows && rows.firm && (rows.timeframe !== stated.timeframe || rows.lengthMs !== stated.lengthMs)) {
      return {
        ...stated,
        warning: `${file}: its name says ${named.token} but ${rows.how} (${describe(rows)}); read as ${describe(stated)}, as the name says; ${settle}`,
      };
    }
    return { ...stated, warning: null };
  }
  if (!rows) return { timeframe: null, lengthMs: null, warning: null };
  const { timeframe, lengthMs } = rows;
  if (rows.firm) return { timeframe, lengthMs, warning: null };
  return { timeframe, lengthMs, warning: `${file}: too few rows to be sure of the bar timeframe: ${rows.how}; read as ${describe(rows)}; ${settle}` };
}

function describe(span: { timeframe: Timeframe | null; lengthMs: number | null }): string {
  if (span.timeframe !== null) return `${span.timeframe} bars`;
  if (span.lengthMs !== null) return `${formatGap(span.lengthMs)} bars (merged into the windows ${formatGap(span.lengthMs)} divides)`;
  return 'bars of unknown or sub-minute length (merged into every window)';
}

/**
 * What a name's timeframe means for the windows: a kept timeframe; a length between kept
 * ones (M2, M10, H2), merged into the windows it divides; null for sub-minute and non-time
 * bars. Coarser than D1 fits no window: the file is refused.
 */
function namedTimeframe(named: NameTimeframe): { timeframe: Timeframe | null; lengthMs: number | null } {
  const length = named.lengthMs;
  if (length === null || length < MINUTE) return { timeframe: null, lengthMs: null };
  const timeframe = TIMEFRAMES.find((candidate) => TIMEFRAME_MS[candidate] === length);
  if (timeframe) return { timeframe, lengthMs: null };
  if (length < TIMEFRAME_MS.D1) return { timeframe: null, lengthMs: length };
  throw new FormatError(
    'FORMAT_TIMEFRAME',
    `timeframe ${named.token} is not one the document keeps (${TIMEFRAMES.join(' ')}) and is coarser than all of them: its bars fit no window; file skipped (set the source's timeframe if the name is wrong)`,
    0,
  );
}

function formatGap(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % MINUTE === 0) return `${ms / MINUTE} min`;
  return `${ms / 1000} s`;
}

/** What the open times say, null when there are none. */
function fromRows(times: readonly number[], zone: TimeZone): RowEvidence | null {
  if (times.length === 0) return null;
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] as number) - (times[i - 1] as number);
    if (gap > 0) gaps.push(gap);
  }
  const counts = new Map<number, number>();
  let mode = 0;
  let modeCount = 0;
  for (const gap of gaps) {
    const count = (counts.get(gap) ?? 0) + 1;
    counts.set(gap, count);
    if (count > modeCount || (count === modeCount && gap < mode)) {
      mode = gap;
      modeCount = count;
    }
  }
  const plenty = modeCount >= FIRM_GAPS;
  // A few rows all the same gap apart are as clear as many.
  const firm = plenty || (modeCount >= MIN_GAPS && modeCount === gaps.length);
  const most = `most of ${gaps.length} gaps between rows are ${formatGap(mode)} (${modeCount})`;
  if (modeCount > 0 && mode < MINUTE) return { timeframe: null, lengthMs: null, how: most, firm };
  if (modeCount >= MIN_GAPS && onGrid(gaps, mode)) {
    const timeframe = TIMEFRAMES.find((candidate) => TIMEFRAME_MS[candidate] === mode);
    if (timeframe) return { timeframe, lengthMs: null, how: most, firm };
    // Bars of a length between the kept timeframes (2 or 10 minutes): into the windows it divides.
    if (plenty && mode < TIMEFRAME_MS.D1) return { timeframe: null, lengthMs: mode, how: `${most}, a timeframe the document does not keep`, firm: false };
  }
  // Sparse (hours between bars): the largest timeframe every open time is on the grid of,
  // no longer than the shortest gap.
  const shortest = gaps.length > 0 ? Math.min(...gaps) : Number.POSITIVE_INFINITY;
  const local = times.map((time) => time + zone.offsetAt(time));
  const aligned = [...TIMEFRAMES].reverse().find((timeframe) => {
    const length = TIMEFRAME_MS[timeframe];
    return length <= shortest && local.every((time) => time % length === 0);
  });
  const rows = `${times.length} row${times.length === 1 ? '' : 's'}`;
  return aligned
    ? {
        timeframe: aligned,
        lengthMs: null,
        how: `the open times of ${rows} are all on the ${aligned} grid (the shortest gap is ${formatGap(shortest === Number.POSITIVE_INFINITY ? TIMEFRAME_MS[aligned] : shortest)})`,
        firm: false,
      }
    : { timeframe: null, lengthMs: null, how: `the open times of ${rows} are not on a one-minute grid`, firm: times.length > FIRM_GAPS };
}

/**
 * Whether gaps of `length` make the grid: every gap a whole number of bars, except a few
 * that restart it (a session's first bar, after a session-shortened one or a break).
 */
function onGrid(gaps: readonly number[], length: number): boolean {
  let restarts = 0;
  for (const gap of gaps) if (gap % length !== 0) restarts++;
  return restarts <= gaps.length * MAX_RESTARTS;
}
