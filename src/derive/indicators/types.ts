import type { Bar, IndicatorValue } from '../../model/document.js';

/**
 * An indicator's state over the closed bars of a series. The newest bar of a window is
 * still forming: it is never pushed, only given to `value`, so a tick that changes it costs
 * one O(1) evaluation and leaves the state as it was.
 */
export interface IndicatorState<V extends IndicatorValue = IndicatorValue> {
  /** A bar closed: O(1). */
  push(bar: Bar): void;
  /** The value with `last` as the newest bar; undefined while warming up. O(1); changes nothing. */
  value(last: Bar): V | undefined;
}

/** The value at every bar of a series, each computed from that bar and the ones before. */
export type Series<V extends IndicatorValue = IndicatorValue> = (V | undefined)[];
