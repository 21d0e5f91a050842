import type { FastifyInstance, FastifyReply } from 'fastify';
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
import { parseAt, type PointInTime } from '../../audit/index.js';
import { actorOf, originOf } from '../actor.js';
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


export function registerIntentionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { view, service, defaultAllow } = ctx.intentions;

  /** Waits per `?index=&wait=` then sets the query meta headers; returns the index answered at. */
  async function block(query: Query, reply: FastifyReply): Promise<number> {
    const { index, waitMs } = parseBlockingParams(query);
    const at = index > 0 ? await view.waitForIndex('intentions', index, waitMs, clientGoneSignal(reply)) : view.tableIndex('intentions');
    setQueryMeta(reply, at);
    return at;
  }

  /** `?at=T|SEQ`: what was true then, from the log; X-Consul-Index is the last event folded in. */
  async function pointInTime(query: Query, reply: FastifyReply): Promise<PointInTime | undefined> {
    const at = query.at;
    if (typeof at !== 'string' || at === '') return undefined;
    if (!ctx.intentions.stateAt) throw new TrellisError('E_UNAVAILABLE', 'point-in-time queries are not available here');
    const state = await ctx.intentions.stateAt(parseAt(at));
    setQueryMeta(reply, state.seq);
    return state;
  }

  app.get('/v1/connect/intentions', async (request, reply) => {
    const query = request.query as Query;
    const then = await pointInTime(query, reply);
    if (then) return sortIntentions(then.intentions.values()).map(toConsulIntention);
    await block(query, reply);
    return sortIntentions(view.intentions()).map(toConsulIntention);
  });

  app.post('/v1/connect/intentions', async (request) => {
    const { result } = await service.apply({ op: 'create', body: request.body }, actorOf(request.headers), originOf(request, ctx.datacenter));
    return { ID: result };
  });

  app.get('/v1/connect/intentions/exact', async (request, reply) => {
    const query = request.query as Query;
    const source = parseIntentionName(required(query, 'source'), 'source');
    const destination = parseIntentionName(required(query, 'destination'), 'destination');
    await block(query, reply);
    const row = view.intentionByPair(source.namespace, source.name, destination.namespace, destination.name);
    if (!row) throw new TrellisError('E_NOT_FOUND', 'Intention not found');
    return toConsulIntention(row);
  });

  app.put('/v1/connect/intentions/exact', async (request) => {
    const query = request.query as Query;
    const source = required(query, 'source');
    const destination = required(query, 'destination');
    await service.apply({ op: 'upsert-exact', source, destination, body: request.body }, actorOf(request.headers), originOf(request, ctx.datacenter));
    return true;
  });

  app.delete('/v1/connect/intentions/exact', async (request) => {
    const query = request.query as Query;
    const source = required(query, 'source');
    const destination = required(query, 'destination');
    await service.apply({ op: 'delete-exact', source, destination }, actorOf(request.headers), originOf(request, ctx.datacenter));
    return true;
  });

  app.get('/v1/connect/intentions/check', async (request, reply) => {
    const query = request.query as Query;
    const source = parseIntentionName(required(query, 'source'), 'source');
    const destination = parseIntentionName(required(query, 'destination'), 'destination');
    const then = await pointInTime(query, reply);
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
    await block(query, reply);
    const out: Record<string, unknown[]> = {};
    for (const { raw, entry } of parsed) out[raw] = matchIntentions(view.intentions(), by, entry.name).map(toConsulIntention);
    return out;
  });

  app.get('/v1/connect/intentions/:id', async (request, reply) => {
    const id = parseIntentionId((request.params as { id: string }).id);
    await block(request.query as Query, reply);
    const row = view.intention(id);
    if (!row) throw new TrellisError('E_NOT_FOUND', 'Intention not found');
    return toConsulIntention(row);
  });

  app.put('/v1/connect/intentions/:id', async (request) => {
    const id = parseIntentionId((request.params as { id: string }).id);
    await service.apply({ op: 'update', id, body: request.body }, actorOf(request.headers), originOf(request, ctx.datacenter));
    return { ID: id };
  });

  app.delete('/v1/connect/intentions/:id', async (request) => {
    const id = parseIntentionId((request.params as { id: string }).id);
    await service.apply({ op: 'delete', id }, actorOf(request.headers), originOf(request, ctx.datacenter));
    return true;
  });

  app.post('/v1/agent/connect/authorize', async (request) => {
    // Every published root shares the trust domain (rotation keeps it), so one domain covers them all.
    const trustDomain = ctx.ca.view.caState()?.TrustDomain;
    // Consul's words; a 503 rather than its 500, because it passes as soon as the CA state replicates.
    if (!trustDomain) {
      authorize(view, request.body, { defaultAllow }); // bad input is still a 400 first, as in Consul
      throw new TrellisError('E_UNAVAILABLE', 'Connect CA not bootstrapped yet');
    }
    return authorize(view, request.body, { defaultAllow, trustDomains: [trustDomain] });
  });
}
