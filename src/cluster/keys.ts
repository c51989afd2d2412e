/** One symbol's keys and channel, as its publishing script takes them. */
export interface SymbolKeys {
  readonly meta: string;
  readonly log: string;
  readonly doc: string;
  readonly lease: string;
  readonly channel: string;
}

/**
 * Where the cluster keeps things in Redis, under one prefix (`cluster.prefix`). Every key of
 * a symbol carries it as a hash tag (`tb:{ESZ25}:meta`), so that one symbol's keys share a
 * Cluster slot and its publishing script may touch them all.
 */
export class ClusterKeys {
  constructor(readonly prefix: string) {}

  /** The namespace's epoch: made by the first node to find none. */
  get epoch(): string {
    return `${this.prefix}:epoch`;
  }

  /** Every symbol published in the namespace. */
  get symbols(): string {
    return `${this.prefix}:symbols`;
  }

  /** Hash: `epoch`, `seq` (the top version), `node` (its writer). */
  meta(symbol: string): string {
    return `${this.prefix}:{${symbol}}:meta`;
  }

  /** Stream of the symbol's versions after its stored document, entry id `<seq>-0`, field `m` the wire message. */
  log(symbol: string): string {
    return `${this.prefix}:{${symbol}}:log`;
  }

  /** The document at a recent version: `{"seq":N,"data":{...}}`. */
  doc(symbol: string): string {
    return `${this.prefix}:{${symbol}}:doc`;
  }

  /** The writer's lease: its node id, with an expiry. */
  lease(symbol: string): string {
    return `${this.prefix}:{${symbol}}:lease`;
  }

  /**
   * Stream of one edge process's commit order, `scope` its cursors' epoch (`<epoch>.<node>.<suffix>`):
   * entry id the gseq of the batch's last commit, field `r` `[first gseq, symbol, seq, symbol, seq, …]`.
   */
  cursorOrder(scope: string): string {
    return `${this.prefix}:{c:${scope}}:order`;
  }

  /** Stream of that process's checkpoints: entry id `<gseq>-1`, field `v` `{"symbol": seq, …}` of every symbol it held then. */
  cursorCheckpoints(scope: string): string {
    return `${this.prefix}:{c:${scope}}:ckpt`;
  }

  /** Every key and the channel of `symbol`, made once per symbol by a writer that uses them at every version. */
  of(symbol: string): SymbolKeys {
    return { meta: this.meta(symbol), log: this.log(symbol), doc: this.doc(symbol), lease: this.lease(symbol), channel: this.channel(symbol) };
  }

  /** Pub/sub channel of the symbol's versions (channels are not keys: no hash tag needed). */
  channel(symbol: string): string {
    return `${this.prefix}:v:${symbol}`;
  }

  /** Every symbol's channel. */
  get channelPattern(): string {
    return `${this.prefix}:v:*`;
  }

  /** The symbol a channel is of, or null when the channel is not one of ours. */
  symbolOf(channel: string): string | null {
    const head = `${this.prefix}:v:`;
    return channel.startsWith(head) ? channel.slice(head.length) : null;
  }
}
