import type { LatencyRecorder } from '../core/latency.js';
import type { Tally } from '../core/tally.js';

/** What the hub counts (hub/). */
export interface HubCounters {
  deliveries: { ws: Tally; sse: Tally };
  slowConsumers: { paused: Tally; resnapshot: Tally; closed: Tally };
  /** From the file's modification time to the hub handing the message to the transports. */
  writeToSend: LatencyRecorder;
  /** From the start of the read that found the change to the same hand-off. */
  readToSend: LatencyRecorder;
}
