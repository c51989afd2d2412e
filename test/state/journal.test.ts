import { describe, expect, it } from 'vitest';
import { Journal, JournalEntry } from '../../src/state/journal.js';

function entry(seq: number, gseq: number = seq * 10): JournalEntry {
  const prefix = `{"type":"patch","seq":${seq},"ops":`;
  return new JournalEntry(seq, gseq, `${prefix}[{"op":"replace","path":"/quote/bid","value":${seq}}]}`, prefix.length);
}

/** A journal starting at version `base` (gseq `baseGseq`) holding seqs base+1..base+count. */
function filled(capacity: number, base: number, count: number, gseqOf: (seq: number) => number = (seq) => seq * 10): Journal {
  const journal = new Journal(capacity, base, gseqOf(base));
  for (let seq = base + 1; seq <= base + count; seq++) journal.push(entry(seq, gseqOf(seq)));
  return journal;
}

const seqs = (entries: JournalEntry[] | null): number[] | null => entries?.map((e) => e.seq) ?? null;

describe('Journal', () => {
  it('starts empty at its base', () => {
    const journal = new Journal(4, 1, 7);
    expect(journal.size).toBe(0);
    expect(journal.floorSeq).toBe(1);
    expect(journal.floorGseq).toBe(7);
    expect(journal.since(1)).toEqual([]);
    expect(journal.since(0)).toBeNull();
    expect(journal.since(2)).toBeNull();
    expect(journal.sinceGseq(7)).toEqual([]);
    expect(journal.sinceGseq(6)).toBeNull();
  });

  it('since(seq) returns exactly the entries after seq while nothing was evicted', () => {
    const journal = filled(5, 1, 3); // holds 2, 3, 4
    expect(journal.size).toBe(3);
    expect(journal.floorSeq).toBe(1);
    expect(seqs(journal.since(1))).toEqual([2, 3, 4]);
    expect(seqs(journal.since(2))).toEqual([3, 4]);
    expect(seqs(journal.since(3))).toEqual([4]);
    expect(journal.since(4)).toEqual([]);
    expect(journal.since(5)).toBeNull();
    expect(journal.since(0)).toBeNull();
    expect(journal.since(-1)).toBeNull();
  });

  it('returns the entries themselves, in order', () => {
    const journal = new Journal(3, 1, 10);
    const pushed = [entry(2), entry(3)];
    for (const e of pushed) journal.push(e);
    const out = journal.since(1) as JournalEntry[];
    expect(out[0]).toBe(pushed[0]);
    expect(out[1]).toBe(pushed[1]);
    // A fresh array each time: the caller may keep or change it.
    expect(journal.since(1)).not.toBe(out);
  });

  it('eviction moves floorSeq and floorGseq to the evicted entry', () => {
    const journal = filled(3, 1, 3); // holds 2, 3, 4 (full)
    expect(journal.floorSeq).toBe(1);
    expect(journal.floorGseq).toBe(10);
    journal.push(entry(5)); // evicts 2
    expect(journal.size).toBe(3);
    expect(journal.floorSeq).toBe(2);
    expect(journal.floorGseq).toBe(20);
    expect(journal.since(1)).toBeNull();
    expect(seqs(journal.since(2))).toEqual([3, 4, 5]);
    expect(seqs(journal.since(4))).toEqual([5]);
    expect(journal.since(5)).toEqual([]);
    expect(journal.since(6)).toBeNull();
  });

  it('keeps exactly the last `capacity` entries across many wraps of the ring', () => {
    const capacity = 7;
    const journal = new Journal(capacity, 1, 10);
    for (let seq = 2; seq <= 100; seq++) {
      journal.push(entry(seq));
      const held = Math.min(seq - 1, capacity);
      expect(journal.size).toBe(held);
      expect(journal.floorSeq).toBe(seq - held);
      expect(journal.floorGseq).toBe((seq - held) * 10);
      expect(seqs(journal.since(journal.floorSeq))).toEqual(Array.from({ length: held }, (_, i) => seq - held + 1 + i));
      expect(journal.since(journal.floorSeq - 1)).toBeNull();
      expect(journal.since(seq)).toEqual([]);
      expect(journal.since(seq + 1)).toBeNull();
    }
    // Every cursor in range gives exactly the tail after it.
    for (let from = 93; from <= 100; from++) {
      expect(seqs(journal.since(from))).toEqual(Array.from({ length: 100 - from }, (_, i) => from + 1 + i));
    }
  });

  it('sinceGseq returns the entries committed after a bridge-wide gseq, with gaps from other symbols', () => {
    // This symbol's commits interleave with other symbols': gseqs 5, 8, 9, 14, 20 for seqs 1..5.
    const gseqs = [0, 5, 8, 9, 14, 20];
    const journal = filled(10, 1, 4, (seq) => gseqs[seq] as number); // holds 2..5, base gseq 5
    expect(journal.floorGseq).toBe(5);
    expect(seqs(journal.sinceGseq(5))).toEqual([2, 3, 4, 5]);
    expect(seqs(journal.sinceGseq(6))).toEqual([2, 3, 4, 5]);
    expect(seqs(journal.sinceGseq(7))).toEqual([2, 3, 4, 5]);
    expect(seqs(journal.sinceGseq(8))).toEqual([3, 4, 5]);
    expect(seqs(journal.sinceGseq(9))).toEqual([4, 5]);
    expect(seqs(journal.sinceGseq(13))).toEqual([4, 5]);
    expect(seqs(journal.sinceGseq(14))).toEqual([5]);
    expect(seqs(journal.sinceGseq(19))).toEqual([5]);
    expect(journal.sinceGseq(20)).toEqual([]);
    expect(journal.sinceGseq(1000)).toEqual([]);
    expect(journal.sinceGseq(4)).toBeNull();
    expect(journal.sinceGseq(0)).toBeNull();
  });

  it('sinceGseq after eviction: below the evicted gseq is null, at or above it replays', () => {
    const gseqs = [0, 5, 8, 9, 14, 20, 31, 33];
    const journal = filled(3, 1, 6, (seq) => gseqs[seq] as number); // pushed 2..7, holds 5, 6, 7
    expect(journal.floorSeq).toBe(4);
    expect(journal.floorGseq).toBe(14);
    expect(journal.sinceGseq(13)).toBeNull();
    expect(journal.sinceGseq(9)).toBeNull();
    expect(seqs(journal.sinceGseq(14))).toEqual([5, 6, 7]);
    expect(seqs(journal.sinceGseq(19))).toEqual([5, 6, 7]);
    expect(seqs(journal.sinceGseq(20))).toEqual([6, 7]);
    expect(seqs(journal.sinceGseq(32))).toEqual([7]);
    expect(journal.sinceGseq(33)).toEqual([]);
  });

  it('sinceGseq binary search agrees with a linear scan across wraps', () => {
    const journal = new Journal(6, 1, 3);
    let gseq = 3;
    const all: JournalEntry[] = [];
    for (let seq = 2; seq <= 40; seq++) {
      gseq += 1 + ((seq * 7) % 5);
      const e = entry(seq, gseq);
      all.push(e);
      journal.push(e);
      const held = all.slice(-6);
      for (let cursor = journal.floorGseq; cursor <= gseq + 1; cursor++) {
        expect(journal.sinceGseq(cursor)).toEqual(held.filter((h) => h.gseq > cursor));
      }
      expect(journal.sinceGseq(journal.floorGseq - 1)).toBeNull();
    }
  });

  it('capacity 0 holds nothing but still moves its floor', () => {
    const journal = new Journal(0, 1, 10);
    expect(journal.since(1)).toEqual([]);
    journal.push(entry(2, 20));
    expect(journal.size).toBe(0);
    expect(journal.floorSeq).toBe(2);
    expect(journal.floorGseq).toBe(20);
    expect(journal.since(1)).toBeNull();
    expect(journal.since(2)).toEqual([]);
    expect(journal.since(3)).toBeNull();
    expect(journal.sinceGseq(19)).toBeNull();
    expect(journal.sinceGseq(20)).toEqual([]);
    journal.push(entry(3, 25));
    expect(journal.floorSeq).toBe(3);
    expect(journal.since(2)).toBeNull();
    expect(journal.since(3)).toEqual([]);
  });

  it('capacity 1 holds the last entry only', () => {
    const journal = filled(1, 1, 3); // pushed 2, 3, 4
    expect(journal.size).toBe(1);
    expect(journal.floorSeq).toBe(3);
    expect(seqs(journal.since(3))).toEqual([4]);
    expect(journal.since(2)).toBeNull();
    expect(seqs(journal.sinceGseq(30))).toEqual([4]);
    expect(journal.sinceGseq(29)).toBeNull();
  });
  it('counts the bytes it holds, and resizes keeping the newest entries and a floor they replay from', () => {
    const journal = filled(5, 1, 7); // evicted 2, 3; holds 4..8
    const bytes = (from: number, to: number): number => {
      let total = 0;
      for (let seq = from; seq <= to; seq++) total += entry(seq).messageJson.length;
      return total;
    };
    expect(journal.bytes).toBe(bytes(4, 8));

    const smaller = journal.resized(2);
    expect(seqs(smaller.since(6))).toEqual([7, 8]);
    expect(smaller.since(5)).toBeNull();
    expect([smaller.floorSeq, smaller.floorGseq, smaller.bytes]).toEqual([6, 60, bytes(7, 8)]);

    const larger = journal.resized(10);
    expect(seqs(larger.since(3))).toEqual([4, 5, 6, 7, 8]);
    larger.push(entry(9));
    expect(seqs(larger.since(3))).toEqual([4, 5, 6, 7, 8, 9]);

    const none = journal.resized(0);
    expect([none.floorSeq, none.size, none.bytes]).toEqual([8, 0, 0]);
    expect(none.since(8)).toEqual([]);
  });
});
