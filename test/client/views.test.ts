import { afterEach, describe, expect, it } from 'vitest';
import { parseView, restrictDocument, type View } from '../../src/model/view.js';
import { startTestBridge } from '../helpers/bridge.js';
import { ClientRecorder, closeClients, filesAndBridge, testClient } from '../helpers/sdk.js';
import { TerminalFiles } from '../helpers/terminal-files.js';
import { sleep, waitFor } from '../helpers/wait.js';

afterEach(closeClients);

function restricted(bridge: Awaited<ReturnType<typeof startTestBridge>>, symbol: string, parts: readonly string[]): unknown {
  return JSON.parse(JSON.stringify(restrictDocument(JSON.parse(bridge.store.get(symbol)?.documentJson() ?? '{}') as object, parseView(parts) as View)));
}

const PARTS = ['/quote/bid', '/fields'];

describe('the client SDK with views (PROTOCOL.md §8)', () => {
  for (const kind of ['ws', 'sse', 'poll'] as const) {
    it(`over ${kind}: its documents hold the view, patches applied on their base`, async () => {
      const { files, bridge } = await filesAndBridge();
      const client = testClient(bridge.url, { transports: [kind] });
      const recorder = new ClientRecorder(client);
      client.subscribe(['*'], undefined, { parts: PARTS });
      await waitFor('the first snapshots', () => recorder.of('snapshot').length === 3);
      for (let round = 0; round < 8; round++) {
        await files.step();
        await sleep(10);
      }
      await waitFor(`${kind}: the views to converge`, () =>
        TerminalFiles.symbols.every((symbol) => JSON.stringify(client.get(symbol)) === JSON.stringify(restricted(bridge, symbol, PARTS))),
      );
      for (const symbol of TerminalFiles.symbols) expect(Object.keys(client.get(symbol) ?? {}).sort()).toEqual(['fields', 'quote', 'sources', 'symbol']);
      expect(recorder.of('gap')).toEqual([]);
      expect(recorder.of('resync')).toEqual([]);
      expect(recorder.of('error')).toEqual([]);
      expect(recorder.of('patch').length).toBeGreaterThan(0);
    });
  }

  it('takes one list of parts per client; bad parts are refused before anything is sent', async () => {
    const { bridge } = await filesAndBridge();
    const client = testClient(bridge.url);
    expect(() => client.subscribe('XAUUSD', undefined, { parts: ['/nope'] })).toThrow(/part "\/nope" is not a path of the document/);
    const end = client.subscribe('XAUUSD', undefined, { parts: ['/quote'] });
    expect(() => client.subscribe('EURUSD')).toThrow(/one list per client/);
    expect(() => client.subscribe('EURUSD', undefined, { parts: ['/book'] })).toThrow(/one list per client/);
    client.subscribe('EURUSD', undefined, { parts: ['/quote', '/quote/bid'] }); // the same view
    await waitFor('two views', () => client.get('XAUUSD') && client.get('EURUSD'));
    expect(Object.keys(client.get('EURUSD') ?? {}).sort()).toEqual(['quote', 'sources', 'symbol']);
    end();
    client.unsubscribe('EURUSD');
    // Nothing subscribed: the next subscription may follow whole documents again.
    client.subscribe('XAUUSD');
    await waitFor('the whole document', () => client.get('XAUUSD')?.bars !== undefined);
  });
});
