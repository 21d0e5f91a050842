import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TrellisError } from '../../common/index.js';
import type { ViewReader } from '../../view/index.js';
import {
  authorize,
  intentionCheck,
  matchIntentions,
  parseIntentionId,
  parseIntentionName,
  sortIntentions,
  toConsulIntention,
  type IntentionService,
} from '../../intentions/index.js';
import { clientGoneSignal, parseBlockingParams, setQueryMeta } from '../blocking.js';
import { HistoryElsewhereError, parseAt, type PointInTime } from '../../audit/index.js';
import { relayTo } from '../forward.js';
import { writeAuthOf, originOf } from '../actor.js';
import { authzOf } from '../acl.js';
import type { Authorizer } from '../../acl/authorizer.js';
import type { IntentionRow } from '../../events/index.js';
import type { ApiContext } from '../server.js';

/** What the intention routes need: the view to read, the service to write, the default policy. */
export interface IntentionApi {
  readonly view: ViewReader & {
    waitForIndex(table: 'intentions', minIndex: number, waitMs: number, signal?: AbortSignal): Promise<number>;
  };
  readonly service: IntentionService;
  readonly defaultAllow: boolean;
  /** `?at=`: the state after the event at a sequence, or as of a time, folded from the log. */
  readonly stateAt?: (at: { readonly seq: number } | { readonly time: number }) => Promise<PointInTime>;
}

type Query = Record<string, string | string[] | undefined>;

/** Consul reads a parameter given exactly once; absent, empty or repeated is "not set". */
function required(query: Query, name: string): string {
  const value = query[name];
  if (typeof value !== 'string' || value === '') throw new TrellisError('E_VALIDATION', `required query parameter '${name}' not set`);
  return value;
}


/** Consul: an intention is readable with `intentions = "read"` on its source or its destination. */
const canRead = (authz: Authorizer, row: Pick<IntentionRow, 'SourceName' | 'DestinationName'>) =>
  authz.allowed('intention', 'read', row.SourceName) || authz.allowed('intention', 'read', row.DestinationName);

export function registerIntentionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { view, service, defaultAllow } = ctx.intentions;
  const authz = (request: Parameters<typeof authzOf>[0]) => authzOf(request, ctx.acl?.resolver);
  const readable = (request: Parameters<typeof authzOf>[0], row: IntentionRow) => {
    if (!canRead(authz(request), row)) authz(request).require('intention', 'read', row.DestinationName);
    return row;
  };

  /** Waits per `?index=&wait=` then sets the query meta headers; returns the index answered at. */
  async function block(query: Query, reply: FastifyReply): Promise<number> {
    const { index, waitMs } = parseBlockingParams(query);
    const at = index > 0 ? await view.waitForIndex('intentions', index, waitMs, clientGoneSignal(reply)) : view.tableIndex('intentions');
    setQueryMeta(reply, at);
    return at;
  }

  /** `?at=T|SEQ`: what was true then, from the log; X-Consul-Index is the last event folded in. */
  async function pointInTime(request: FastifyRequest, reply: FastifyReply): Promise<PointInTime | 'relayed' | undefined> {
    const at = (request.query as Query).at;
    if (typeof at !== 'string' || at === '') return undefined;
    if (!ctx.intentions.stateAt) throw new TrellisError('E_UNAVAILABLE', 'point-in-time queries are not available here');
    const point = parseAt(at);
    let state: PointInTime;
    try {
      state = await ctx.intentions.stateAt(point);
    } catch (err) {
      // A secondary that started from a snapshot keeps the log from there on: the primary, which
      // holds all of it, answers (the client's token goes along).
      if (!(err instanceof HistoryElsewhereError) || !ctx.forwardRead || ctx.primaryDatacenter === ctx.datacenter) throw err;
      await relayTo(ctx.forwardRead, ctx.primaryDatacenter, request, reply);
      return 'relayed';
    }
    setQueryMeta(reply, state.seq);
    return state;
  }

  app.get('/v1/connect/intentions', async (request, reply) => {
    const query = request.query as Query;
    const a = authz(request);
    const then = await pointInTime(request, reply);
    if (then === 'relayed') return reply;
    if (then) return sortIntentions([...then.intentions.values()].filter((r) => canRead(a, r))).map(toConsulIntention);
    await block(query, reply);
    // Filtered, as Consul does: what the token may not read is left out, not refused.
    return sortIntentions(a.enforcing ? [...view.intentions()].filter((r) => canRead(a, r)) : view.intentions()).map(toConsulIntention);
  });

  app.post('/v1/connect/intentions', async (request) => {
    const { result } = await service.apply({ op: 'create', body: request.body }, writeAuthOf(request, ctx.acl?.resolver), originOf(request, ctx.datacenter));
    return { ID: result };
  });

  app.get('/v1/connect/intentions/exact', async (request, reply) => {
    const query = request.query as Query;
    const source = parseIntentionName(required(query, 'source'), 'source');
    const destination = parseIntentionName(required(query, 'destination'), 'destination');
    await block(query, reply);
    const row = view.intentionByPair(source.namespace, source.name, destination.namespace, destination.name);
    if (!row) throw new TrellisError('E_NOT_FOUND', 'Intention not found');
    return toConsulIntention(readable(request, row));
  });

  app.put('/v1/connect/intentions/exact', async (request) => {
    const query = request.query as Query;
    const source = required(query, 'source');
    const destination = required(query, 'destination');
    await service.apply({ op: 'upsert-exact', source, destination, body: request.body }, writeAuthOf(request, ctx.acl?.resolver), originOf(request, ctx.datacenter));
    return true;
  });

  app.delete('/v1/connect/intentions/exact', async (request) => {
    const query = request.query as Query;
    const source = required(query, 'source');
    const destination = required(query, 'destination');
    await service.apply({ op: 'delete-exact', source, destination }, writeAuthOf(request, ctx.acl?.resolver), originOf(request, ctx.datacenter));
    return true;
  });

  app.get('/v1/connect/intentions/check', async (request, reply) => {
    const query = request.query as Query;
    const source = parseIntentionName(required(query, 'source'), 'source');
    const destination = parseIntentionName(required(query, 'destination'), 'destination');
    // Consul: checking needs service:read on the destination.
    authz(request).require('service', 'read', destination.name);
    const then = await pointInTime(request, reply);
    if (then === 'relayed') return reply;
    if (then) return intentionCheck(then, source.name, destination.name, defaultAllow);
    await block(query, reply);
    return intentionCheck(view, source.name, destination.name, defaultAllow);
  });

  app.get('/v1/connect/intentions/match', async (request, reply) => {
    const query = request.query as Query;
    const by = query.by;
    if (typeof by !== 'string' || by === '') throw new TrellisError('E_VALIDATION', "required query parameter 'by' not set");
    if (by !== 'source' && by !== 'destination') throw new TrellisError('E_VALIDATION', "'by' parameter must be one of 'source' or 'destination'");
    const rawNames = query.name;
    const names = (Array.isArray(rawNames) ? rawNames : rawNames === undefined ? [] : [rawNames]).filter((n) => n !== '');
    if (names.length === 0) throw new TrellisError('E_VALIDATION', "required query parameter 'name' not set");
    const parsed = names.map((n) => ({ raw: n, entry: parseIntentionName(n, 'name') }));
    for (const { entry } of parsed) authz(request).require('intention', 'read', entry.name);
    await block(query, reply);
    const out: Record<string, unknown[]> = {};
    for (const { raw, entry } of parsed) out[raw] = matchIntentions(view, by, entry.name).map(toConsulIntention);
    return out;
  });

  app.get('/v1/connect/intentions/:id', async (request, reply) => {
    const id = parseIntentionId((request.params as { id: string }).id);
    await block(request.query as Query, reply);
    const row = view.intention(id);
    if (!row) throw new TrellisError('E_NOT_FOUND', 'Intention not found');
    return toConsulIntention(readable(request, row));
  });

  app.put('/v1/connect/intentions/:id', async (request) => {
    const id = parseIntentionId((request.params as { id: string }).id);
    await service.apply({ op: 'update', id, body: request.body }, writeAuthOf(request, ctx.acl?.resolver), originOf(request, ctx.datacenter));
    return { ID: id };
  });

  app.delete('/v1/connect/intentions/:id', async (request) => {
    const id = parseIntentionId((request.params as { id: string }).id);
    await service.apply({ op: 'delete', id }, writeAuthOf(request, ctx.acl?.resolver), originOf(request, ctx.datacenter));
    return true;
  });

  app.post('/v1/agent/connect/authorize', async (request) => {
    // Every published root shares the trust domain (rotation keeps it), so one domain covers them all.
    const trustDomain = ctx.ca.view.caState()?.TrustDomain;
    // Consul: authorize needs service:write on the target (the proxy's own service).
    const target = (request.body as { Target?: unknown } | undefined)?.Target;
    if (typeof target === 'string' && target !== '') authz(request).require('service', 'write', target);
    // Consul's words; a 503 rather than its 500, because it passes as soon as the CA state replicates.
    if (!trustDomain) {
      authorize(view, request.body, { defaultAllow }); // bad input is still a 400 first, as in Consul
      throw new TrellisError('E_UNAVAILABLE', 'Connect CA not bootstrapped yet');
    }
    return authorize(view, request.body, { defaultAllow, trustDomains: [trustDomain] });
  });
}
