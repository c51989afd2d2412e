import { afterEach, describe, expect, it } from 'vitest';
import { Tally } from '../../src/core/tally.js';
import { Notifier, type HealthNotification, type NotifyOptions } from '../../src/app/notifier.js';
import { LogCapture } from '../helpers/bridge.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook.js';

const notifiers: Notifier[] = [];
afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((notifier) => notifier.close()));
});

function notifier(options: Partial<NotifyOptions>, logs = new LogCapture('debug')) {
  const counters = { sent: new Tally(), failed: new Tally(), dropped: new Tally() };
  const created = new Notifier(
    { logger: logs.logger, counters, identity: () => ({ name: 'tapebridge', epoch: 'e1' }) },
    { webhookUrl: null, webhookHeaders: {}, timeoutMs: 1000, retries: 3, retryBaseMs: 10, queueSize: 100, ...options },
  );
  notifiers.push(created);
  return { notifier: created, counters, logs };
}

const change = (to: HealthNotification['to']): HealthNotification => ({ type: 'health', from: 'HEALTHY', to, problems: {} });

describe('Notifier', () => {
  it('logs at the level given and POSTs the JSON with the bridge identity and the headers configured', async () => {
    const hook = await WebhookReceiver.start();
    const { notifier: n, counters, logs } = notifier({ webhookUrl: hook.url, webhookHeaders: { authorization: 'Bearer hook-secret' } });
    n.notify('warn', 'health HEALTHY -> DEGRADED', change('DEGRADED'));
    await waitFor('the webhook', () => counters.sent.value === 1);
    expect(hook.requests[0]?.body).toMatchObject({ type: 'health', from: 'HEALTHY', to: 'DEGRADED', bridge: { name: 'tapebridge', epoch: 'e1' } });
    expect((hook.requests[0]?.body as { time: string }).time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(hook.requests[0]?.headers.authorization).toBe('Bearer hook-secret');
    expect(hook.requests[0]?.headers['content-type']).toBe('application/json');
    expect(logs.find((line) => line.msg === 'health HEALTHY -> DEGRADED')).toMatchObject({ level: 40, notification: { to: 'DEGRADED' } });
  });

  it('retries a 5xx answer and a request with no answer in time, with backoff, then delivers', async () => {
    const hook = await WebhookReceiver.start();
    hook.respond = (_body, index) => (index === 0 ? 503 : index === 1 ? 'hang' : 200);
    const { notifier: n, counters } = notifier({ webhookUrl: hook.url, timeoutMs: 100 });
    n.notify('error', 'x', change('UNHEALTHY'));
    await waitFor('delivery after two failed attempts', () => counters.sent.value === 1);
    expect(hook.requests.map((request) => request.status)).toEqual([503, 'hang', 200]);
    expect(counters.failed.value).toBe(0);
  });

  it('gives up after the retries (counted, logged), and does not retry a 4xx', async () => {
    const hook = await WebhookReceiver.start();
    hook.respond = () => 500;
    const { notifier: n, counters, logs } = notifier({ webhookUrl: hook.url, retries: 2 });
    n.notify('error', 'x', change('UNHEALTHY'));
    await waitFor('the failure', () => counters.failed.value === 1);
    expect(hook.requests).toHaveLength(3);
    expect(logs.find((line) => line.msg === 'webhook notification not delivered')).toMatchObject({
      problem: 'answered 500',
      webhook: `${new URL(hook.url).origin}/[redacted]`,
    });

    hook.respond = () => 404;
    n.notify('error', 'y', change('DEGRADED'));
    await waitFor('the second failure', () => counters.failed.value === 2);
    expect(hook.requests).toHaveLength(4);
  });

  it('never blocks: sends in order, and drops the oldest (counted) when the queue is full', async () => {
    const hook = await WebhookReceiver.start();
    const { notifier: n, counters } = notifier({ webhookUrl: hook.url, queueSize: 2 });
    // The first goes out at once; the next four queue behind it, and two fit.
    for (const to of ['DEGRADED', 'UNHEALTHY', 'HEALTHY', 'DEGRADED', 'UNHEALTHY'] as const) n.notify('info', to, change(to));
    expect(n.pending).toBe(3);
    expect(counters.dropped.value).toBe(2);
    await waitFor('the queue to drain', () => n.pending === 0);
    expect(hook.accepted.map((body) => (body as HealthNotification).to)).toEqual(['DEGRADED', 'DEGRADED', 'UNHEALTHY']);
  });

  it('close() aborts a request in flight and sends nothing more', async () => {
    const hook = await WebhookReceiver.start();
    hook.respond = () => 'hang';
    const { notifier: n, counters } = notifier({ webhookUrl: hook.url, timeoutMs: 60_000 });
    n.notify('info', 'x', change('DEGRADED'));
    n.notify('info', 'y', change('HEALTHY'));
    await waitFor('the request', () => hook.requests.length === 1);
    await n.close();
    n.notify('info', 'z', change('DEGRADED'));
    expect(n.pending).toBe(0);
    expect(hook.requests).toHaveLength(1);
    expect(counters.failed.value).toBe(0);
  });

  it('only logs when no webhook is configured', () => {
    const { notifier: n, logs } = notifier({});
    n.notify('info', 'health DEGRADED -> HEALTHY', change('HEALTHY'));
    expect(n.pending).toBe(0);
    expect(logs.find((line) => line.msg === 'health DEGRADED -> HEALTHY')).toMatchObject({ level: 30 });
  });
});
