import { readFile } from 'node:fs/promises';
import { Value } from '@sinclair/typebox/value';
import { TokenTable } from '../transports/auth.js';
import { ConfigError, jsonErrorPlace, redactedValue, TokenSchema, type Config, type TokenConfig } from './config.js';

const TOKENS = { code: 'TOKENS_INVALID' } as const;

/** The table of `auth`'s tokens and its tokens file's; throws ConfigError naming what is wrong. */
export async function loadTokens(auth: Config['auth']): Promise<TokenTable> {
  const tokens: TokenConfig[] = [...auth.tokens];
  if (auth.tokensFile !== null) tokens.push(...(await readTokensFile(auth.tokensFile)));
  const names = tokens.map((token) => token.name);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) throw new ConfigError([`auth: the token name ${JSON.stringify(twice)} is used twice (config and tokens file together)`], TOKENS);
  return TokenTable.of(tokens);
}

/**
 * A JSON array of tokens given by their hashes (`{"name", "sha256", "symbols"?, "admin"?}`),
 * so that the secrets themselves are stored nowhere on the bridge's machine.
 */
async function readTokensFile(path: string): Promise<TokenConfig[]> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // The parser's message quotes the text around the fault: a secret, in a tokens file; only an I/O error is kept as the cause.
    throw new ConfigError([`auth.tokensFile: cannot read ${path} as JSON: ${code ?? `not valid JSON${jsonErrorPlace(error)}`}`], {
      ...TOKENS,
      ...(code === undefined ? {} : { cause: error }),
    });
  }
  if (!Array.isArray(value)) throw new ConfigError([`auth.tokensFile: ${path} must hold a JSON array of tokens`], TOKENS);
  const problems: string[] = [];
  value.forEach((entry: unknown, index) => {
    for (const error of Value.Errors(TokenSchema, entry)) {
      problems.push(
        `${path}[${index}]${error.path.replace(/\//g, '.')}: ${JSON.stringify(redactedValue(`/tokens/${index}${error.path}`, error.value))} is not allowed (${error.message})`,
      );
    }
    const token = entry as Partial<TokenConfig>;
    if (token.sha256 === undefined || token.token !== undefined) problems.push(`${path}[${index}]: give sha256 (the hex SHA-256 of the token), not the token`);
  });
  if (problems.length > 0) throw new ConfigError(problems, TOKENS);
  return value as TokenConfig[];
}
