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

/**
 * Every code of an error raised inside the bridge or by the SDK, with what it means. These are not
 * sent by the bridge (PROTOCOL.md's codes above are); they name a failure in logs (`err.code`) and,
 * for the SDK's, in its `error` event. Codes are never reused for another meaning.
 */
export const RAISED_ERROR_CODES = {
  CONFIG_INVALID: 'a config layer, file, flag or live change is refused: a key, value or combination is not allowed',
  CONFIG_UNREADABLE: 'the config file cannot be read, or is not a JSON object',
  TOKENS_INVALID: 'the tokens (auth.tokens with auth.tokensFile) are refused: unreadable file, bad entry or a name used twice',
  EXPOSURE_REFUSED: 'the bridge would listen beyond loopback without tokens, and auth.insecureNoAuth is off',
  FILE_REFUSED: 'a watched path is not read: a special file, a link out of the folder, or a second name of a file already read',
  FORMAT_BAD_MAGIC: 'a binary file does not start with its format magic',
  FORMAT_BAD_HEADER: 'a file header is out of range (header or record size)',
  FORMAT_MISSING_COLUMNS: 'a text header lacks the columns the format needs (or a column the source maps)',
  FORMAT_NOT_TEXT: 'a file read as a text export has no line end in its first 4 KiB',
  FORMAT_TIMEFRAME: 'a file name states bars coarser than every timeframe the document keeps',
  FORMAT_TOO_LARGE: 'a whole-file source (JSON snapshot, depth) is larger than watch.maxWholeBytes',
  FORMAT_TRUNCATED: 'a whole file stays incomplete (a writer left it cut off) over several reads',
  FORMAT_UNDECODABLE: 'a whole file could not be decoded at all; its last good state is kept',
  FORMAT_UNKNOWN: 'a source names a format the bridge does not know',
  STATE_UNREADABLE: 'the saved state (journal.persistDir) cannot be read or is not JSON',
  STATE_FOREIGN: 'the saved state is of another format version or epoch',
  STATE_INCONSISTENT: 'the saved state does not check out: a missing field, a gap in a journal, a file that is not the manifest says',
  BAD_MESSAGE: 'SDK: a message from the bridge is malformed (not JSON, wrong shape, binary frame)',
  PATCH_FAILED: 'SDK: a patch does not apply to the document the client holds; it takes a snapshot',
  BRIDGE_UNREACHABLE: 'SDK: a poll request failed, timed out or was answered with an unexpected status',
  CLIENT_CLOSED: 'SDK: the client was closed: it takes no new subscriptions',
  INVALID_ARGUMENT: 'SDK: an option or argument is not valid (a TypeError or RangeError that carries this code)',
} as const satisfies Record<string, string>;

export type RaisedErrorCode = keyof typeof RAISED_ERROR_CODES;

/** Any code of the registry: one a client can see, or one raised inside. */
export type TapeErrorCode = ErrorCode | RaisedErrorCode;

/** The one base of the errors the bridge and the SDK raise: a stable `code`, and the error it wraps as `cause`. */
export class TapeError extends Error {
  constructor(
    readonly code: TapeErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TapeError';
  }
}

/** A wrong option or argument: the TypeError or RangeError JavaScript has for it, carrying its code as Node's own do. */
export function invalidArgument(
  Kind: TypeErrorConstructor | RangeErrorConstructor,
  message: string,
  options?: ErrorOptions,
): (TypeError | RangeError) & { readonly code: 'INVALID_ARGUMENT' } {
  return Object.assign(new Kind(message, options), { code: 'INVALID_ARGUMENT' as const });
}

/** An error meant for a client: its code and a message that says what was wrong. */
export class ClientError extends TapeError {
  declare readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
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
