import type { FastifyInstance, FastifyReply } from 'fastify';
import { TrellisError, parseDuration } from '../common/index.js';

/** Consul's defaults: a blocking query waits 5 minutes unless told otherwise, never more than 10. */
export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

export interface BlockingParams {
  /** The index the client saw; 0 or absent means "answer now". */
  readonly index: number;
  readonly waitMs: number;
}

/** Reads `?index=` and `?wait=` with Consul's error texts. */
export function parseBlockingParams(query: Readonly<Record<string, unknown>>): BlockingParams {
  const rawIndex = query.index;
  const rawWait = query.wait;
  let index = 0;
  if (typeof rawIndex === 'string' && rawIndex !== '') {
    if (!/^\d+$/.test(rawIndex)) throw new TrellisError('E_VALIDATION', 'Invalid index');
    index = Number(rawIndex);
  }
  let waitMs = DEFAULT_WAIT_MS;
  if (typeof rawWait === 'string' && rawWait !== '') {
    try {
      waitMs = parseDuration(rawWait);
    } catch {
      throw new TrellisError('E_VALIDATION', 'Invalid wait time');
    }
  }
  waitMs = Math.min(waitMs, MAX_WAIT_MS);
  // Consul adds up to wait/16 of jitter so that many watchers do not return at once.
  if (index > 0) waitMs += Math.floor(Math.random() * (waitMs / 16));
  return { index, waitMs };
}

/**
 * Sets Consul's query meta headers; the index is never 0. Set on the raw response so they go out
 * spelled as Consul spells them (fastify lowercases names): scripts grep for `X-Consul-Index`.
 */
export function setQueryMeta(reply: FastifyReply, index: number, lastContactMs = 0): void {
  reply.raw.setHeader('X-Consul-Index', String(Math.max(index, 1)));
  reply.raw.setHeader('X-Consul-KnownLeader', 'true');
  reply.raw.setHeader('X-Consul-LastContact', String(lastContactMs));
}

const shutdownSignals = new WeakMap<object, AbortSignal>();

/**
 * Blocking queries in flight return at once when the server closes (fastify's preClose), instead
 * of holding the shutdown up for the rest of their wait: requests forwarded from other
 * datacenters come in through inject() and no socket close would end them.
 */
export function releaseBlockingOnClose(app: FastifyInstance): void {
  const controller = new AbortController();
  shutdownSignals.set(app, controller.signal);
  app.addHook('preClose', (done) => {
    controller.abort();
    done();
  });
}

/** Aborts when the client goes away (so its waiter is released at once) or the server closes. */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  // The response's 'close' before it was sent means the client disconnected.
  reply.raw.once('close', () => controller.abort());
  const shutdown = shutdownSignals.get(reply.server);
  return shutdown ? AbortSignal.any([controller.signal, shutdown]) : controller.signal;
}
