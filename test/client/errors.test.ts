import { describe, expect, it } from 'vitest';
import { connect, TapeError, WireError } from '../../src/client/index.js';
import { parseWireMessage, readPatchList } from '../../src/client/wire.js';

describe('the SDK errors carry their code', () => {
  it('a message that is not JSON is a WireError (BAD_MESSAGE) with the parser error as its cause', () => {
    const error = parseWireMessage('{"type": "patch",');
    expect(error).toBeInstanceOf(WireError);
    expect(error).toBeInstanceOf(TapeError);
    expect(error).toMatchObject({ name: 'WireError', code: 'BAD_MESSAGE' });
    expect((error as WireError).cause).toBeInstanceOf(SyntaxError);
    expect(readPatchList({ symbol: 'A' })).toMatchObject({ code: 'BAD_MESSAGE', message: expect.stringMatching(/patches response/) });
  });

  it('subscribe() after close() is CLIENT_CLOSED; a bad option or symbol is a TypeError or RangeError with code INVALID_ARGUMENT', async () => {
    const client = connect('http://127.0.0.1:1', { transports: ['poll'] });
    await client.close();
    expect(() => client.subscribe('A')).toThrow(expect.objectContaining({ name: 'TapeError', code: 'CLIENT_CLOSED' }));
    expect(() => connect('http://127.0.0.1:1', { transports: [] })).toThrow(TypeError);
    expect(() => connect('http://127.0.0.1:1', { transports: [] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => connect('http://127.0.0.1:1', { pingIntervalMs: 0 })).toThrow(RangeError);
    expect(() => connect('http://127.0.0.1:1', { pingIntervalMs: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const url = (() => {
      try {
        connect('not a url');
      } catch (error) {
        return error as TypeError & { code: string };
      }
      return null;
    })();
    expect(url).toMatchObject({ code: 'INVALID_ARGUMENT', cause: expect.any(TypeError) });
    const open = connect('http://127.0.0.1:1', { transports: ['poll'] });
    expect(() => open.subscribe(['A,B'])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/U\+002C/) }));
    await open.close();
  });
});
