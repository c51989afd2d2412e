/**
 * Sierra Chart's SCDateTime as stored in `.scid` and `.depth` records (FORMATS.md §1.4):
 * an int64 count of microseconds since 1899-12-30 UTC, or in files written before the
 * switch, a float64 count of days since the same epoch. Both are read here from the two
 * 32-bit halves, which avoids a BigInt per record on the hot path.
 */

/** Microseconds between 1899-12-30 and 1970-01-01 (25,569 days). */
export const SC_EPOCH_OFFSET_US = 2_209_161_600_000_000;
const SC_EPOCH_OFFSET_DAYS = 25_569;
const MS_PER_DAY = 86_400_000;
/**
 * Raw int64 values above 1e17 cannot be microseconds of the years 1900-2100 (at most
 * 6.3e15) and are the bit patterns of a double of days. 1e17 / 2^32 rounded down:
 */
const LEGACY_HIGH_WORD = 23_283_064;

/**
 * Epoch milliseconds (with a sub-ms fraction) of the SCDateTime at byte `offset`,
 * or NaN for an unset (zero) value.
 */
export function readScDateTime(view: DataView, offset: number): number {
  const low = view.getUint32(offset, true);
  const high = view.getInt32(offset + 4, true);
  if (isLegacyScDateTime(view, offset)) {
    const days = view.getFloat64(offset, true);
    return Number.isFinite(days) && days > 0 ? (days - SC_EPOCH_OFFSET_DAYS) * MS_PER_DAY : Number.NaN;
  }
  if (high === 0 && low === 0) return Number.NaN;
  // high * 2^32 + low is exact below 2^53, which covers every date of the next 280 years.
  return (high * 4_294_967_296 + low - SC_EPOCH_OFFSET_US) / 1000;
}

/** Whether the SCDateTime at byte `offset` is a legacy double of days (older files). */
export function isLegacyScDateTime(view: DataView, offset: number): boolean {
  const high = view.getInt32(offset + 4, true);
  return high > LEGACY_HIGH_WORD || high < 0;
}

/** Writes `timeMs` (epoch ms, fraction = µs) as a modern int64 µs SCDateTime. */
export function writeScDateTime(view: DataView, offset: number, timeMs: number): void {
  const micros = BigInt(Math.round(timeMs * 1000)) + BigInt(SC_EPOCH_OFFSET_US);
  view.setBigInt64(offset, micros, true);
}

/** Writes `timeMs` as a legacy double of days since 1899-12-30. */
export function writeLegacyScDateTime(view: DataView, offset: number, timeMs: number): void {
  view.setFloat64(offset, timeMs / MS_PER_DAY + SC_EPOCH_OFFSET_DAYS, true);
}

/** 10^k for the k decimals left once the integer digits are spent. */
const DECIMAL_SCALE = [1, 10, 100, 1e3, 1e4, 1e5, 1e6];

/**
 * Rounds a float32 price to the 7 significant digits a float32 carries, so 1.10432
 * stored as 1.1043200492858887 is published as 1.10432.
 */
export function roundFloat32(value: number): number {
  const a = Math.abs(value);
  if (a === 0 || !Number.isFinite(value)) return value;
  if (a < 1) return Number(value.toPrecision(7));
  const digits = a < 10 ? 1 : a < 100 ? 2 : a < 1e3 ? 3 : a < 1e4 ? 4 : a < 1e5 ? 5 : a < 1e6 ? 6 : 7;
  const scale = DECIMAL_SCALE[7 - digits] ?? 1;
  return Math.round(value * scale) / scale;
}
