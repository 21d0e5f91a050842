import type { FastifyInstance } from 'fastify';
import { clientGoneSignal, parseBlockingParams, setQueryMeta } from '../blocking.js';
import type { ApiContext } from '../server.js';

/** `/v1/status/*`: trellis has one authority per datacenter, the agent itself. */
export function registerStatusRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/status/leader', async () => `${ctx.nodeName}.${ctx.datacenter}`);
  app.get('/v1/status/peers', async () => [`${ctx.nodeName}.${ctx.datacenter}`]);
  // Blocking on the applied index: a watcher wakes as soon as this datacenter applies anything.
  app.get('/v1/trellis/replication', async (request, reply) => {
    const { index, waitMs } = parseBlockingParams(request.query as Record<string, unknown>);
    const at = index > 0 ? await ctx.appliedIndex.wait(index, waitMs, clientGoneSignal(reply)) : ctx.appliedIndex.current();
    setQueryMeta(reply, at);
    return { ...ctx.replication(), CA: ctx.ca.status() };
  });
}

/** `GET /v1/trellis/replication`. */
export interface ReplicationStatus {
  readonly Datacenter: string;
  readonly Primary: string;
  readonly AppliedIndex: number;
  /** The primary stream's last sequence as this datacenter last learned it. */
  readonly SourceIndex: number;
  readonly LagEvents: number;
  readonly LastAppliedAt: string | null;
  /** The primary: its stream is reachable. A secondary: its mirror heard from the primary recently. */
  readonly MirrorActive: boolean;
  /** Milliseconds since the mirror last heard from the primary (null at the primary or before first contact). */
  readonly MirrorLastActiveMs: number | null;
  readonly Halted: boolean;
  readonly HaltReason: string | null;
}

