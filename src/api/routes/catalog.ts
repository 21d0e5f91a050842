import type { FastifyInstance, FastifyReply } from 'fastify';
import { TrellisError } from '../../common/index.js';
import {
  connectInstances,
  serviceInstances,
  toConsulCheck,
  toConsulInstance,
  toConsulNode,
  toConsulQuery,
  toConsulService,
  toConsulServiceNode,
  resolveQuery,
  renderQuery,
  type CatalogService,
  type CatalogTable,
  type HealthStatus,
  type ServiceRow,
} from '../../catalog/index.js';
import { clientGoneSignal, parseBlockingParams, setQueryMeta } from '../blocking.js';
import type { ApiContext } from '../server.js';

/** What the catalog routes need: the catalog service and the WAN view of datacenters. */
export interface CatalogApi {
  readonly service: CatalogService;
  /** Known datacenters, this one first, then by round-trip time. */
  readonly datacenters: () => readonly string[];
  readonly peers: () => readonly unknown[];
}

type Query = Record<string, string | string[] | undefined>;

/** Consul's boolean query flags: present (empty or any value but "false"/"0") means set. */
function flag(query: Query, name: string): boolean {
  const v = query[name];
  if (v === undefined) return false;
  const s = Array.isArray(v) ? (v[0] ?? '') : v;
  return s !== 'false' && s !== '0';
}

function tags(query: Query): string[] {
  const v = query.tag;
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function agentService(s: ServiceRow, datacenter: string): Record<string, unknown> {
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = toConsulService(s);
  return { ...rest, Datacenter: datacenter };
}

export function registerCatalogRoutes(app: FastifyInstance, ctx: ApiContext): void {
  if (!ctx.catalog) return;
  const { service: catalog } = ctx.catalog;
  const { store } = catalog;
  const datacenters = ctx.catalog.datacenters;
  const peers = ctx.catalog.peers;

  async function block(table: CatalogTable, query: Query, reply: FastifyReply): Promise<void> {
    const { index, waitMs } = parseBlockingParams(query);
    const at = index > 0 ? await store.waitForIndex(table, index, waitMs, clientGoneSignal(reply)) : store.tableIndex(table);
    setQueryMeta(reply, at);
  }
  const name = (request: { params: unknown }) => (request.params as { name: string }).name;

  app.put('/v1/catalog/register', async (request) => {
    await catalog.register(request.body);
    return true;
  });
  app.put('/v1/catalog/deregister', async (request) => {
    await catalog.deregister(request.body);
    return true;
  });
  app.get('/v1/catalog/datacenters', async () => datacenters());
  app.get('/v1/trellis/datacenters', async () => peers());

  app.get('/v1/catalog/nodes', async (request, reply) => {
    await block('catalog', request.query as Query, reply);
    return [...store.nodes()].sort((a, b) => a.Node.localeCompare(b.Node)).map(toConsulNode);
  });
  app.get('/v1/catalog/services', async (request, reply) => {
    await block('catalog', request.query as Query, reply);
    const out: Record<string, string[]> = {};
    for (const s of store.services()) out[s.Service] = [...new Set([...(out[s.Service] ?? []), ...s.Tags])];
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
  });
  const serviceNodes = (connect: boolean) => async (request: { params: unknown; query: unknown }, reply: FastifyReply) => {
    const query = request.query as Query;
    await block('catalog', query, reply);
    const filter = { tags: tags(query) };
    const list = connect ? connectInstances(store, name(request), filter) : serviceInstances(store, name(request), filter);
    return list.map((i) => toConsulServiceNode(i.node, i.service));
  };
  app.get('/v1/catalog/service/:name', serviceNodes(false));
  app.get('/v1/catalog/connect/:name', serviceNodes(true));

  const health = (connect: boolean) => async (request: { params: unknown; query: unknown }, reply: FastifyReply) => {
    const query = request.query as Query;
    await block('catalog', query, reply);
    const filter = { tags: tags(query), passing: flag(query, 'passing') };
    const list = connect ? connectInstances(store, name(request), filter) : serviceInstances(store, name(request), filter);
    return list.map(toConsulInstance);
  };
  app.get('/v1/health/service/:name', health(false));
  app.get('/v1/health/connect/:name', health(true));
  app.get('/v1/health/checks/:name', async (request, reply) => {
    await block('catalog', request.query as Query, reply);
    return [...store.checks()].filter((c) => c.ServiceName === name(request)).map(toConsulCheck);
  });
  app.get('/v1/health/node/:name', async (request, reply) => {
    await block('catalog', request.query as Query, reply);
    return store.checksOfNode(name(request)).map(toConsulCheck);
  });
  app.get('/v1/health/state/:name', async (request, reply) => {
    const state = name(request);
    if (!['any', 'passing', 'warning', 'critical', 'maintenance'].includes(state)) throw new TrellisError('E_VALIDATION', `Bad state '${state}'`);
    await block('catalog', request.query as Query, reply);
    return [...store.checks()].filter((c) => state === 'any' || c.Status === state).map(toConsulCheck);
  });

  // The agent's own services and checks (on its node).
  app.put('/v1/agent/service/register', async (request, reply) => {
    await catalog.agentRegister(request.body);
    return reply.code(200).send();
  });
  app.put('/v1/agent/service/deregister/:name', async (request, reply) => {
    await catalog.agentDeregister(name(request));
    return reply.code(200).send();
  });
  app.get('/v1/agent/services', async () => Object.fromEntries(store.servicesOfNode(ctx.nodeName).map((s) => [s.ID, agentService(s, ctx.datacenter)])));
  app.get('/v1/agent/service/:name', async (request) => {
    const s = store.service(ctx.nodeName, name(request));
    if (!s) throw new TrellisError('E_NOT_FOUND', `unknown service ID: ${name(request)}`);
    return agentService(s, ctx.datacenter);
  });
  app.get('/v1/agent/checks', async () => Object.fromEntries(store.checksOfNode(ctx.nodeName).map((c) => [c.CheckID, toConsulCheck(c)])));
  const ttl = (status: HealthStatus) => async (request: { params: unknown; query: unknown }, reply: FastifyReply) => {
    const note = (request.query as Query).note;
    await catalog.updateCheck(name(request), status, typeof note === 'string' ? note : '');
    return reply.code(200).send();
  };
  app.put('/v1/agent/check/pass/:name', ttl('passing'));
  app.put('/v1/agent/check/warn/:name', ttl('warning'));
  app.put('/v1/agent/check/fail/:name', ttl('critical'));
  app.put('/v1/agent/check/update/:name', async (request, reply) => {
    const body = (request.body ?? {}) as { Status?: unknown; Output?: unknown };
    const status = body.Status;
    if (status !== 'passing' && status !== 'warning' && status !== 'critical') throw new TrellisError('E_VALIDATION', `Invalid check status: '${typeof status === 'string' ? status : ''}'`);
    await catalog.updateCheck(name(request), status, typeof body.Output === 'string' ? body.Output : '');
    return reply.code(200).send();
  });

  // Prepared queries (this datacenter's, as in Consul).
  app.post('/v1/query', async (request) => ({ ID: await catalog.createQuery(request.body) }));
  app.get('/v1/query', async (request, reply) => {
    await block('queries', request.query as Query, reply);
    return [...store.queries()].sort((a, b) => a.CreateIndex - b.CreateIndex).map(toConsulQuery);
  });
  app.get('/v1/query/:name', async (request, reply) => {
    await block('queries', request.query as Query, reply);
    const q = store.query(name(request));
    if (!q) throw new TrellisError('E_NOT_FOUND', 'Query not found');
    return [toConsulQuery(q)];
  });
  app.put('/v1/query/:name', async (request, reply) => {
    await catalog.updateQuery(name(request), request.body);
    return reply.code(200).send();
  });
  app.delete('/v1/query/:name', async (request, reply) => {
    await catalog.deleteQuery(name(request));
    return reply.code(200).send();
  });
  app.get('/v1/query/:name/execute', async (request, reply) => {
    const query = request.query as Query;
    const limitText = typeof query.limit === 'string' ? query.limit : '';
    if (limitText !== '' && !/^\d+$/.test(limitText)) throw new TrellisError('E_VALIDATION', 'Bad limit');
    const near = typeof query.near === 'string' ? query.near : '';
    const result = await catalog.execute(name(request), { connect: flag(query, 'connect'), limit: limitText ? Number(limitText) : 0, near });
    setQueryMeta(reply, store.tableIndex('catalog'));
    return result;
  });
  app.get('/v1/query/:name/explain', async (request) => {
    const stored = resolveQuery(name(request), store.queries());
    if (!stored) throw new TrellisError('E_NOT_FOUND', 'Query not found');
    return { Query: toConsulQuery(renderQuery(stored, name(request))) };
  });
}
