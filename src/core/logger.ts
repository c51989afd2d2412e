import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

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

/** JSON lines, or lines for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/**
 * The bridge's logger: JSON lines on stdout (or `destination`), one child per component.
 * `pretty`: one line per event, time, level, component, message, and the file and offset a
 * problem was found at; the other fields follow, indented (pino-pretty, in the process).
 */
export function createLogger(level: LogLevel, destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  const out =
    format === 'pretty'
      ? pretty({
          destination: destination ?? 1,
          colorize: destination === undefined && process.stdout.isTTY,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,service,component,file,offset',
          messageFormat: '{if component}{component}: {end}{msg}{if file} — {file}{end}{if offset} at byte {offset}{end}',
          sync: destination !== undefined,
        })
      : (destination ?? pino.destination({ sync: false }));
  return pino({ level, base: { service: 'tapebridge' }, redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } }, out);
}
