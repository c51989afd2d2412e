/**
 * The external probe of the start-up scenario, in its own process so that nothing the
 * scenario does delays its readings: one HTTP GET at a time, a new one every `intervalMs`
 * (at once when the last took longer), each response's latency noted with the time it was
 * sent. A bridge whose event loop stalls answers late: the largest latency bounds the
 * largest stall from outside.
 *
 *   parent → { type: 'start', url, intervalMs }   child → { type: 'started' }
 *   parent → { type: 'stop' }                     child → { type: 'samples', sentMs, latencyMs }
 */
import { monotonicMs } from './clients.js';

export type ToProbe = { type: 'start'; url: string; intervalMs: number } | { type: 'stop' };
export type FromProbe = { type: 'ready' } | { type: 'started' } | { type: 'samples'; sentMs: Float64Array; latencyMs: Float64Array; failures: number };

const sent: number[] = [];
const latencies: number[] = [];
let failures = 0;
let running = false;
let finished: Promise<void> = Promise.resolve();

async function run(url: string, intervalMs: number): Promise<void> {
  while (running) {
    const at = monotonicMs();
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      sent.push(at);
      latencies.push(monotonicMs() - at);
    } catch {
      failures++;
    }
    const wait = at + intervalMs - monotonicMs();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

process.on('message', (message: ToProbe) => {
  if (message.type === 'start') {
    running = true;
    finished = run(message.url, message.intervalMs);
    process.send?.({ type: 'started' } satisfies FromProbe);
    return;
  }
  running = false;
  void finished.then(() => {
    process.send?.({ type: 'samples', sentMs: Float64Array.from(sent), latencyMs: Float64Array.from(latencies), failures } satisfies FromProbe);
    setTimeout(() => process.exit(0), 50);
  });
});

process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' } satisfies FromProbe);
