import type { CatalogStore } from './store.js';
import type { CheckRow, HealthStatus, NodeRow, ProxyConfig, ServiceInstance, ServiceRow } from './types.js';

const SEVERITY: Readonly<Record<HealthStatus, number>> = { passing: 0, warning: 1, critical: 2, maintenance: 3 };

/** The aggregate of a set of checks, as Consul computes it: the worst one; no checks is passing. */
export function aggregateStatus(checks: readonly CheckRow[]): HealthStatus {
  let worst: HealthStatus = 'passing';
  for (const c of checks) if (SEVERITY[c.Status] > SEVERITY[worst]) worst = c.Status;
  return worst;
}

export interface InstanceFilter {
  /** Only instances whose checks all pass (Consul's `?passing`). */
  readonly passing?: boolean;
  /** Every one of these tags (Consul's repeated `?tag=`). */
  readonly tags?: readonly string[];
  /** Checks to ignore when filtering (prepared queries' IgnoreCheckIDs). */
  readonly ignoreCheckIds?: readonly string[];
  readonly nodeMeta?: Readonly<Record<string, string>>;
  readonly serviceMeta?: Readonly<Record<string, string>>;
}

function matches(meta: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>> | undefined): boolean {
  if (!wanted) return true;
  return Object.entries(wanted).every(([k, v]) => meta[k] === v);
}

function instanceOf(store: CatalogStore, service: ServiceRow): ServiceInstance | undefined {
  const node = store.node(service.Node);
  if (!node) return undefined;
  // A node's own checks (no ServiceID) count for every service on it, as in Consul.
  const checks = store.checksOfNode(service.Node).filter((c) => c.ServiceID === '' || c.ServiceID === service.ID);
  return { node, service, checks };
}

function keep(i: ServiceInstance, filter: InstanceFilter): boolean {
  if (filter.tags && !filter.tags.every((t) => i.service.Tags.includes(t))) return false;
  if (!matches(i.node.Meta, filter.nodeMeta) || !matches(i.service.Meta, filter.serviceMeta)) return false;
  if (filter.passing) {
    const ignored = new Set(filter.ignoreCheckIds ?? []);
    if (aggregateStatus(i.checks.filter((c) => !ignored.has(c.CheckID))) !== 'passing') return false;
  }
  return true;
}

/** Instances of a service by name (`/v1/health/service/:name`), sorted by node then service ID. */
export function serviceInstances(store: CatalogStore, name: string, filter: InstanceFilter = {}): ServiceInstance[] {
  return sortInstances(
    store
      .servicesNamed(name)
      .map((s) => instanceOf(store, s))
      .filter((i): i is ServiceInstance => i !== undefined && keep(i, filter)),
  );
}

/**
 * The Connect-capable endpoints of a service (`/v1/health/connect/:name`): proxies whose
 * destination it is, and the service itself when it is Connect-native.
 */
export function connectInstances(store: CatalogStore, name: string, filter: InstanceFilter = {}): ServiceInstance[] {
  const found: ServiceInstance[] = [];
  for (const s of store.services()) {
    const isProxy = s.Kind === 'connect-proxy' && s.Proxy?.DestinationServiceName === name;
    const isNative = s.Service === name && s.Connect.Native;
    if (!isProxy && !isNative) continue;
    const i = instanceOf(store, s);
    if (i && keep(i, filter)) found.push(i);
  }
  return sortInstances(found);
}

function sortInstances(list: ServiceInstance[]): ServiceInstance[] {
  return list.sort((a, b) => a.node.Node.localeCompare(b.node.Node) || a.service.ID.localeCompare(b.service.ID));
}

// Consul's JSON shapes.

export function toConsulNode(n: NodeRow): Record<string, unknown> {
  return { ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter, TaggedAddresses: n.TaggedAddresses, Meta: n.Meta, CreateIndex: n.CreateIndex, ModifyIndex: n.ModifyIndex };
}

function toConsulProxy(p: ProxyConfig): Record<string, unknown> {
  return {
    DestinationServiceName: p.DestinationServiceName,
    DestinationServiceID: p.DestinationServiceID,
    LocalServiceAddress: p.LocalServiceAddress,
    LocalServicePort: p.LocalServicePort,
    Upstreams: p.Upstreams,
  };
}

/** A service as the health endpoints and the agent show it (Consul's NodeService / AgentService). */
export function toConsulService(s: ServiceRow): Record<string, unknown> {
  return {
    ID: s.ID,
    Service: s.Service,
    Tags: s.Tags,
    Address: s.Address,
    Meta: s.Meta,
    Port: s.Port,
    Weights: s.Weights,
    EnableTagOverride: s.EnableTagOverride,
    ...(s.Kind ? { Kind: s.Kind } : {}),
    ...(s.Proxy ? { Proxy: toConsulProxy(s.Proxy) } : {}),
    Connect: s.Connect.Native ? { Native: true } : {},
    CreateIndex: s.CreateIndex,
    ModifyIndex: s.ModifyIndex,
  };
}

export function toConsulCheck(c: CheckRow): Record<string, unknown> {
  return {
    Node: c.Node,
    CheckID: c.CheckID,
    Name: c.Name,
    Status: c.Status,
    Notes: c.Notes,
    Output: c.Output,
    ServiceID: c.ServiceID,
    ServiceName: c.ServiceName,
    ServiceTags: c.ServiceTags,
    Type: c.Type,
    CreateIndex: c.CreateIndex,
    ModifyIndex: c.ModifyIndex,
  };
}

/** Consul's CheckServiceNode. */
export function toConsulInstance(i: ServiceInstance): Record<string, unknown> {
  return { Node: toConsulNode(i.node), Service: toConsulService(i.service), Checks: i.checks.map(toConsulCheck) };
}

/** One entry of `/v1/catalog/service/:name` (Consul's flattened ServiceNode). */
export function toConsulServiceNode(node: NodeRow, s: ServiceRow): Record<string, unknown> {
  return {
    ID: node.ID,
    Node: node.Node,
    Address: node.Address,
    Datacenter: node.Datacenter,
    TaggedAddresses: node.TaggedAddresses,
    NodeMeta: node.Meta,
    ServiceKind: s.Kind,
    ServiceID: s.ID,
    ServiceName: s.Service,
    ServiceTags: s.Tags,
    ServiceAddress: s.Address,
    ServiceWeights: s.Weights,
    ServiceMeta: s.Meta,
    ServicePort: s.Port,
    ServiceEnableTagOverride: s.EnableTagOverride,
    ServiceProxy: s.Proxy ? toConsulProxy(s.Proxy) : {},
    ServiceConnect: s.Connect.Native ? { Native: true } : {},
    CreateIndex: s.CreateIndex,
    ModifyIndex: s.ModifyIndex,
  };
}
