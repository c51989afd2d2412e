import type { RecordSink, TickRecord } from '../../src/formats/types.js';
import type { Bar, Book, JsonObject, PartialDocument, Timeframe } from '../../src/model/document.js';

/** Everything a decoder reported, in order. */
export type RecordedEvent =
  | { kind: 'tick'; symbol: string; tick: TickRecord }
  | { kind: 'bar'; symbol: string; bar: Bar; timeframe: Timeframe | null; replacesLast?: true }
  | { kind: 'book'; symbol: string; book: Book }
  | { kind: 'fields'; symbol: string; fields: JsonObject }
  | { kind: 'document'; symbol: string; partial: PartialDocument; sourceTime: number }
  | { kind: 'problem'; offset: number; reason: string; line?: number };

export type RecordedProblem = Extract<RecordedEvent, { kind: 'problem' }>;

/**
 * A RecordSink that keeps a copy of every call. Decoders reuse one tick object between
 * calls, so ticks are copied (keeping only the keys that hold a value: "absent" and
 * "undefined" are the same thing for a quote field).
 */
export class RecordingSink implements RecordSink {
  readonly events: RecordedEvent[] = [];

  tick(symbol: string, tick: TickRecord): void {
    this.events.push({ kind: 'tick', symbol, tick: copyTick(tick) });
  }

  bar(symbol: string, bar: Bar, timeframe: Timeframe | null, replacesLast = false): void {
    const event: RecordedEvent = { kind: 'bar', symbol, bar: structuredClone(bar), timeframe };
    if (replacesLast) event.replacesLast = true;
    this.events.push(event);
  }

  book(symbol: string, book: Book): void {
    this.events.push({ kind: 'book', symbol, book: structuredClone(book) });
  }

  fields(symbol: string, fields: JsonObject): void {
    this.events.push({ kind: 'fields', symbol, fields: structuredClone(fields) });
  }

  document(symbol: string, partial: PartialDocument, sourceTime: number): void {
    this.events.push({ kind: 'document', symbol, partial: structuredClone(partial), sourceTime });
  }

  problem(offset: number, reason: string, line?: number): void {
    this.events.push(line === undefined ? { kind: 'problem', offset, reason } : { kind: 'problem', offset, reason, line });
  }

  get ticks(): TickRecord[] {
    return this.events.flatMap((event) => (event.kind === 'tick' ? [event.tick] : []));
  }

  get bars(): Bar[] {
    return this.events.flatMap((event) => (event.kind === 'bar' ? [event.bar] : []));
  }

  get books(): Book[] {
    return this.events.flatMap((event) => (event.kind === 'book' ? [event.book] : []));
  }

  get documents(): Extract<RecordedEvent, { kind: 'document' }>[] {
    return this.events.flatMap((event) => (event.kind === 'document' ? [event] : []));
  }

  get problems(): RecordedProblem[] {
    return this.events.flatMap((event) => (event.kind === 'problem' ? [event] : []));
  }

  clear(): void {
    this.events.length = 0;
  }
}

/** A copy of a tick without the keys that are undefined. */
export function copyTick(tick: TickRecord): TickRecord {
  const copy: TickRecord = { time: tick.time };
  if (tick.bid !== undefined) copy.bid = tick.bid;
  if (tick.ask !== undefined) copy.ask = tick.ask;
  if (tick.last !== undefined) copy.last = tick.last;
  if (tick.size !== undefined) copy.size = tick.size;
  if (tick.bidVolume !== undefined) copy.bidVolume = tick.bidVolume;
  if (tick.askVolume !== undefined) copy.askVolume = tick.askVolume;
  return copy;
}
