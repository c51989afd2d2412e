/**
 * The wire protocol's messages (PROTOCOL.md), built by concatenating parts that were
 * serialised once (the document per version, the ops per patch), never per recipient.
 */

export type DataEvent = 'snapshot' | 'patch';

export function snapshotMessage(symbolJson: string, epoch: string, seq: number, documentJson: string): string {
  return `{"type":"snapshot","symbol":${symbolJson},"epoch":"${epoch}","seq":${seq},"data":${documentJson}}`;
}

/**
 * An SSE stream's position, carried in every event id (and given back as Last-Event-ID):
 * every subscribed symbol the journal could replay from bridge-wide commit `base` is
 * known to the client up to commit `gseq`; any other symbol is unknown (a snapshot is
 * due). In a steady stream base equals gseq and the id is just `<epoch>:<gseq>`. While a
 * burst of snapshots is under way the id keeps the base it started from, so a client cut
 * off mid-burst gets the rest of the snapshots, and never a patch it already has.
 */
export interface SseCursor {
  epoch: string;
  gseq: number;
  base: number;
}

export function formatSseId(epoch: string, gseq: number, base: number = gseq): string {
  return base === gseq ? `${epoch}:${gseq}` : `${epoch}:${gseq}:${base}`;
}

/** Parses an event id; null when it is not one of ours (the client then gets snapshots). */
export function parseSseCursor(id: string): SseCursor | null {
  const parts = id.split(':');
  if (parts.length < 2 || parts.length > 3) return null;
  const [epoch, gseqText, baseText] = parts as [string, string, string | undefined];
  const gseq = Number(gseqText);
  const base = baseText === undefined ? gseq : Number(baseText);
  if (epoch === '' || !Number.isSafeInteger(gseq) || !Number.isSafeInteger(base) || base < 0 || base > gseq) return null;
  return { epoch, gseq, base };
}
