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
import { Reader, isObject } from '../../catalog/reader.js';
import { clientGoneSignal, parseBlockingParams, setQueryMeta } from '../blocking.js';
import { authzOf } from '../acl.js';
import type { FastifyRequest } from 'fastify';
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
  // ACLs, as Consul: reads are filtered (what the token may not read is left out), writes need
  // node:write / service:write / query:write on what they change.
  const authz = (request: FastifyRequest) => authzOf(request, ctx.acl?.resolver);
  // The names an ACL check is made on are read as the registration will read them (Consul's
  // case-insensitive, snake_case-tolerant matching): `"NODE": "n2"` is node n2 for both.
  const field = (body: unknown, key: string): string | undefined => {
    if (!isObject(body)) return undefined;
    const v = new Reader(body, '').raw(key);
    return typeof v === 'string' ? v : undefined;
  };
  /** A check is visible with node:read on its node and, for a service check, service:read on its service. */
  const nodeAndService = (request: FastifyRequest) => {
    const a = authz(request);
    return (c: { Node: string; ServiceName: string }) => a.allowed('node', 'read', c.Node) && (c.ServiceName === '' || a.allowed('service', 'read', c.ServiceName));
  };
  const instanceVisible = (request: FastifyRequest) => {
    const a = authz(request);
    return (i: { node: { Node: string }; service: { Service: string } }) => a.allowed('node', 'read', i.node.Node) && a.allowed('service', 'read', i.service.Service);
  };

  app.put('/v1/catalog/register', async (request) => {
    const a = authz(request);
    a.require('node', 'write', field(request.body, 'Node') ?? '');
    const svcName = field(isObject(request.body) ? new Reader(request.body, '').raw('Service') : undefined, 'Service');
    if (svcName !== undefined) a.require('service', 'write', svcName);
    await catalog.register(request.body);
    return true;
  });
  app.put('/v1/catalog/deregister', async (request) => {
    authz(request).require('node', 'write', field(request.body, 'Node') ?? '');
    await catalog.deregister(request.body);
    return true;
  });
  app.get('/v1/catalog/datacenters', async () => datacenters());
  app.get('/v1/trellis/datacenters', async () => peers());

  app.get('/v1/catalog/nodes', async (request, reply) => {
    await block('catalog', request.query as Query, reply);
    const a = authz(request);
    return [...store.nodes()].filter((n) => a.allowed('node', 'read', n.Node)).sort((x, y) => x.Node.localeCompare(y.Node)).map(toConsulNode);
  });
  app.get('/v1/catalog/services', async (request, reply) => {
    await block('catalog', request.query as Query, reply);
    const out: Record<string, string[]> = {};
    const a = authz(request);
    for (const s of store.services()) if (a.allowed('service', 'read', s.Service)) out[s.Service] = [...new Set([...(out[s.Service] ?? []), ...s.Tags])];
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
  });
  const serviceNodes = (connect: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.query as Query;
    await block('catalog', query, reply);
    const filter = { tags: tags(query) };
    const list = (connect ? connectInstances(store, name(request), filter) : serviceInstances(store, name(request), filter)).filter(instanceVisible(request));
    return list.map((i) => toConsulServiceNode(i.node, i.service));
  };
  app.get('/v1/catalog/service/:name', serviceNodes(false));
  app.get('/v1/catalog/connect/:name', serviceNodes(true));

  const health = (connect: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.query as Query;
    await block('catalog', query, reply);
    const filter = { tags: tags(query), passing: flag(query, 'passing') };
    const list = (connect ? connectInstances(store, name(request), filter) : serviceInstances(store, name(request), filter)).filter(instanceVisible(request));
    return list.map(toConsulInstance);
  };
  app.get('/v1/health/service/:name', health(false));
  app.get('/v1/health/connect/:name', health(true));
  app.get('/v1/health/checks/:name', async (request, reply) => {
    await block('catalog', request.query as Query, reply);
    return [...store.checks()].filter((c) => c.ServiceName === name(request)).filter(nodeAndService(request)).map(toConsulCheck);
  });
  app.get('/v1/health/node/:name', async (request, reply) => {
    await block('catalog', request.query as Query, reply);
    return store.checksOfNode(name(request)).filter(nodeAndService(request)).map(toConsulCheck);
  });
  app.get('/v1/health/state/:name', async (request, reply) => {
    const state = name(request);
    if (!['any', 'passing', 'warning', 'critical', 'maintenance'].includes(state)) throw new TrellisError('E_VALIDATION', `Bad state '${state}'`);
    await block('catalog', request.query as Query, reply);
    return [...store.checks()].filter((c) => state === 'any' || c.Status === state).filter(nodeAndService(request)).map(toConsulCheck);
  });

  // The agent's own services and checks (on its node).
  app.put('/v1/agent/service/register', async (request, reply) => {
    authz(request).require('service', 'write', field(request.body, 'Name') ?? '');
    await catalog.agentRegister(request.body);
    return reply.code(200).send();
  });
  app.put('/v1/agent/service/deregister/:name', async (request, reply) => {
    authz(request).require('service', 'write', store.service(ctx.nodeName, name(request))?.Service ?? name(request));
    await catalog.agentDeregister(name(request));
    return reply.code(200).send();
  });
  app.get('/v1/agent/services', async (request) => {
    const a = authz(request);
    return Object.fromEntries(store.servicesOfNode(ctx.nodeName).filter((s) => a.allowed('service', 'read', s.Service)).map((s) => [s.ID, agentService(s, ctx.datacenter)]));
  });
  app.get('/v1/agent/service/:name', async (request) => {
    const s = store.service(ctx.nodeName, name(request));
    if (!s) throw new TrellisError('E_NOT_FOUND', `unknown service ID: ${name(request)}`);
    authz(request).require('service', 'read', s.Service);
    return agentService(s, ctx.datacenter);
  });
  app.get('/v1/agent/checks', async (request) => Object.fromEntries(store.checksOfNode(ctx.nodeName).filter(nodeAndService(request)).map((c) => [c.CheckID, toConsulCheck(c)])));
  /** Consul: updating a check needs service:write on its service, or node:write for a node check. */
  const checkWrite = (request: FastifyRequest) => {
    const check = store.checksOfNode(ctx.nodeName).find((c) => c.CheckID === name(request));
    if (check?.ServiceName) authz(request).require('service', 'write', check.ServiceName);
    else authz(request).require('node', 'write', ctx.nodeName);
  };
  const ttl = (status: HealthStatus) => async (request: FastifyRequest, reply: FastifyReply) => {
    checkWrite(request);
    const note = (request.query as Query).note;
    await catalog.updateCheck(name(request), status, typeof note === 'string' ? note : '');
    return reply.code(200).send();
  };
  app.put('/v1/agent/check/pass/:name', ttl('passing'));
  app.put('/v1/agent/check/warn/:name', ttl('warning'));
  app.put('/v1/agent/check/fail/:name', ttl('critical'));
  app.put('/v1/agent/check/update/:name', async (request, reply) => {
    checkWrite(request);
    const body = (request.body ?? {}) as { Status?: unknown; Output?: unknown };
    const status = body.Status;
    if (status !== 'passing' && status !== 'warning' && status !== 'critical') throw new TrellisError('E_VALIDATION', `Invalid check status: '${typeof status === 'string' ? status : ''}'`);
    await catalog.updateCheck(name(request), status, typeof body.Output === 'string' ? body.Output : '');
    return reply.code(200).send();
  });

  // Prepared queries (this datacenter's, as in Consul).
  /** Consul: a query's name (its prefix, for a template) is what query:read/write apply to. */
  const queryWrite = (request: FastifyRequest, queryName: string | undefined) => authz(request).require('query', 'write', queryName ?? '');
  app.post('/v1/query', async (request) => {
    queryWrite(request, field(request.body, 'Name'));
    return { ID: await catalog.createQuery(request.body) };
  });
  app.get('/v1/query', async (request, reply) => {
    await block('queries', request.query as Query, reply);
    const a = authz(request);
    return [...store.queries()].filter((q) => a.allowed('query', 'read', q.Name)).sort((x, y) => x.CreateIndex - y.CreateIndex).map(toConsulQuery);
  });
  app.get('/v1/query/:name', async (request, reply) => {
    await block('queries', request.query as Query, reply);
    const q = store.query(name(request));
    if (!q) throw new TrellisError('E_NOT_FOUND', 'Query not found');
    authz(request).require('query', 'read', q.Name);
    return [toConsulQuery(q)];
  });
  app.put('/v1/query/:name', async (request, reply) => {
    const existing = store.query(name(request));
    if (existing) queryWrite(request, existing.Name);
    queryWrite(request, field(request.body, 'Name'));
    await catalog.updateQuery(name(request), request.body);
    return reply.code(200).send();
  });
  app.delete('/v1/query/:name', async (request, reply) => {
    const existing = store.query(name(request));
    if (existing) queryWrite(request, existing.Name);
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
    // Consul: executing needs no query rule; the answer is filtered by what the token may read.
    const a = authz(request);
    if (!a.enforcing) return result;
    const visible = (n: Record<string, unknown>) => {
      const node = (n.Node as { Node?: string } | undefined)?.Node ?? '';
      const service = (n.Service as { Service?: string } | undefined)?.Service ?? '';
      return a.allowed('node', 'read', node) && a.allowed('service', 'read', service);
    };
    return { ...result, Nodes: result.Nodes.filter(visible) };
  });
  app.get('/v1/query/:name/explain', async (request) => {
    const stored = resolveQuery(name(request), store.queries());
    if (!stored) throw new TrellisError('E_NOT_FOUND', 'Query not found');
    authz(request).require('query', 'read', stored.Name);
    return { Query: toConsulQuery(renderQuery(stored, name(request))) };
  });
}
