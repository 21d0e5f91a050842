/** Consul's health states, worst last. */
export type HealthStatus = 'passing' | 'warning' | 'critical' | 'maintenance';
export const HEALTH_STATUSES: readonly HealthStatus[] = ['passing', 'warning', 'critical', 'maintenance'];

export type ServiceKind = '' | 'connect-proxy';

export interface NodeRow {
  readonly ID: string;
  readonly Node: string;
  readonly Address: string;
  readonly Datacenter: string;
  readonly TaggedAddresses: Readonly<Record<string, string>>;
  readonly Meta: Readonly<Record<string, string>>;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface UpstreamConfig {
  readonly DestinationType: 'service' | 'prepared_query';
  readonly DestinationName: string;
  readonly Datacenter: string;
  readonly LocalBindAddress: string;
  readonly LocalBindPort: number;
}

export interface ProxyConfig {
  readonly DestinationServiceName: string;
  readonly DestinationServiceID: string;
  readonly LocalServiceAddress: string;
  readonly LocalServicePort: number;
  readonly Upstreams: readonly UpstreamConfig[];
}

export interface ServiceRow {
  readonly Node: string;
  readonly ID: string;
  readonly Service: string;
  readonly Tags: readonly string[];
  readonly Address: string;
  readonly Port: number;
  readonly Meta: Readonly<Record<string, string>>;
  readonly Kind: ServiceKind;
  /** Present for Kind "connect-proxy". */
  readonly Proxy: ProxyConfig | undefined;
  readonly Connect: { readonly Native: boolean };
  readonly EnableTagOverride: boolean;
  readonly Weights: { readonly Passing: number; readonly Warning: number };
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** How the agent runs a check it owns (catalog-registered checks have none: their status is set from outside). */
export interface CheckDefinition {
  readonly TTLMs?: number;
  readonly TCP?: string;
  readonly HTTP?: string;
  readonly Method?: string;
  readonly IntervalMs?: number;
  readonly TimeoutMs?: number;
  /** An alias check mirrors the health of another service on this node. */
  readonly AliasService?: string;
  readonly DeregisterCriticalServiceAfterMs?: number;
}

export interface CheckRow {
  readonly Node: string;
  readonly CheckID: string;
  readonly Name: string;
  readonly Status: HealthStatus;
  readonly Notes: string;
  readonly Output: string;
  readonly ServiceID: string;
  readonly ServiceName: string;
  readonly ServiceTags: readonly string[];
  /** Consul's check type: "ttl", "tcp", "http", "alias", or "" for a catalog-registered check. */
  readonly Type: string;
  readonly Definition: CheckDefinition;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface QueryFailover {
  readonly NearestN: number;
  readonly Datacenters: readonly string[];
}

export interface PreparedQueryRow {
  readonly ID: string;
  readonly Name: string;
  readonly Session: string;
  readonly Token: string;
  readonly Template: { readonly Type: string; readonly Regexp: string; readonly RemoveEmptyTags: boolean };
  readonly Service: {
    readonly Service: string;
    readonly Failover: QueryFailover;
    readonly OnlyPassing: boolean;
    readonly IgnoreCheckIDs: readonly string[];
    readonly Near: string;
    readonly Tags: readonly string[];
    readonly NodeMeta: Readonly<Record<string, string>>;
    readonly ServiceMeta: Readonly<Record<string, string>>;
    readonly Connect: { readonly Enabled: boolean };
  };
  readonly DNS: { readonly TTL: string };
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** One instance with its node and checks: Consul's CheckServiceNode (`/v1/health/service/:name`). */
export interface ServiceInstance {
  readonly node: NodeRow;
  readonly service: ServiceRow;
  readonly checks: readonly CheckRow[];
}
