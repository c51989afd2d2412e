/**
 * A count kept as a plain number by the component that counts: hot paths add to it with
 * no allocation and no label lookup, and Prometheus reads it when it scrapes.
 */
export class Tally {
  value = 0;

  add(amount = 1): void {
    this.value += amount;
  }
}

/** One tally per key. */
export function tallies<K extends string>(keys: readonly K[]): Record<K, Tally> {
  return Object.fromEntries(keys.map((key) => [key, new Tally()])) as Record<K, Tally>;
}
