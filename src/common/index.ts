// Shared building blocks every domain may use: the one error type, logging, the clock,
// Go-style durations. Nothing here knows about NATS, LMDB or HTTP.
export { TrellisError, isTrellisError, errorMessage, type TrellisErrorCode } from './errors.js';
export { createLogger, silentLogger, REDACT_PATHS, type Logger, type LoggerConfig } from './logger.js';
export { systemClock, type Clock } from './clock.js';
export { parseDuration, formatDuration } from './duration.js';
export { packageRoot } from './package-root.js';
