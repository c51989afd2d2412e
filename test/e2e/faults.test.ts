import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScidWriter, scidTickRecord } from '../../src/sim/scid-writer.js';
import { LogCapture, startTestBridge } from '../helpers/bridge.js';
import { getJson, WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook.js';

interface Health {
  status: string;
  components: Record<string, { status: string; breakers?: Record<string, number>; failing?: { file: string; state: string; reason: string }[] }>;
}

interface Notice {
  type: string;
  to: string;
  from: string;
  file?: string;
  reason?: string;
}

/** Short timings: three failures open a breaker, which is tried again after 300 ms. */
const fastFaults = (webhookUrl: string) => ({
  breaker: { failureThreshold: 3, coolDownMs: 300, retryBaseMs: 20, retryMaxMs: 40 },
  health: { intervalMs: 100 },
  notify: { webhookUrl, retryBaseMs: 10 },
});

describe('a source that keeps failing', () => {
  it('opens its breaker and health turns DEGRADED while the other symbols keep flowing; the webhook hears each transition', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const broken = join(dir, 'BROKEN.scid');
    await writeFile(broken, 'this is not a Sierra Chart file at all, just some text');
    const hook = await WebhookReceiver.start();
    const logs = new LogCapture('info');
    const bridge = await startTestBridge([dir], fastFaults(hook.url), logs);
    const client = await WsClient.connect(bridge.url);
    client.subscribe(['*']);
    await waitFor('the three good symbols', () => client.mirror.snapshots === 3);

    const degraded = await waitFor('DEGRADED health', async () => {
      const { status, body } = await getJson<Health>(`${bridge.url}/health`);
      return status === 200 && body.status === 'DEGRADED' ? body : undefined;
    });
    const source = degraded.components[`source:${dir}`];
    expect(source?.status).toBe('DEGRADED');
    expect(source?.breakers).toEqual({ CLOSED: 3, HALF_OPEN: 0, OPEN: 1 });
    expect(source?.failing?.[0]).toMatchObject({ file: broken, state: 'OPEN', reason: expect.stringMatching(/magic/) });
    expect(degraded.components.sources?.status).toBe('HEALTHY');

    // The other files go on: every one of their changes reaches the client.
    for (let round = 0; round < 3; round++) await files.step();
    await waitFor('patches of every good symbol', () =>
      ['ESZ25_FUT_CME', 'EURUSD', 'XAUUSD'].every((symbol) => client.of('patch').some((message) => message.symbol === symbol)),
    );
    for (const symbol of ['ESZ25_FUT_CME', 'EURUSD', 'XAUUSD']) {
      await waitFor(`${symbol} in step`, () => client.document(symbol)?.seq === bridge.store.get(symbol)?.seq);
      expect(client.document(symbol)?.data).toEqual(JSON.parse(bridge.store.get(symbol)?.documentJson() ?? 'null'));
    }

    const opened = await waitFor('the OPEN notification', () => (hook.accepted as Notice[]).find((body) => body.type === 'breaker' && body.to === 'OPEN'));
    expect(opened).toMatchObject({
      from: 'CLOSED',
      file: broken,
      source: dir,
      failures: 3,
      reason: expect.stringMatching(/magic/),
      retryAt: expect.any(String),
    });
    await waitFor('the health notification', () => (hook.accepted as Notice[]).find((body) => body.type === 'health' && body.to === 'DEGRADED'));
    expect(logs.find((line) => line.level === 50 && String(line.msg).includes('circuit breaker open'))).toBeDefined();

    // The writer fixes the file: the next trial reads it, the breaker closes, health recovers.
    await new ScidWriter(broken).create([scidTickRecord({ time: Date.UTC(2026, 10, 20, 14), bid: 1, ask: 2, last: 1.5, size: 1, side: 'buy' })]);
    await waitFor('the CLOSED notification', () => (hook.accepted as Notice[]).find((body) => body.type === 'breaker' && body.to === 'CLOSED'), 5000);
    await waitFor('the recovered symbol', () => client.document('BROKEN'));
    await waitFor('HEALTHY again', async () => (await getJson<Health>(`${bridge.url}/health`)).body.status === 'HEALTHY');
    await waitFor('the health recovery notification', () => (hook.accepted as Notice[]).find((body) => body.type === 'health' && body.to === 'HEALTHY'));
    // Half-open trials are logged, not posted.
    expect((hook.accepted as Notice[]).filter((body) => body.type === 'breaker').map((body) => body.to)).toEqual(['OPEN', 'CLOSED']);

    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(metrics).toMatch(/^tapebridge_breaker_transitions_total\{to="OPEN"\} [1-9]/m);
    expect(metrics).toMatch(/^tapebridge_breaker_transitions_total\{to="CLOSED"\} 1$/m);
    expect(metrics).toMatch(new RegExp(`^tapebridge_reads_total\\{source="${dir}",outcome="failed"\\} [3-9]`, 'm'));
    expect(metrics).toMatch(/^tapebridge_notifications_total\{result="sent"\} [4-9]/m);
    await client.close();
  });

  it('is UNHEALTHY (503) when every file it reads has its breaker open', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'A.scid'), 'no header here, and no records either: not a scid file');
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'B.json'), '{"bid": 1, "ask": ');
    const hook = await WebhookReceiver.start();
    const bridge = await startTestBridge([dir], {
      ...fastFaults(hook.url),
      breaker: { failureThreshold: 2, coolDownMs: 60_000, retryBaseMs: 5, retryMaxMs: 10 },
      watch: { retryBaseMs: 2, retryMaxMs: 10 },
    });
    const { status, body } = await waitFor('UNHEALTHY', async () => {
      const response = await getJson<Health>(`${bridge.url}/health`);
      return response.body.status === 'UNHEALTHY' ? response : undefined;
    });
    expect(status).toBe(503);
    expect(body.components.sources).toMatchObject({ status: 'UNHEALTHY', files: 2, open: 2 });
    await waitFor('the UNHEALTHY notification', () => (hook.accepted as Notice[]).find((notice) => notice.type === 'health' && notice.to === 'UNHEALTHY'));
  });
});
