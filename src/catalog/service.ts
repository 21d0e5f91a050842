import { randomUUID } from 'node:crypto';
import { TrellisError, errorMessage, type Logger } from '../common/index.js';
import { createCheckRunner, type CheckRunner } from './check-runner.js';
import { connectInstances, serviceInstances, toConsulInstance, type InstanceFilter } from './health.js';
import { checkQueryNames, failoverOrder, parseQueryBody, renderQuery, resolveQuery } from './queries.js';
import { parseAgentServiceRegister, parseCatalogDeregister, parseCatalogRegister } from './register.js';
import type { CatalogStore } from './store.js';
import type { HealthStatus, PreparedQueryRow, ServiceInstance } from './types.js';

/** What a datacenter runs for a prepared query: the rendered service part, shipped to others on failover. */
export interface QuerySpec {
  readonly Service: string;
  readonly OnlyPassing: boolean;
  readonly IgnoreCheckIDs: readonly string[];
  readonly Tags: readonly string[];
  readonly NodeMeta: Readonly<Record<string, string>>;
  readonly ServiceMeta: Readonly<Record<string, string>>;
  readonly Connect: boolean;
  readonly Near: string;
  readonly Limit: number;
}

export interface ExecuteResult {
  readonly Service: string;
  readonly Nodes: readonly Record<string, unknown>[];
  readonly DNS: { readonly TTL: string };
  readonly Datacenter: string;
  readonly Failovers: number;
}

export interface CatalogServiceDeps {
  readonly store: CatalogStore;
  readonly datacenter: string;
  /** This agent's node: agent-registered services live on it. */
  readonly node: { readonly name: string; readonly address: string };
  readonly logger: Logger;
  /** Runs a query spec in another datacenter (request/reply); rejects when unreachable. */
  readonly remoteExecute: (datacenter: string, spec: QuerySpec) => Promise<{ Nodes: Record<string, unknown>[] }>;
  /** Known datacenters, nearest first by measured round-trip time (this one first). */
  readonly datacentersByRtt: () => readonly string[];
  /** Ports for sidecars registered without one. @default 21000-21255 */
  readonly sidecarPorts?: { readonly min: number; readonly max: number };
}

export interface CatalogService {
  readonly store: CatalogStore;
  start(): Promise<void>;
  register(body: unknown): Promise<number>;
  deregister(body: unknown): Promise<number>;
  agentRegister(body: unknown): Promise<number>;
  agentDeregister(serviceId: string): Promise<number>;
  updateCheck(checkId: string, status: HealthStatus, output: string): Promise<void>;
  createQuery(body: unknown): Promise<string>;
  updateQuery(id: string, body: unknown): Promise<void>;
  deleteQuery(id: string): Promise<void>;
  /** The local answer for a spec: filtered, shuffled, the `Near` node first, limited. */
  runSpec(spec: QuerySpec): ServiceInstance[];
  execute(idOrName: string, options: { connect: boolean; limit: number; near: string }): Promise<ExecuteResult>;
  stop(): void;
}

function shuffle<T>(list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j] as T, list[i] as T];
  }
  return list;
}

/** Prepared query tags: every tag must be present, a `!tag` must be absent; case-insensitive, as Consul. */
function tagsMatch(have: readonly string[], want: readonly string[]): boolean {
  const lower = new Set(have.map((t) => t.toLowerCase()));
  return want.every((t) => (t.startsWith('!') ? !lower.has(t.slice(1).toLowerCase()) : lower.has(t.toLowerCase())));
}

export function createCatalogService(deps: CatalogServiceDeps): CatalogService {
  const { store, datacenter, node, logger } = deps;
  const log = logger.child({ component: 'catalog' });
  const runner: CheckRunner = createCheckRunner({ store, node: node.name, logger: log });

  const specOf = (q: PreparedQueryRow, options: { connect: boolean; limit: number; near: string }): QuerySpec => ({
    Service: q.Service.Service,
    OnlyPassing: q.Service.OnlyPassing,
    IgnoreCheckIDs: q.Service.IgnoreCheckIDs,
    Tags: q.Service.Tags,
    NodeMeta: q.Service.NodeMeta,
    ServiceMeta: q.Service.ServiceMeta,
    Connect: options.connect || q.Service.Connect.Enabled,
    Near: options.near || q.Service.Near,
    Limit: options.limit,
  });

  const service: CatalogService = {
    store,
    async start() {
      // The agent's own node: services registered through /v1/agent live on it.
      await store.apply([{ op: 'put-node', node: { ID: store.node(node.name)?.ID ?? randomUUID(), Node: node.name, Address: node.address, Datacenter: datacenter, TaggedAddresses: {}, Meta: {} } }]);
      runner.sync();
    },
    register: (body) => store.apply(parseCatalogRegister(body, datacenter, { service: (n, id) => store.service(n, id), nodeId: (n) => store.node(n)?.ID })),
    deregister: (body) => store.apply(parseCatalogDeregister(body)),
    async agentRegister(body) {
      // Only a sidecar without a port needs the ports in use: collected then, not on every
      // registration (10,000 registrations took 18 s of CPU collecting them each time).
      let used: Set<number> | undefined;
      const usedPorts = { has: (port: number) => (used ??= new Set([...store.services()].map((s) => s.Port))).has(port) };
      const { ops } = parseAgentServiceRegister(body, node.name, usedPorts, deps.sidecarPorts);
      // Re-registering replaces the service's checks, as Consul's agent does.
      const serviceIds = new Set(ops.flatMap((o) => (o.op === 'put-service' ? [o.service.ID] : [])));
      const newChecks = new Set(ops.flatMap((o) => (o.op === 'put-check' ? [o.check.CheckID] : [])));
      const stale = store.checksOfNode(node.name).filter((c) => serviceIds.has(c.ServiceID) && !newChecks.has(c.CheckID));
      return store.apply([...stale.map((c) => ({ op: 'delete-check' as const, node: node.name, id: c.CheckID })), ...ops]);
    },
    async agentDeregister(serviceId) {
      if (!store.service(node.name, serviceId)) throw new TrellisError('E_NOT_FOUND', `Unknown service ID "${serviceId}". Ensure that the service ID is passed, not the service name.`);
      // A sidecar registered with the service goes with it, as in Consul.
      const sidecars = store.servicesOfNode(node.name).filter((s) => s.Kind === 'connect-proxy' && s.Proxy?.DestinationServiceID === serviceId && s.ID === `${serviceId}-sidecar-proxy`);
      return store.apply([{ op: 'delete-service', node: node.name, id: serviceId }, ...sidecars.map((s) => ({ op: 'delete-service' as const, node: node.name, id: s.ID }))]);
    },
    updateCheck: (checkId, status, output) => runner.updateTtl(checkId, status, output),
    async createQuery(body) {
      const query = parseQueryBody(body, randomUUID());
      checkQueryNames(query, store.queries());
      await store.apply([{ op: 'put-query', query }]);
      return query.ID;
    },
    async updateQuery(id, body) {
      if (!store.query(id)) throw new TrellisError('E_NOT_FOUND', 'Query not found');
      const query = parseQueryBody(body, id);
      checkQueryNames(query, store.queries());
      await store.apply([{ op: 'put-query', query }]);
    },
    async deleteQuery(id) {
      if (!store.query(id)) throw new TrellisError('E_NOT_FOUND', 'Query not found');
      await store.apply([{ op: 'delete-query', id }]);
    },
    runSpec(spec) {
      const filter: InstanceFilter = { nodeMeta: spec.NodeMeta, serviceMeta: spec.ServiceMeta };
      const all = spec.Connect ? connectInstances(store, spec.Service, filter) : serviceInstances(store, spec.Service, filter);
      const ignored = new Set(spec.IgnoreCheckIDs);
      // Consul drops critical instances always and warning ones with OnlyPassing.
      const healthy = all.filter((i) => {
        const statuses = i.checks.filter((c) => !ignored.has(c.CheckID)).map((c) => c.Status);
        if (statuses.includes('critical') || statuses.includes('maintenance')) return false;
        return !(spec.OnlyPassing && statuses.includes('warning'));
      });
      const tagged = healthy.filter((i) => tagsMatch(i.service.Tags, spec.Tags));
      const shuffled = shuffle(tagged);
      // Without network coordinates between nodes, "near" puts the named node (or this agent's, for _agent) first.
      const near = spec.Near === '_agent' ? node.name : spec.Near;
      if (near) shuffled.sort((a, b) => Number(b.node.Node === near) - Number(a.node.Node === near));
      return spec.Limit > 0 ? shuffled.slice(0, spec.Limit) : shuffled;
    },
    async execute(idOrName, options) {
      const stored = resolveQuery(idOrName, store.queries());
      if (!stored) throw new TrellisError('E_NOT_FOUND', 'Query not found');
      const query = renderQuery(stored, idOrName);
      const spec = specOf(query, options);
      const result = (nodes: readonly Record<string, unknown>[], dc: string, failovers: number): ExecuteResult => ({
        Service: query.Service.Service,
        Nodes: nodes,
        DNS: { TTL: query.DNS.TTL },
        Datacenter: dc,
        Failovers: failovers,
      });
      const local = service.runSpec(spec);
      if (local.length > 0) return result(local.map(toConsulInstance), datacenter, 0);
      const byRtt = deps.datacentersByRtt();
      const order = failoverOrder(query.Service.Failover, datacenter, byRtt, new Set(byRtt));
      let failovers = 0;
      for (const dc of order) {
        failovers++;
        try {
          const remote = await deps.remoteExecute(dc, spec);
          if (remote.Nodes.length > 0) return result(remote.Nodes, dc, failovers);
        } catch (err) {
          log.warn({ query: stored.ID, datacenter: dc, err: errorMessage(err) }, 'prepared query failover: datacenter did not answer; trying the next');
        }
      }
      return result([], datacenter, failovers);
    },
    stop() {
      runner.stop();
    },
  };
  return service;
}
