import type { FastifyInstance } from 'fastify';
import { TrellisError } from '../../common/index.js';
import type { FeedEvent } from '../../log/index.js';
import { clientGoneSignal, parseBlockingParams, setQueryMeta } from '../blocking.js';
import type { ApiContext } from '../server.js';
import { authzOf } from '../acl.js';

/** What the event feed reads: this datacenter's stream, up to what its view has applied. */
export interface EventsApi {
  read(fromSeq: number, toSeq: number, max: number): Promise<FeedEvent[]>;
}

const DEFAULT_LIMIT = 500;
const MAX_LIMIT = 5000;
const KEEPALIVE_MS = 15_000;

function toJson(e: FeedEvent): Record<string, unknown> {
  return { seq: e.seq, time: e.time, type: e.event.type, by: e.event.by, ...(e.event.origin ? { origin: e.event.origin } : {}), ...(e.event.rid ? { rid: e.event.rid } : {}), data: e.event.data };
}

function positive(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < 1) throw new TrellisError('E_VALIDATION', `Invalid ${name}: a positive integer is expected`);
  return Number(value);
}

/**
 * The event log for subscribers that are not Node: `GET /v1/trellis/events?from=SEQ` (a long poll
 * with Consul's `wait`, answering a JSON array and `X-Consul-Index`), and
 * `GET /v1/trellis/events/stream?from=SEQ` as Server-Sent Events whose `id:` is the sequence, so
 * a reconnecting EventSource resumes with `Last-Event-ID`. Events are served once this
 * datacenter has applied them.
 */
export function registerEventRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const events = ctx.events;
  if (!events) return;
  const applied = ctx.appliedIndex;

  // The log holds every change with who made it: operator:read, like Consul's audit surfaces.
  const operatorRead = (request: Parameters<typeof authzOf>[0]) => authzOf(request, ctx.acl?.resolver).require('operator', 'read');

  app.get('/v1/trellis/events', async (request, reply) => {
    operatorRead(request);
    const query = request.query as Record<string, unknown>;
    const from = positive(query.from, 'from', 1);
    const limit = Math.min(positive(query.limit, 'limit', DEFAULT_LIMIT), MAX_LIMIT);
    const { waitMs } = parseBlockingParams({ wait: query.wait, index: String(from - 1) });
    // Nothing at or after `from` yet: wait (Consul's blocking semantics) for the view to apply it.
    const upTo = applied.current() >= from ? applied.current() : await applied.wait(from - 1, waitMs, clientGoneSignal(reply));
    const list = upTo >= from ? await events.read(from, upTo, limit) : [];
    setQueryMeta(reply, list.length > 0 ? (list[list.length - 1]?.seq ?? upTo) : upTo);
    return list.map(toJson);
  });

  app.get('/v1/trellis/events/stream', async (request, reply) => {
    operatorRead(request);
    const query = request.query as Record<string, unknown>;
    const lastEventId = request.headers['last-event-id'];
    let next = typeof lastEventId === 'string' && /^\d+$/.test(lastEventId) ? Number(lastEventId) + 1 : positive(query.from, 'from', 1);
    const signal = clientGoneSignal(reply);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write(`retry: 2000\n\n`);
    try {
      while (!signal.aborted) {
        const upTo = applied.current();
        if (upTo >= next) {
          for (const e of await events.read(next, upTo, DEFAULT_LIMIT)) {
            res.write(`id: ${e.seq}\nevent: ${e.event.type}\ndata: ${JSON.stringify(toJson(e))}\n\n`);
            next = e.seq + 1;
          }
          continue;
        }
        const after = await applied.wait(next - 1, KEEPALIVE_MS, signal);
        if (after < next && !signal.aborted) res.write(': keepalive\n\n');
      }
    } catch (err) {
      if (!signal.aborted) res.write(`event: error\ndata: ${JSON.stringify({ error: (err as Error).message })}\n\n`);
    } finally {
      res.end();
    }
  });
}
