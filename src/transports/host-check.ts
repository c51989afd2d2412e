import { isIP } from 'node:net';
import { TapeError } from '../model/errors.js';

/** Names that always mean this machine's loopback. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

/** Whether `host` (a config host: address or name) is a loopback interface. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** Whether `host` binds every interface. */
function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** The name part of a Host header (`[::1]:8080` → `::1`, `Example.com.:80` → `example.com`); null when malformed. */
function hostName(header: string): string | null {
  const value = header.trim().toLowerCase();
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed) return bracketed[1] ?? null;
  const plain = /^([a-z0-9.-]+)(?::\d{1,5})?$/.exec(value);
  return plain?.[1]?.replace(/\.$/, '') ?? null;
}

/**
 * The Host check against DNS rebinding: a page on a hostile name that resolves to this
 * machine sends that name as Host, so only names the bridge is known by are served. Taken:
 * the bound address, the loopback names, the configured names (http.allowedHosts, `*` for
 * any); bound to every interface (0.0.0.0, ::), any IP literal too (the machine's addresses
 * change, and an IP literal cannot be rebound). A request without Host (HTTP/1.0, no
 * browser sends one) is taken: rebinding needs a browser.
 */
export function hostAllowed(header: string | undefined, boundHost: string, allowedHosts: readonly string[]): boolean {
  if (header === undefined) return true;
  if (allowedHosts.includes('*')) return true;
  const name = hostName(header);
  if (name === null) return false;
  if (LOOPBACK_NAMES.includes(name) || name === boundHost.replace(/^\[|\]$/g, '').toLowerCase()) return true;
  if (isWildcard(boundHost) && isIP(name) !== 0) return true;
  return allowedHosts.some((allowed) => allowed.toLowerCase().replace(/\.$/, '') === name);
}

export function hostRefusal(header: string | undefined): string {
  return `host ${JSON.stringify(header ?? '')} is not a name this bridge is reached by; add it to http.allowedHosts`;
}

/** A start refused because the bridge would be open to the network without tokens. */
export class ExposureError extends TapeError {
  constructor(message: string) {
    super('EXPOSURE_REFUSED', message);
    this.name = 'ExposureError';
  }
}

/**
 * Beyond loopback, the whole API (PATCH /v1/config included) would be open to anyone who
 * reaches the address: a start there needs tokens, or auth.insecureNoAuth said out loud.
 */
export function exposureProblem(host: string, auth: { tokens: readonly unknown[]; tokensFile: string | null; insecureNoAuth: boolean }): string | null {
  if (isLoopback(host) || auth.tokens.length > 0 || auth.tokensFile !== null || auth.insecureNoAuth) return null;
  return `refusing to listen on ${host} without tokens: anyone who reaches it could read everything and change the config; set auth.tokens or auth.tokensFile, listen on 127.0.0.1, or pass --insecure-no-auth (auth.insecureNoAuth) to accept that`;
}
