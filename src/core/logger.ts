import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };
export type LogLevel = LevelWithSilent;
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Secrets no log line carries, wherever a component logs an object that holds them. */
const REDACTED_LOG_PATHS = [
  'token',
  'sha256',
  '*.token',
  '*.sha256',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.cookie',
  'webhookHeaders.*',
  '*.webhookHeaders.*',
  'tokens[*].token',
  'tokens[*].sha256',
  '*.tokens[*].token',
  '*.tokens[*].sha256',
];

/** The bridge's logger: JSON lines on stdout (or `destination`), one child per component. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    { level, base: { service: 'tapebridge' }, redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } },
    destination ?? pino.destination({ sync: false }),
  );
}
