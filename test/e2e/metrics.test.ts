import { appendFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import { startTestBridge } from '../helpers/bridge.js';
import { getJson, SseClient, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';

interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

interface Stats {
  hub: { clients: { ws: number; sse: number }; deliveries: { ws: number; sse: number }; backlogBytes: number };
  latency: { writeToSendMs: LatencySummary | null; readToSendMs: LatencySummary | null };
  sources: {
    folders: {
      path: string;
      files: { path: string; format: string | null }[];
      reads: Record<string, number>;
      bytesRead: number;
      problems: number;
      breakers: Record<string, number>;
    }[];
  };
  state: { patches: number; patchBytes: number; journal: { entries: number; bytes: number }; snapshotCache: { hits: number; misses: number; hitRate: number } };
  eventLoop: { p50Ms: number; p99Ms: number; maxMs: number };
  memory: { rssBytes: number };
}

/** The value of one series in Prometheus text, or undefined when absent. */
function series(text: string, name: string, labels = ''): number | undefined {
  const escaped = `${name}${labels ? `{${labels}}` : ''}`.replace(/[{}()[\].*+?^$|\\]/g, '\\$&');
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

describe('metrics and stats', () => {
  it('count the pipeline from file events to deliveries, with write-to-send latency, in Prometheus text and in JSON', async () => {
    // No latency can be longer than the test has run; file times come from the kernel's coarse
    // clock, which may be a tick behind Date.now(), hence the margin.
    const started = Date.now() - 100;
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const bridge = await startTestBridge([dir]);
    const ws = await WsClient.connect(bridge.url);
    ws.subscribe(['*']);
    const sse = await SseClient.connect(bridge.url, 'symbols=*');
    await waitFor('snapshots', () => ws.mirror.snapshots === 3 && sse.mirror.snapshots === 3);
    for (let round = 0; round < 4; round++) {
      const seq = bridge.store.get('XAUUSD')?.seq ?? 0;
      await files.step();
      await waitFor('the round', () => (bridge.store.get('XAUUSD')?.seq ?? 0) > seq);
    }
    await appendFile(files.mt5.path, Buffer.from('2026.11.20\tnot a time\t1\t2\t\t\t6\r\n', 'utf16le'));
    await waitFor('patches to both clients', () => ws.mirror.patches >= 8 && sse.mirror.patches >= 8);

    const text = await waitFor('the parse error to be counted', async () => {
      const body = await (await fetch(`${bridge.url}/metrics`)).text();
      return (series(body, 'tapebridge_parse_errors_total', `source="${dir}"`) ?? 0) > 0 ? body : undefined;
    });
    const source = `source="${dir}"`;
    expect(series(text, 'tapebridge_file_events_total', `${source},event="change"`)).toBeGreaterThan(0);
    expect(series(text, 'tapebridge_file_events_total', `${source},event="add"`)).toBe(3);
    expect(series(text, 'tapebridge_reads_total', `${source},outcome="changed"`)).toBeGreaterThan(3);
    expect(series(text, 'tapebridge_read_bytes_total', source)).toBeGreaterThan(1000);
    expect(series(text, 'tapebridge_patches_total')).toBeGreaterThanOrEqual(8);
    expect(series(text, 'tapebridge_patch_bytes_total')).toBeGreaterThan(100);
    expect(series(text, 'tapebridge_deliveries_total', 'transport="ws"')).toBeGreaterThanOrEqual(ws.mirror.patches);
    expect(series(text, 'tapebridge_deliveries_total', 'transport="sse"')).toBeGreaterThanOrEqual(sse.mirror.patches);
    expect(series(text, 'tapebridge_write_to_send_seconds_count')).toBeGreaterThan(0);
    expect(series(text, 'tapebridge_read_to_send_seconds_count')).toBeGreaterThan(0);
    expect(series(text, 'tapebridge_write_to_send_seconds_bucket', 'le="+Inf"')).toBe(series(text, 'tapebridge_write_to_send_seconds_count'));
    expect(series(text, 'tapebridge_clients', 'transport="ws"')).toBe(1);
    expect(series(text, 'tapebridge_clients', 'transport="sse"')).toBe(1);
    expect(series(text, 'tapebridge_slow_consumer_actions_total', 'action="paused"')).toBe(0);
    expect(series(text, 'tapebridge_journal_entries')).toBeGreaterThanOrEqual(8);
    expect(series(text, 'tapebridge_journal_bytes')).toBeGreaterThan(0);
    expect(series(text, 'tapebridge_snapshot_cache_hits_total')).toBeGreaterThan(0);
    expect(series(text, 'tapebridge_snapshot_cache_misses_total')).toBeGreaterThan(0);
    expect(series(text, 'tapebridge_breakers', `${source},state="CLOSED"`)).toBe(3);
    expect(series(text, 'tapebridge_breakers', `${source},state="OPEN"`)).toBe(0);
    expect(series(text, 'tapebridge_health_status')).toBe(0);
    expect(series(text, 'tapebridge_symbols')).toBe(3);
    expect(series(text, 'tapebridge_nodejs_eventloop_lag_p99_seconds')).toBeLessThanOrEqual((Date.now() - started) / 1000);
    // In bytes: a Node process with a server holds more than 16 MiB and less than the machine.
    expect(series(text, 'tapebridge_process_resident_memory_bytes')).toBeGreaterThan(16 << 20);
    expect(series(text, 'tapebridge_process_resident_memory_bytes')).toBeLessThan(totalmem());

    const { body: stats } = await getJson<Stats>(`${bridge.url}/v1/stats`);
    expect(stats.hub.clients).toEqual({ ws: 1, sse: 1 });
    expect(stats.hub.deliveries.ws).toBe(series(text, 'tapebridge_deliveries_total', 'transport="ws"'));
    const elapsedMs = Date.now() - started;
    for (const [latency, histogram] of [
      [stats.latency.writeToSendMs, 'tapebridge_write_to_send_seconds_count'],
      [stats.latency.readToSendMs, 'tapebridge_read_to_send_seconds_count'],
    ] as const) {
      // Fewer samples than the window holds: the JSON summary counts what the histogram counts.
      expect(latency?.count).toBe(series(text, histogram));
      const { p50, p95, p99, max } = latency as LatencySummary;
      expect([p50 <= p95, p95 <= p99, p99 <= max]).toEqual([true, true, true]);
      expect(max).toBeLessThanOrEqual(elapsedMs);
    }
    expect(stats.sources.folders[0]).toMatchObject({ path: dir, breakers: { CLOSED: 3, OPEN: 0, HALF_OPEN: 0 } });
    expect(stats.sources.folders[0]?.files).toHaveLength(3);
    expect(stats.sources.folders[0]?.problems).toBeGreaterThan(0);
    expect(stats.state.patches).toBe(series(text, 'tapebridge_patches_total'));
    expect(stats.state.journal.entries).toBe(series(text, 'tapebridge_journal_entries'));
    expect(stats.state.snapshotCache.hitRate).toBeGreaterThan(0);
    expect(stats.memory.rssBytes).toBeGreaterThan(16 << 20);
    expect(stats.memory.rssBytes).toBeLessThan(totalmem());
    expect(stats.eventLoop.p99Ms).toBeLessThanOrEqual(stats.eventLoop.maxMs);
    expect(stats.eventLoop.maxMs).toBeLessThanOrEqual(Date.now() - started);
    sse.close();
    await ws.close();
  });
});
