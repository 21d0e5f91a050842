import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isTrellisError, type Logger, type TrellisErrorCode } from '../common/index.js';

/** The one place TrellisError codes become HTTP statuses. Consul answers errors as plain text. */
export const HTTP_STATUS: Readonly<Record<TrellisErrorCode, number>> = {
  E_VALIDATION: 400,
  E_NOT_FOUND: 404,
  E_CONFLICT: 409,
  E_PERMISSION: 403,
  E_ACL_DISABLED: 401,
  E_RATE_LIMITED: 429,
  E_PRIMARY_UNREACHABLE: 503,
  E_DATACENTER_UNREACHABLE: 503,
  E_UNKNOWN_DATACENTER: 500,
  E_UNAVAILABLE: 503,
  E_HALTED: 503,
  E_TIMEOUT: 504,
  E_CONFIG: 500,
  E_STREAM_INCOMPATIBLE: 500,
  E_DECODE: 500,
  E_SCHEMA: 500,
  E_SNAPSHOT: 500,
  E_INTERNAL: 500,
};

export function httpStatusOf(code: TrellisErrorCode): number {
  return HTTP_STATUS[code];
}

/** fastify's error handler: TrellisErrors by code, fastify's own (body too large, bad JSON) by status, text bodies. */
export function createErrorHandler(logger: Logger, bodyLimitBytes: number) {
  return function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
    let status: number;
    let message: string;
    if (isTrellisError(error)) {
      status = httpStatusOf(error.code);
      message = error.message;
    } else {
      const fe = error as FastifyError;
      status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 ? fe.statusCode : 500;
      message = error.message;
      // Bad input is a 400 with a clear message, oversize bodies included (the contract).
      if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        status = 400;
        message = `Request body too large: the limit is ${bodyLimitBytes} bytes`;
      }
    }
    if (status >= 500) logger.error({ err: error, url: request.url, method: request.method }, 'request failed');
    void reply.code(status).type('text/plain; charset=utf-8').send(message);
  };
}
