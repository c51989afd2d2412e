/**
 * Every error code the bridge sends (PROTOCOL.md §3, §5), with its HTTP status and, where
 * it ends a WebSocket, its close code. Codes are never reused for another meaning.
 */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400 },
  UNKNOWN_OP: { status: 400 },
  UNAUTHORIZED: { status: 401, close: 4001 },
  FORBIDDEN: { status: 403 },
  NOT_FOUND: { status: 404 },
  /** The patches asked for are no longer held (or belong to another epoch): take a snapshot. */
  GONE: { status: 410 },
  RATE_LIMITED: { status: 429, close: 4029 },
  SLOW_CONSUMER: { status: 503, close: 4008 },
  /** The bridge is at its connection limit (stream.maxConnections): try again later. */
  OVERLOADED: { status: 503, close: 1013 },
  INTERNAL: { status: 500, close: 1011 },
} as const satisfies Record<string, { status: number; close?: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error meant for a client: its code and a message that says what was wrong. */
export class ClientError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ClientError';
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

/** The WebSocket close code for an error that ends a connection (1008, policy violation, by default). */
export function closeCodeOf(code: ErrorCode): number {
  const entry: { status: number; close?: number } = ERROR_CODES[code];
  return entry.close ?? 1008;
}
