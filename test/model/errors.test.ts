import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ClientError, ERROR_CODES, RAISED_ERROR_CODES, TapeError } from '../../src/model/errors.js';

describe('the error code registry', () => {
  it('holds every wire code PROTOCOL.md names, and no raised code takes the name of one', async () => {
    const protocol = await readFile(new URL('../../../shared/PROTOCOL.md', import.meta.url), 'utf8');
    const listed = /Error codes: ([^.]+)\./.exec(protocol)?.[1];
    expect(listed).toBeDefined();
    const named = [...listed!.matchAll(/`([A-Z_]+)`/g)].map(([, code]) => code);
    expect(named.length).toBeGreaterThan(3);
    for (const code of named) expect(ERROR_CODES, code).toHaveProperty(code!);
    const wire = new Set(Object.keys(ERROR_CODES));
    expect(Object.keys(RAISED_ERROR_CODES).filter((code) => wire.has(code))).toEqual([]);
    for (const [code, meaning] of Object.entries(RAISED_ERROR_CODES)) expect(meaning.length, code).toBeGreaterThan(20);
  });

  it('ClientError is a TapeError with its code, its HTTP status and a cause when it wraps one', () => {
    const cause = new Error('disk full');
    const error = new ClientError('INTERNAL', 'the change could not be applied', { cause });
    expect(error).toBeInstanceOf(TapeError);
    expect(error).toMatchObject({ name: 'ClientError', code: 'INTERNAL', status: 500, cause });
  });
});
