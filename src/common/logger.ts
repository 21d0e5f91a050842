import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths pino redacts wherever they appear: keys, tokens and PEM private keys never reach a log. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'secret',
  '*.secret',
  'privateKey',
  '*.privateKey',
  'PrivateKeyPEM',
  '*.PrivateKeyPEM',
  'passphrase',
  '*.passphrase',
  'headers["x-consul-token"]',
  'req.headers["x-consul-token"]',
  'req.headers.authorization',
];

export interface LoggerConfig {
  /** @default 'info' */
  readonly level?: string;
  /** A destination stream; stderr when absent. */
  readonly destination?: NodeJS.WritableStream;
}

/** The one root logger; components receive `logger.child({ component })`. */
export function createLogger(config: LoggerConfig = {}): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return pino(options, config.destination ?? pino.destination(2));
}

/** A logger that writes nothing, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
