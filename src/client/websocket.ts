import type { WebSocketConstructor } from './options.js';

/** A WebSocket class the client can use, where it came from, and whether it takes `{ headers }`. */
export interface WebSocketChoice {
  readonly WebSocket: WebSocketConstructor;
  /** `ws` (given in the options or loaded here) sends the token as a header; a browser's cannot. */
  readonly headers: boolean;
  /** Why this class: said in the `open` event and the debug line. */
  readonly source: string;
}

let loading: Promise<WebSocketChoice | string> | undefined;

/**
 * Loads the `ws` package on first need (Node 20 has no global WebSocket; `ws` is an optional
 * peer dependency, so a browser bundle never pulls it in). Resolves with the class, or with
 * the reason it is not there. Memoised: the import is tried once.
 */
export function loadWs(): Promise<WebSocketChoice | string> {
  loading ??= import('ws').then(
    (module: { default: unknown }) =>
      typeof module.default === 'function'
        ? { WebSocket: module.default as WebSocketConstructor, headers: true, source: 'the ws package, loaded because there is no global WebSocket' }
        : 'the ws package exports no WebSocket class',
    (error: unknown) => `no global WebSocket and the ws package cannot be loaded (${(error as Error).message})`,
  );
  return loading;
}
