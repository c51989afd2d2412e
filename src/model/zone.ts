/**
 * Wall-clock times of a time zone to epoch milliseconds. Text exports and MetaTrader files
 * print local times (a chart's zone, a broker's server time); `.scid` and `.depth` are UTC.
 *
 * A zone is an IANA name (`Europe/Athens`), a fixed offset (`UTC`, `UTC+3`, `+02:00`), or an
 * IANA name shifted by a fixed offset (`America/New_York+07:00`: the "New York close" server
 * time many MetaTrader brokers run, UTC+2 in winter and UTC+3 in summer, switching on the US
 * dates). Offsets come from Intl and are cached per UTC hour, so a line costs a map lookup.
 */

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const ZONE_SPEC = /^(?<name>[A-Za-z][A-Za-z0-9_\-/]*)?(?<sign>[+-])(?<hours>\d{1,2})(?::?(?<minutes>\d{2}))?$/;

export class TimeZone {
  /** The zone as configured. */
  /** @public What the zone was parsed from, as written (trimmed): for logs and reports. */
  readonly spec: string;
  readonly #format: Intl.DateTimeFormat | null;
  readonly #shiftMs: number;
  /** Offset (ms) in force for a whole UTC hour, keyed by the hour; NaN when it changes within it. */
  readonly #hours = new Map<number, number>();

  private constructor(spec: string, format: Intl.DateTimeFormat | null, shiftMs: number) {
    this.spec = spec;
    this.#format = format;
    this.#shiftMs = shiftMs;
  }

  static readonly UTC = new TimeZone('UTC', null, 0);

  /** Parses a zone; throws RangeError naming what is wrong. */
  static parse(spec: string): TimeZone {
    const trimmed = spec.trim();
    // A whole IANA name first: `Etc/GMT+3` is UTC-3 (POSIX signs), not `Etc/GMT` shifted by +3.
    const whole = intlFormat(trimmed);
    if (whole) return /^(UTC|Etc\/UTC|GMT|Etc\/GMT)$/i.test(trimmed) ? TimeZone.UTC : new TimeZone(trimmed, whole, 0);
    const groups = ZONE_SPEC.exec(trimmed)?.groups;
    if (groups?.sign === undefined) {
      throw new RangeError(`time zone ${JSON.stringify(spec)} is not an IANA name (Europe/Athens), an offset (+02:00) or both (America/New_York+07:00)`);
    }
    const hours = Number(groups.hours ?? 0);
    const minutes = Number(groups.minutes ?? 0);
    if (hours > 14 || minutes > 59) throw new RangeError(`time zone ${JSON.stringify(spec)} has an offset beyond ±14:00`);
    const shiftMs = (groups.sign === '-' ? -1 : 1) * (hours * HOUR_MS + minutes * MINUTE_MS);
    const name = groups.name;
    if (name === undefined || /^(UTC|GMT)$/i.test(name)) return shiftMs === 0 ? TimeZone.UTC : new TimeZone(trimmed, null, shiftMs);
    const format = intlFormat(name);
    if (!format) throw new RangeError(`time zone ${JSON.stringify(name)} is not a known IANA time zone`);
    return new TimeZone(trimmed, format, shiftMs);
  }

  get isUtc(): boolean {
    return this.#format === null && this.#shiftMs === 0;
  }

  /** The zone's offset from UTC (ms, east positive) at the instant `utcMs`. */
  offsetAt(utcMs: number): number {
    if (this.#format === null) return this.#shiftMs;
    const hour = Math.floor(utcMs / HOUR_MS);
    let offset = this.#hours.get(hour);
    if (offset === undefined) {
      const start = this.#intlOffset(hour * HOUR_MS);
      offset = start === this.#intlOffset(hour * HOUR_MS + HOUR_MS - 1) ? start : Number.NaN;
      if (this.#hours.size > 100_000) this.#hours.clear();
      this.#hours.set(hour, offset);
    }
    return Number.isNaN(offset) ? this.#intlOffset(utcMs) : offset;
  }

  /**
   * The instant of a wall-clock time, given as the epoch ms that time would be in UTC. A time
   * skipped by a clock change (spring forward) is read with the offset before the change, which
   * moves it forward (02:30 becomes 03:30); a time that occurs twice (fall back) is the earlier
   * instant, unless that is before `notBefore` (time-ordered rows in the repeated hour).
   */
  toUtc(wallMs: number, notBefore = Number.NEGATIVE_INFINITY): number {
    if (this.#format === null) return wallMs - this.#shiftMs;
    const guess = this.offsetAt(wallMs);
    const first = wallMs - guess;
    const actual = this.offsetAt(first);
    if (actual === guess) return this.#earlierTwin(wallMs, first, notBefore);
    const second = wallMs - actual;
    if (this.offsetAt(second) === actual) return this.#earlierTwin(wallMs, second, notBefore);
    // In a gap: neither offset gives back this wall time. Use the offset before the change.
    return wallMs - Math.min(guess, actual);
  }

  /** When the wall time also occurs at another instant (an overlap), picks between the two. */
  #earlierTwin(wallMs: number, instant: number, notBefore: number): number {
    // Offsets change by at most a few hours: look for a different offset that fits as well.
    for (const probe of [instant - 3 * HOUR_MS, instant + 3 * HOUR_MS]) {
      const offset = this.offsetAt(probe);
      const twin = wallMs - offset;
      if (twin !== instant && this.offsetAt(twin) === offset) {
        const earlier = Math.min(twin, instant);
        const later = Math.max(twin, instant);
        return earlier >= notBefore ? earlier : later;
      }
    }
    return instant;
  }

  #intlOffset(utcMs: number): number {
    const format = this.#format as Intl.DateTimeFormat;
    const at = Math.floor(utcMs / 1000) * 1000;
    let year = 0;
    let month = 0;
    let day = 0;
    let hour = 0;
    let minute = 0;
    let second = 0;
    for (const part of format.formatToParts(at)) {
      if (part.type === 'year') year = Number(part.value);
      else if (part.type === 'month') month = Number(part.value);
      else if (part.type === 'day') day = Number(part.value);
      else if (part.type === 'hour') hour = Number(part.value);
      else if (part.type === 'minute') minute = Number(part.value);
      else if (part.type === 'second') second = Number(part.value);
    }
    return Date.UTC(year, month - 1, day, hour, minute, second) - at + this.#shiftMs;
  }
}

function intlFormat(timeZone: string): Intl.DateTimeFormat | null {
  if (timeZone === '') return null;
  try {
    return new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    return null;
  }
}
