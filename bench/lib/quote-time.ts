/** An operation of a patch as a client decodes it. */
export interface PatchOp {
  op: string;
  path: string;
  value?: unknown;
}

/** The quote time a patch sets, in µs, whichever way the delta engine wrote it (what matches a patch to the writes it carries). */
export function quoteTimeUs(ops: readonly PatchOp[]): number | undefined {
  for (const op of ops) {
    if (op.path === '/quote/time') return Math.round((op.value as number) * 1000);
    if (op.path === '/quote' && typeof op.value === 'object' && op.value !== null) {
      const time = (op.value as { time?: number }).time;
      return time === undefined ? undefined : Math.round(time * 1000);
    }
  }
  return undefined;
}
