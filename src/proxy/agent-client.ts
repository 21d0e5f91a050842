import { TrellisError, errorMessage } from '../common/index.js';

/** The slice of the local agent's HTTP API (Consul's) the proxy uses. */
export interface LeafResponse {
  readonly SerialNumber: string;
  readonly CertPEM: string;
  readonly PrivateKeyPEM: string;
  readonly ServiceURI: string;
  readonly ModifyIndex: number;
}

export interface RootsResponse {
  readonly ActiveRootID: string;
  readonly TrustDomain: string;
  readonly Roots: ReadonlyArray<{ readonly ID: string; readonly RootCert: string }>;
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly node: string;
  readonly datacenter: string;
}

export interface AgentClient {
  /** GET with Consul's blocking semantics: resolves with the body and X-Consul-Index. */
  get<T>(path: string, index?: number, signal?: AbortSignal): Promise<{ body: T; index: number }>;
  put(path: string, body: unknown): Promise<void>;
  authorize(target: string, clientCertUri: string, clientCertSerial: string): Promise<{ Authorized: boolean; Reason: string }>;
}

export function createAgentClient(baseUrl: string, token?: string): AgentClient {
  const headers: Record<string, string> = token ? { 'X-Consul-Token': token } : {};
  async function request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new TrellisError('E_UNAVAILABLE', `cannot reach the agent at ${baseUrl}: ${errorMessage((err as { cause?: unknown }).cause ?? err)}`, { cause: err });
    }
    if (!res.ok) {
      const text = (await res.text()).trim();
      throw new TrellisError(res.status === 404 ? 'E_NOT_FOUND' : res.status < 500 ? 'E_VALIDATION' : 'E_UNAVAILABLE', `${method} ${path}: ${res.status} ${text}`);
    }
    return res;
  }
  return {
    async get<T>(path: string, index = 0, signal?: AbortSignal) {
      const sep = path.includes('?') ? '&' : '?';
      const res = await request('GET', index > 0 ? `${path}${sep}index=${index}&wait=55s` : path, undefined, signal);
      return { body: (await res.json()) as T, index: Number(res.headers.get('x-consul-index') ?? 0) };
    },
    async put(path, body) {
      await request('PUT', path, body);
    },
    async authorize(target, clientCertUri, clientCertSerial) {
      const res = await request('POST', '/v1/agent/connect/authorize', { Target: target, ClientCertURI: clientCertUri, ClientCertSerial: clientCertSerial });
      return (await res.json()) as { Authorized: boolean; Reason: string };
    },
  };
}

/** The address to dial for a Consul CheckServiceNode: the service's address, else its node's. */
export function endpointOf(instance: unknown): Endpoint | undefined {
  const i = instance as { Node?: { Node?: string; Address?: string; Datacenter?: string }; Service?: { Address?: string; Port?: number } };
  const address = i.Service?.Address || i.Node?.Address;
  const port = i.Service?.Port;
  if (!address || !port) return undefined;
  return { address, port, node: i.Node?.Node ?? '', datacenter: i.Node?.Datacenter ?? '' };
}

/**
 * Keeps a blocking query's latest answer: `onChange` runs for each new index. Errors back off
 * (1 s, doubling to 15 s); `stop()` aborts the request in flight.
 */
export function watch<T>(client: AgentClient, path: string, onChange: (body: T, index: number) => void, onError: (err: unknown) => void): { first: Promise<void>; stop: () => void } {
  const controller = new AbortController();
  let index = 0;
  let backoffMs = 1000;
  let resolveFirst: () => void = () => undefined;
  let rejectFirst: (err: unknown) => void = () => undefined;
  const first = new Promise<void>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  let started = false;
  const loop = async () => {
    while (!controller.signal.aborted) {
      try {
        const { body, index: next } = await client.get<T>(path, index, controller.signal);
        backoffMs = 1000;
        // An index that goes backwards (agent restarted) starts over, as Consul's clients do.
        if (next < index) index = 0;
        if (next !== index || !started) {
          index = next;
          onChange(body, next);
          if (!started) {
            started = true;
            resolveFirst();
          }
        }
      } catch (err) {
        if (controller.signal.aborted) return;
        if (!started) rejectFirst(err);
        onError(err);
        await new Promise((r) => setTimeout(r, backoffMs).unref());
        backoffMs = Math.min(backoffMs * 2, 15_000);
      }
    }
  };
  void loop();
  first.catch(() => undefined);
  return { first, stop: () => controller.abort() };
}
