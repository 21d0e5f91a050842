/** The error codes trellis uses; the HTTP mapping lives in src/api/errors.ts. */
export type TrellisErrorCode =
  | 'E_VALIDATION'
  | 'E_NOT_FOUND'
  | 'E_CONFLICT'
  | 'E_PRIMARY_UNREACHABLE'
  | 'E_DATACENTER_UNREACHABLE'
  | 'E_UNKNOWN_DATACENTER'
  | 'E_UNAVAILABLE'
  | 'E_HALTED'
  | 'E_CONFIG'
  | 'E_STREAM_INCOMPATIBLE'
  | 'E_DECODE'
  | 'E_SCHEMA'
  | 'E_SNAPSHOT'
  | 'E_TIMEOUT'
  | 'E_PERMISSION'
  | 'E_ACL_DISABLED'
  | 'E_RATE_LIMITED'
  | 'E_INTERNAL';

export class TrellisError extends Error {
  readonly code: TrellisErrorCode;

  constructor(code: TrellisErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrellisError';
    this.code = code;
  }
}

export function isTrellisError(err: unknown, code?: TrellisErrorCode): err is TrellisError {
  return err instanceof TrellisError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
