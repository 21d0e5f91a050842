/** The agent's HTTP API as the CLI uses it: Consul's endpoints over fetch, Consul's error format. */
export interface ConsulIntention {
  readonly ID: string;
  readonly SourceNS?: string;
  readonly SourceName: string;
  readonly DestinationNS?: string;
  readonly DestinationName: string;
  readonly SourceType?: string;
  readonly Action: string;
  readonly Description?: string;
  readonly Meta?: Record<string, string>;
  readonly Precedence?: number;
  readonly CreatedAt?: string;
  readonly UpdatedAt?: string;
  readonly CreateIndex?: number;
  readonly ModifyIndex?: number;
}

export interface AclPolicy {
  readonly ID: string;
  readonly Name: string;
  readonly Description: string;
  readonly Rules?: string;
  readonly Datacenters: string[] | null;
  readonly Hash?: string;
  readonly CreateIndex?: number;
  readonly ModifyIndex?: number;
}

export interface AclToken {
  readonly AccessorID: string;
  readonly SecretID: string;
  readonly Description: string;
  readonly Policies: Array<{ ID: string; Name: string }>;
  readonly Local: boolean;
  readonly CreateTime: string;
  readonly ExpirationTime?: string;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, body: string) {
    // Consul's API client says it this way; scripts grep for it.
    super(`Unexpected response code: ${status} (${body.trim()})`);
    this.name = 'ApiError';
    this.status = status;
  }
}

export interface ApiClientOptions {
  readonly address: string;
  readonly token?: string | undefined;
  readonly datacenter?: string | undefined;
}

export function createApiClient({ address, token, datacenter }: ApiClientOptions) {
  async function call<T>(method: string, path: string, query: Record<string, string | string[]> = {}, body?: unknown): Promise<T> {
    const url = new URL(path, `${address}/`);
    for (const [k, v] of Object.entries(query)) for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, item);
    if (datacenter) url.searchParams.set('dc', datacenter);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: token ? { 'X-Consul-Token': token } : {},
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`Error connecting to the agent at ${address}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    if (!res.ok) throw new ApiError(res.status, text);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
  return {
    list: (at?: string) => call<ConsulIntention[]>('GET', '/v1/connect/intentions', at ? { at } : {}),
    create: (ixn: Partial<ConsulIntention>) => call<{ ID: string }>('POST', '/v1/connect/intentions', {}, ixn),
    upsertExact: (source: string, destination: string, ixn: Partial<ConsulIntention>) =>
      call<boolean>('PUT', '/v1/connect/intentions/exact', { source, destination }, ixn),
    getExact: (source: string, destination: string) => call<ConsulIntention>('GET', '/v1/connect/intentions/exact', { source, destination }),
    getById: (id: string) => call<ConsulIntention>('GET', `/v1/connect/intentions/${encodeURIComponent(id)}`),
    deleteExact: (source: string, destination: string) => call<boolean>('DELETE', '/v1/connect/intentions/exact', { source, destination }),
    deleteById: (id: string) => call<boolean>('DELETE', `/v1/connect/intentions/${encodeURIComponent(id)}`),
    check: (source: string, destination: string, at?: string) => call<{ Allowed: boolean }>('GET', '/v1/connect/intentions/check', { source, destination, ...(at ? { at } : {}) }),
    match: (by: 'source' | 'destination', name: string) => call<Record<string, ConsulIntention[]>>('GET', '/v1/connect/intentions/match', { by, name }),
    caRoots: () => call<{ ActiveRootID: string; TrustDomain: string; Roots: Array<Record<string, unknown>> }>('GET', '/v1/connect/ca/roots'),
    caConfiguration: () => call<Record<string, unknown>>('GET', '/v1/connect/ca/configuration'),
    setCaConfiguration: (config: unknown) => call<undefined>('PUT', '/v1/connect/ca/configuration', {}, config),
    rotateCa: () => call<{ ActiveRootID: string; Index: number }>('PUT', '/v1/trellis/ca/rotate'),
    aclPolicyCreate: (body: Record<string, unknown>) => call<AclPolicy>('PUT', '/v1/acl/policy', {}, body),
    aclPolicyUpdate: (id: string, body: Record<string, unknown>) => call<AclPolicy>('PUT', `/v1/acl/policy/${encodeURIComponent(id)}`, {}, body),
    aclPolicies: () => call<AclPolicy[]>('GET', '/v1/acl/policies'),
    aclPolicy: (id: string) => call<AclPolicy>('GET', `/v1/acl/policy/${encodeURIComponent(id)}`),
    aclPolicyByName: (name: string) => call<AclPolicy>('GET', `/v1/acl/policy/name/${encodeURIComponent(name)}`),
    aclPolicyDelete: (id: string) => call<boolean>('DELETE', `/v1/acl/policy/${encodeURIComponent(id)}`),
    aclTokenCreate: (body: Record<string, unknown>) => call<AclToken>('PUT', '/v1/acl/token', {}, body),
    aclTokens: () => call<AclToken[]>('GET', '/v1/acl/tokens'),
    aclToken: (accessor: string) => call<AclToken>('GET', `/v1/acl/token/${encodeURIComponent(accessor)}`),
    aclTokenSelf: () => call<AclToken>('GET', '/v1/acl/token/self'),
    aclTokenDelete: (accessor: string) => call<boolean>('DELETE', `/v1/acl/token/${encodeURIComponent(accessor)}`),
    leaf: (service: string) =>
      call<{ SerialNumber: string; CertPEM: string; PrivateKeyPEM: string; ServiceURI: string; ValidBefore: string }>('GET', `/v1/agent/connect/ca/leaf/${encodeURIComponent(service)}`),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
