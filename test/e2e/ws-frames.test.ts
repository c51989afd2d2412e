import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { startTestBridge } from '../helpers/bridge.js';
import { WsClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/temp.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { sleep, waitFor } from '../helpers/wait.js';

describe('WebSocket client frames', () => {
  it('greets with hello, and answers bad frames with an error code while the connection stays and nothing changes', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const bridge = await startTestBridge([dir], { stream: { maxMessageBytes: 1024 } });
    const client = await WsClient.connect(bridge.url);
    expect(client.hello).toMatchObject({ type: 'hello', epoch: bridge.store.epoch, heartbeatMs: 15000 });
    expect(String(client.hello?.server)).toMatch(/^tapebridge\//);

    const cases: [frame: string | Buffer, code: string][] = [
      ['this is not json', 'BAD_REQUEST'],
      ['[1,2,3]', 'BAD_REQUEST'],
      ['{"symbols":["XAUUSD"]}', 'BAD_REQUEST'],
      ['{"op":"dance"}', 'UNKNOWN_OP'],
      ['{"op":"subscribe","symbols":"XAUUSD"}', 'BAD_REQUEST'],
      ['{"op":"subscribe","symbols":[]}', 'BAD_REQUEST'],
      ['{"op":"subscribe","symbols":[42]}', 'BAD_REQUEST'],
      ['{"op":"subscribe","symbols":["XAUUSD"],"resume":{"XAUUSD":{"epoch":1,"seq":"x"}}}', 'BAD_REQUEST'],
      ['{"op":"unsubscribe"}', 'BAD_REQUEST'],
      ['{"op":"ping","id":{"nested":true}}', 'BAD_REQUEST'],
      [JSON.stringify({ op: 'subscribe', symbols: ['A'.repeat(2000)] }), 'BAD_REQUEST'],
      [Buffer.from([1, 2, 3]), 'BAD_REQUEST'],
    ];
    for (const [frame, code] of cases) {
      const before = client.of('error').length;
      if (Buffer.isBuffer(frame)) client.socket.send(frame, { binary: true });
      else client.send(frame);
      await waitFor(`an error for ${String(frame).slice(0, 40)}`, () => client.of('error').length === before + 1);
      const error = client.of('error')[before];
      expect([String(frame).slice(0, 40), error?.code]).toEqual([String(frame).slice(0, 40), code]);
      expect(String(error?.message).length).toBeGreaterThan(5);
    }

    // Nothing was subscribed by the bad frames: a change produces no patch for this client.
    await files.step();
    await sleep(150);
    expect(client.of('snapshot')).toEqual([]);
    expect(client.of('patch')).toEqual([]);

    client.send({ op: 'ping', id: 7 });
    await waitFor('pong', () => client.of('pong')[0]);
    expect(client.of('pong')[0]).toEqual({ type: 'pong', id: 7 });
    client.subscribe(['XAUUSD']);
    await waitFor('the snapshot after the bad frames', () => client.document('XAUUSD'));
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    await client.close();
  });

  it('closes the connection (1009) on a frame above the hard limit', async () => {
    const dir = await tempDir();
    const bridge = await startTestBridge([dir], { stream: { maxMessageBytes: 1024, maxFrameBytes: 4096 } });
    const client = await WsClient.connect(bridge.url);
    const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
    client.send(JSON.stringify({ op: 'ping', id: 'x'.repeat(10_000) }));
    expect(await closed).toBe(1009);
  });

  it('unsubscribes: no more patches for that symbol', async () => {
    const dir = await tempDir();
    const files = new TerminalFiles(dir);
    await files.create();
    const bridge = await startTestBridge([dir]);
    const client = await WsClient.connect(bridge.url);
    client.subscribe(['XAUUSD', 'EURUSD']);
    await waitFor('snapshots', () => client.mirror.snapshots === 2);
    client.send({ op: 'unsubscribe', symbols: ['XAUUSD'] });
    await sleep(50);
    const seq = bridge.store.get('XAUUSD')?.seq ?? 0;
    await files.step();
    await waitFor('the change to commit', () => (bridge.store.get('XAUUSD')?.seq ?? 0) > seq && client.of('patch').some((m) => m.symbol === 'EURUSD'));
    expect(client.of('patch').filter((message) => message.symbol === 'XAUUSD')).toEqual([]);
    await client.close();
  });

  it('answers an upgrade on another path with 404', async () => {
    const dir = await tempDir();
    const bridge = await startTestBridge([dir]);
    await expect(WsClient.connect(bridge.url, '/v1/elsewhere')).rejects.toThrow(/404/);
  });
});
