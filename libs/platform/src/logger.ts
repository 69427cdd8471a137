import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths whose values never reach a log line: credentials in headers, bodies and config.
 * INVARIANT: every logger in Argus is built by `createLogger`, so this list applies everywhere.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-argus-delegation-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  '*.apiKey',
  '*.api_key',
  '*.password',
  '*.secret',
  '*.token',
  '*.adminToken',
  '*.credential',
  '*.value',
];

/** Options for the process logger. */
export interface LoggerConfig {
  level?: string;
  name?: string;
  /** Pretty output is never used; a destination stream can be passed for tests. */
  destination?: NodeJS.WritableStream;
}

/** Builds the structured JSON logger with secret redaction configured once. */
export function createLogger(config: LoggerConfig = {}): Logger {
  const options: LoggerOptions = {
    level: config.level ?? process.env.ARGUS_LOG_LEVEL ?? 'info',
    name: config.name ?? 'argus',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return config.destination ? pino(options, config.destination as DestinationStream) : pino(options);
}

/** A logger that writes nothing, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export type { Logger };
