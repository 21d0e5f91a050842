import { randomUUID } from 'node:crypto';
import { TrellisError } from '../common/index.js';
import { Reader } from './reader.js';
import type { CatalogOp, CheckInput, NodeInput, ServiceInput } from './store.js';
import { HEALTH_STATUSES, type CheckDefinition, type HealthStatus, type ProxyConfig, type ServiceKind, type UpstreamConfig } from './types.js';

function invalid(message: string): never {
  throw new TrellisError('E_VALIDATION', message);
}

function kindOf(r: Reader): ServiceKind {
  const kind = r.string('Kind');
  if (kind === '' || kind === 'typical') return '';
  if (kind === 'connect-proxy') return kind;
  return invalid(`Invalid service kind "${kind}": trellis supports "" (typical) and "connect-proxy" (gateways are not supported)`);
}

function statusOf(value: string, fallback: HealthStatus): HealthStatus {
  if (value === '') return fallback;
  if (!(HEALTH_STATUSES as readonly string[]).includes(value)) invalid(`Invalid check status "${value}": must be one of passing, warning, critical, maintenance`);
  return value as HealthStatus;
}

function upstreams(r: Reader | undefined): UpstreamConfig[] {
  if (!r) return [];
  return r.objects('Upstreams').map((u) => {
    const type = u.string('DestinationType', 'service');
    if (type !== 'service' && type !== 'prepared_query') invalid(`Invalid upstream DestinationType "${type}": must be "service" or "prepared_query"`);
    const name = u.string('DestinationName');
    if (!name) invalid('Upstream DestinationName must be set');
    const port = u.int('LocalBindPort');
    if (port <= 0 || port > 65535) invalid(`Upstream ${name}: LocalBindPort must be set (1-65535)`);
    return { DestinationType: type, DestinationName: name, Datacenter: u.string('Datacenter'), LocalBindAddress: u.string('LocalBindAddress', '127.0.0.1'), LocalBindPort: port };
  });
}

function proxyOf(r: Reader, kind: ServiceKind, port: number): ProxyConfig | undefined {
  if (kind !== 'connect-proxy') return undefined;
  const p = r.object('Proxy');
  const destination = p?.string('DestinationServiceName') ?? '';
  // Consul's ValidateForAgent messages.
  if (!destination) invalid('Proxy.DestinationServiceName must be non-empty for Connect proxy services');
  if (port <= 0) invalid('Port must be set for a Connect proxy');
  return {
    DestinationServiceName: destination,
    DestinationServiceID: p?.string('DestinationServiceID') || destination,
    LocalServiceAddress: p?.string('LocalServiceAddress') ?? '',
    LocalServicePort: p?.int('LocalServicePort') ?? 0,
    Upstreams: upstreams(p),
  };
}

/** A service as Consul's catalog and agent bodies describe it (`Service`/`Name` for the name). */
function serviceOf(r: Reader, node: string, nameField: 'Service' | 'Name'): ServiceInput {
  const name = r.string(nameField);
  if (!name) invalid(nameField === 'Service' ? 'Must provide service name' : 'Missing service name');
  const kind = kindOf(r);
  const port = r.int('Port');
  if (port < 0 || port > 65535) invalid(`Invalid port ${port}`);
  const weights = r.object('Weights');
  return {
    Node: node,
    ID: r.string('ID') || name,
    Service: name,
    Tags: r.strings('Tags'),
    Address: r.string('Address'),
    Port: port,
    Meta: r.stringMap('Meta'),
    Kind: kind,
    Proxy: proxyOf(r, kind, port),
    Connect: { Native: r.object('Connect')?.bool('Native') ?? false },
    EnableTagOverride: r.bool('EnableTagOverride'),
    Weights: { Passing: weights?.int('Passing', 1) ?? 1, Warning: weights?.int('Warning', 1) ?? 1 },
  };
}

/** A check from a catalog or agent body; `service` is the service it belongs to, if any. */
function checkOf(r: Reader, node: string, service: ServiceInput | undefined, definition: CheckDefinition, type: string, defaultStatus: HealthStatus): CheckInput {
  const name = r.string('Name');
  const id = r.string('CheckID') || r.string('ID') || name || (service ? `service:${service.ID}` : '');
  if (!id) invalid('Must provide a check name or CheckID');
  const serviceId = r.string('ServiceID') || service?.ID || '';
  return {
    Node: node,
    CheckID: id,
    Name: name || id,
    Status: statusOf(r.string('Status'), defaultStatus),
    Notes: r.string('Notes'),
    Output: r.string('Output'),
    ServiceID: serviceId,
    ServiceName: service?.Service ?? '',
    ServiceTags: service?.Tags ?? [],
    Type: type,
    Definition: definition,
  };
}

/** `PUT /v1/catalog/register`: node, optional service, optional checks, in one change. */
export function parseCatalogRegister(
  body: unknown,
  datacenter: string,
  lookup: { service(node: string, id: string): ServiceInput | undefined; nodeId(node: string): string | undefined },
): CatalogOp[] {
  const r = Reader.of(body, '');
  const node = r.string('Node');
  if (!node) invalid('Must provide node');
  const dc = r.string('Datacenter');
  if (dc && dc !== datacenter) invalid(`Cannot register in datacenter ${dc} through ${datacenter}: use ?dc= on that datacenter's agent`);
  const ops: CatalogOp[] = [];
  if (!r.bool('SkipNodeUpdate')) {
    const address = r.string('Address');
    if (!address) invalid('Must provide address if SkipNodeUpdate is not set');
    const nodeInput: NodeInput = { ID: r.string('ID') || lookup.nodeId(node) || randomUUID(), Node: node, Address: address, Datacenter: datacenter, TaggedAddresses: r.stringMap('TaggedAddresses'), Meta: r.stringMap('NodeMeta') };
    ops.push({ op: 'put-node', node: nodeInput });
  }
  const svcReader = r.object('Service');
  const service = svcReader ? serviceOf(svcReader, node, 'Service') : undefined;
  if (service) ops.push({ op: 'put-service', service });
  const checkReaders = [...(r.object('Check') ? [r.object('Check') as Reader] : []), ...r.objects('Checks')];
  for (const c of checkReaders) {
    const checkNode = c.string('Node') || node;
    if (checkNode !== node) invalid(`Check node "${checkNode}" does not match the registration's node "${node}"`);
    const serviceId = c.string('ServiceID');
    const owner = serviceId ? (service && service.ID === serviceId ? service : lookup.service(node, serviceId)) : undefined;
    if (serviceId && !owner) invalid(`Unknown service ID '${serviceId}' for check`);
    ops.push({ op: 'put-check', check: checkOf(c, node, owner, {}, '', 'critical') });
  }
  return ops;
}

/** `PUT /v1/catalog/deregister`: a node (with everything on it), a service (with its checks) or a check. */
export function parseCatalogDeregister(body: unknown): CatalogOp[] {
  const r = Reader.of(body, '');
  const node = r.string('Node');
  if (!node) invalid('Must provide node');
  const serviceId = r.string('ServiceID');
  const checkId = r.string('CheckID');
  if (serviceId) return [{ op: 'delete-service', node, id: serviceId }];
  if (checkId) return [{ op: 'delete-check', node, id: checkId }];
  return [{ op: 'delete-node', node }];
}

/** The ports Consul gives sidecars when none is set (its sidecar_min_port/sidecar_max_port defaults). */
export const SIDECAR_PORT_RANGE = { min: 21000, max: 21255 } as const;

/** A check in an agent service definition: what the agent will run (TTL, TCP, HTTP, alias). */
function agentCheck(c: Reader, node: string, service: ServiceInput | undefined): CheckInput {
  const ttl = c.durationMs('TTL');
  const interval = c.durationMs('Interval');
  const timeout = c.durationMs('Timeout');
  const tcp = c.string('TCP');
  const http = c.string('HTTP');
  const alias = c.string('AliasService');
  const deregister = c.durationMs('DeregisterCriticalServiceAfter');
  const base: CheckDefinition = { ...(timeout !== undefined ? { TimeoutMs: timeout } : {}), ...(deregister !== undefined ? { DeregisterCriticalServiceAfterMs: deregister } : {}) };
  if (c.has('Args') || c.has('ScriptArgs') || c.has('GRPC') || c.has('DockerContainerID') || c.has('H2PING') || c.has('UDP') || c.has('OSService')) {
    invalid('Invalid check: trellis runs TTL, TCP, HTTP and alias checks (script, gRPC, Docker, H2PING, UDP and OS service checks are not supported)');
  }
  if (ttl !== undefined) {
    if (ttl <= 0) invalid('Invalid check: TTL must be > 0 for TTL checks');
    return checkOf(c, node, service, { ...base, TTLMs: ttl }, 'ttl', 'critical');
  }
  if (tcp || http) {
    if (interval === undefined || interval <= 0) invalid('Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks');
    if (http) {
      try {
        new URL(http);
      } catch {
        invalid(`Invalid check: HTTP ${JSON.stringify(http)} is not a URL`);
      }
    }
    const def: CheckDefinition = tcp ? { ...base, TCP: tcp, IntervalMs: interval } : { ...base, HTTP: http, Method: c.string('Method', 'GET'), IntervalMs: interval };
    return checkOf(c, node, service, def, tcp ? 'tcp' : 'http', 'critical');
  }
  if (alias) return checkOf(c, node, service, { ...base, AliasService: alias }, 'alias', 'critical');
  // A check with only a status: set and kept as given (Consul requires a type; trellis allows it for scripts that push status).
  if (c.has('Status')) return checkOf(c, node, service, base, 'ttl', 'critical');
  return invalid('Invalid check: TTL, TCP, HTTP or AliasService must be set (with Interval for TCP and HTTP)');
}

export interface AgentRegistration {
  readonly ops: CatalogOp[];
  /** IDs of services this registration owns (the service and its sidecar), for deregistration and check runners. */
  readonly serviceIds: readonly string[];
}

/**
 * `PUT /v1/agent/service/register`: the service on this agent's node, its checks, and, with
 * `Connect.SidecarService`, its sidecar proxy as Consul defaults it (`<id>-sidecar-proxy`, a port
 * from 21000-21255, "Connect Sidecar Listening" and "Connect Sidecar Aliasing" checks).
 */
export function parseAgentServiceRegister(
  body: unknown,
  node: string,
  usedPorts: { has(port: number): boolean },
  range: { readonly min: number; readonly max: number } = SIDECAR_PORT_RANGE,
): AgentRegistration {
  const r = Reader.of(body, '');
  const service = serviceOf(r, node, 'Name');
  const ops: CatalogOp[] = [{ op: 'put-service', service }];
  const checks = [...(r.object('Check') ? [r.object('Check') as Reader] : []), ...r.objects('Checks')];
  for (const c of checks) ops.push({ op: 'put-check', check: agentCheck(c, node, service) });
  const ids = [service.ID];
  const sidecar = r.object('Connect')?.object('SidecarService');
  if (sidecar) {
    if (service.Kind === 'connect-proxy') invalid('A connect-proxy cannot have a SidecarService');
    let port = sidecar.int('Port');
    if (port === 0) {
      port = range.min;
      while (usedPorts.has(port) && port <= range.max) port++;
      if (port > range.max) invalid(`No free sidecar port in ${range.min}-${range.max}`);
    }
    const p = sidecar.object('Proxy');
    const sidecarService: ServiceInput = {
      Node: node,
      ID: sidecar.string('ID') || `${service.ID}-sidecar-proxy`,
      Service: sidecar.string('Name') || `${service.Service}-sidecar-proxy`,
      Tags: sidecar.has('Tags') ? sidecar.strings('Tags') : service.Tags,
      Address: sidecar.string('Address'),
      Port: port,
      Meta: sidecar.has('Meta') ? sidecar.stringMap('Meta') : service.Meta,
      Kind: 'connect-proxy',
      Proxy: {
        DestinationServiceName: service.Service,
        DestinationServiceID: service.ID,
        LocalServiceAddress: p?.string('LocalServiceAddress') || '127.0.0.1',
        LocalServicePort: p?.int('LocalServicePort') || service.Port,
        Upstreams: upstreams(p),
      },
      Connect: { Native: false },
      EnableTagOverride: false,
      Weights: { Passing: 1, Warning: 1 },
    };
    ops.push({ op: 'put-service', service: sidecarService });
    ids.push(sidecarService.ID);
    const sidecarChecks = [...(sidecar.object('Check') ? [sidecar.object('Check') as Reader] : []), ...sidecar.objects('Checks')];
    if (sidecarChecks.length > 0) {
      for (const c of sidecarChecks) ops.push({ op: 'put-check', check: agentCheck(c, node, sidecarService) });
    } else {
      const common = { Node: node, Notes: '', Output: '', ServiceID: sidecarService.ID, ServiceName: sidecarService.Service, ServiceTags: sidecarService.Tags };
      ops.push({
        op: 'put-check',
        check: { ...common, CheckID: `service:${sidecarService.ID}:1`, Name: 'Connect Sidecar Listening', Status: 'critical', Type: 'tcp', Definition: { TCP: `${sidecarService.Address || '127.0.0.1'}:${port}`, IntervalMs: 10_000 } },
      });
      ops.push({
        op: 'put-check',
        check: { ...common, CheckID: `service:${sidecarService.ID}:2`, Name: `Connect Sidecar Aliasing ${service.ID}`, Status: 'critical', Type: 'alias', Definition: { AliasService: service.ID } },
      });
    }
  }
  return { ops, serviceIds: ids };
}
