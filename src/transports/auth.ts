import { createHash, timingSafeEqual } from 'node:crypto';
import type { SymbolFilter } from '../hub/subscriber.js';

/** A token as configured (validated where the config is read): its secret or the secret's hash. */
export interface TokenSpec {
  readonly name: string;
  readonly token?: string;
  /** Hex SHA-256 of the secret. */
  readonly sha256?: string;
  readonly symbols?: readonly string[];
  readonly admin?: boolean;
}

export interface AuthOptions {
  /** /health answers without a token (status and counts only). */
  readonly openHealth: boolean;
}

/** Who a request or connection acts for. */
export interface Principal {
  /** The token's name ("anonymous" when tokens are off). */
  name: string;
  /** May read /metrics, /v1/stats, /v1/config and change the config. */
  admin: boolean;
  /** The symbols it may see; null: all. */
  symbols: SymbolPatterns | null;
}

/** Everything is allowed: tokens are off. */
export const ANONYMOUS: Principal = Object.freeze({ name: 'anonymous', admin: true, symbols: null });

export type Authentication = { ok: true; principal: Principal } | { ok: false; message: string };

/** Symbols remembered per allow list; a client naming random symbols cannot grow it without bound. */
const MEMO_LIMIT = 10_000;

/**
 * A token's allow list: symbol patterns where `*` matches any run of characters and `?`
 * one character (symbols are names, not paths: no path globbing rules apply).
 */
export class SymbolPatterns implements SymbolFilter {
  readonly #patterns: RegExp[];
  readonly #memo = new Map<string, boolean>();
  readonly all: boolean;

  constructor(readonly patterns: readonly string[]) {
    this.all = patterns.includes('*');
    this.#patterns = patterns.map(
      (pattern) =>
        new RegExp(
          `^${pattern
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '.*')
            .replace(/\?/g, '.')}$`,
          's',
        ),
    );
  }

  allows(symbol: string): boolean {
    if (this.all) return true;
    let allowed = this.#memo.get(symbol);
    if (allowed === undefined) {
      allowed = this.#patterns.some((pattern) => pattern.test(symbol));
      if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
      this.#memo.set(symbol, allowed);
    }
    return allowed;
  }
}

interface TokenEntry {
  hash: Buffer;
  principal: Principal;
}

/**
 * The hash of the secret each token principal was made for: an open connection keeps its
 * Principal, and when the tokens change it is looked up again by the secret it presented.
 */
const secretOf = new WeakMap<Principal, string>();

/** The tokens in force: from the config and the tokens file, ready to check. */
export class TokenTable {
  private constructor(readonly entries: readonly TokenEntry[]) {}

  /** The table of these tokens (their names are unique: the config loader checks). */
  static of(tokens: readonly TokenSpec[]): TokenTable {
    return new TokenTable(
      tokens.map((token) => {
        const hash = token.token !== undefined ? sha256(token.token) : Buffer.from(token.sha256 as string, 'hex');
        const principal: Principal = Object.freeze({
          name: token.name,
          admin: token.admin ?? false,
          symbols: new SymbolPatterns(token.symbols ?? ['*']),
        });
        secretOf.set(principal, hash.toString('hex'));
        return { hash, principal };
      }),
    );
  }

  /** The principal of the token with this secret's hash (hex), if any. */
  find(hashHex: string): Principal | null {
    return this.entries.find((entry) => entry.hash.toString('hex') === hashHex)?.principal ?? null;
  }
}

/** Listens for a change of the tokens in force. */
export type TokenChangeListener = () => void;

/**
 * Bearer tokens (off when none is configured). A presented token is hashed and compared
 * with every configured hash in constant time (crypto.timingSafeEqual), whether or not
 * an earlier one matched, so timing tells nothing about which or how much matched.
 */
export class AuthGate {
  #table: TokenTable;
  #openHealth: boolean;
  readonly #listeners = new Set<TokenChangeListener>();

  constructor(table: TokenTable, auth: AuthOptions) {
    this.#table = table;
    this.#openHealth = auth.openHealth;
  }

  get enabled(): boolean {
    return this.#table.entries.length > 0;
  }

  /** Whether /health answers without a token. */
  get openHealth(): boolean {
    return this.#openHealth || !this.enabled;
  }

  /** Puts new tokens in force; every open stream is then checked again (`onChange`). */
  apply(table: TokenTable, auth: AuthOptions): void {
    this.#table = table;
    this.#openHealth = auth.openHealth;
    for (const listener of this.#listeners) listener();
  }

  /** Calls `listener` after each `apply`; returns a function that stops it. */
  onChange(listener: TokenChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * What a connection authenticated as `principal` may do under the tokens now in force,
   * looked up by the secret it presented: its token's new principal (allow list and admin
   * flag as they are now), or null when that token is gone. Tokens turned off: anonymous;
   * turned on: a connection made without a token is revoked.
   */
  reauthorize(principal: Principal): Principal | null {
    if (!this.enabled) return ANONYMOUS;
    const secret = secretOf.get(principal);
    return secret === undefined ? null : this.#table.find(secret);
  }

  authenticate(presented: string | undefined): Authentication {
    if (!this.enabled) return { ok: true, principal: ANONYMOUS };
    if (presented === undefined || presented === '') {
      return { ok: false, message: 'a bearer token is required: Authorization: Bearer <token> (or ?token= on /v1/ws and /v1/sse)' };
    }
    const hash = sha256(presented);
    let found: Principal | null = null;
    for (const entry of this.#table.entries) {
      if (timingSafeEqual(hash, entry.hash) && found === null) found = entry.principal;
    }
    return found ? { ok: true, principal: found } : { ok: false, message: 'the bearer token is not valid' };
  }
}

/** The token of a request: `Authorization: Bearer <token>`, else `?token=` where `query` is given. */
export function presentedToken(authorization: string | undefined, query?: unknown): string | undefined {
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match ? match[1] : '';
  }
  return typeof query === 'string' ? query : undefined;
}

/**
 * Allows what both allow (null: all), as one flat list of allow lists, so that a stream
 * narrowed again and again keeps one entry per distinct allow list, not per change.
 */
export function bothAllow(current: SymbolFilter | null, next: SymbolPatterns | null): SymbolFilter | null {
  if (next === null || next.all) return current;
  if (current === null) return next;
  const lists = current instanceof AllowedByAll ? current.lists : [current];
  const key = next.patterns.join('\n');
  if (lists.some((list) => list instanceof SymbolPatterns && list.patterns.join('\n') === key)) return current;
  return new AllowedByAll([...lists, next]);
}

class AllowedByAll implements SymbolFilter {
  constructor(readonly lists: readonly SymbolFilter[]) {}

  allows(symbol: string): boolean {
    return this.lists.every((list) => list.allows(symbol));
  }
}

/** Symbols named in a message: the first `limit`, and how many more. */
export function symbolList(symbols: readonly string[], limit = 50): string {
  const named = symbols.slice(0, limit).join(', ');
  return symbols.length > limit ? `${named} and ${symbols.length - limit} more` : named;
}

/** Whether `principal` may see `symbol`. */
export function maySee(principal: Principal, symbol: string): boolean {
  return principal.symbols === null || principal.symbols.allows(symbol);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
