import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../src/app/config.js';
import { ConfigLoader } from '../../src/app/config-loader.js';
import { loadTokens } from '../../src/app/tokens.js';
import { TapeError } from '../../src/model/errors.js';
import { tempDir } from '../helpers/temp.js';

async function rejection(action: Promise<unknown>): Promise<ConfigError> {
  const error: unknown = await action.then(
    () => null,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect(error).toBeInstanceOf(TapeError);
  return error as ConfigError;
}

describe('config errors carry their code', () => {
  it('a missing --config file is CONFIG_UNREADABLE, with the I/O error as its cause', async () => {
    const dir = await tempDir();
    const error = await rejection(new ConfigLoader({ configDir: dir, file: join(dir, 'nope.json') }).load());
    expect(error.code).toBe('CONFIG_UNREADABLE');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('a config file that is not JSON is CONFIG_UNREADABLE, without the parser error (it quotes the text, maybe a secret)', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'default.json'), '{"auth": {"tokens": [{"name": "a", "token": "s3cret-s3cret-s3cret"}]},');
    const error = await rejection(new ConfigLoader({ configDir: dir }).load());
    expect(error.code).toBe('CONFIG_UNREADABLE');
    expect(error.cause).toBeUndefined();
    expect(error.message).not.toContain('s3cret');
  });

  it('a file of a bad value, and a TAPEBRIDGE_ variable naming no key, are CONFIG_INVALID', async () => {
    const dir = await tempDir();
    const file = join(dir, 'mine.json');
    await writeFile(file, JSON.stringify({ port: 'eighty' }));
    const layers = await new ConfigLoader({ configDir: dir, file }).load();
    let thrown: unknown;
    try {
      resolveConfig(...layers);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).code).toBe('CONFIG_INVALID');
    expect((thrown as ConfigError).problems.join()).toMatch(/^port:/);
    const env = await rejection(new ConfigLoader({ configDir: dir, env: { TAPEBRIDGE_NO_SUCH_KEY: '1' } }).load());
    expect(env.code).toBe('CONFIG_INVALID');
  });

  it('a tokens file that cannot be read, or that gives a token in clear, is TOKENS_INVALID', async () => {
    const dir = await tempDir();
    const auth = resolveConfig({ auth: { tokensFile: join(dir, 'absent.json') } }).auth;
    const unreadable = await rejection(loadTokens(auth));
    expect(unreadable.code).toBe('TOKENS_INVALID');
    expect((unreadable.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    const clear = join(dir, 'tokens.json');
    await writeFile(clear, JSON.stringify([{ name: 'desk', token: 'abcdefghijklmnopqrstuvwxyz' }]));
    const refused = await rejection(loadTokens({ ...auth, tokensFile: clear }));
    expect(refused.code).toBe('TOKENS_INVALID');
    expect(refused.problems.join()).toMatch(/give sha256/);
  });
});
