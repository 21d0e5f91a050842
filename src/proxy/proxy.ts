import { createServer as createTcpServer, connect as tcpConnect, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, createServer as createTlsServer, type SecureContext, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { z } from 'zod';
import { TrellisError, errorMessage, type Logger } from '../common/index.js';
import { createAgentClient, endpointOf, watch, type AgentClient, type Endpoint, type LeafResponse, type RootsResponse } from './agent-client.js';
import { identityMismatch, uriSans, type UpstreamSpec } from './upstreams.js';

const optionsSchema = z.strictObject({
  /** The service this proxy speaks for: its leaf certificate and the Target of authorize. */
  service: z.string().min(1).max(253),
  /** The local application (`host:port`); with it, the proxy accepts mTLS connections on `listen`. */
  serviceAddr: z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).optional(),
  listen: z.strictObject({ host: z.string().min(1), port: z.number().int().min(0).max(65535) }).optional(),
  upstreams: z
    .array(
      z.strictObject({
        destinationType: z.enum(['service', 'prepared_query']),
        destinationName: z.string().min(1),
        datacenter: z.string(),
        localBindAddress: z.string().min(1),
        localBindPort: z.number().int().min(0).max(65535),
      }),
    )
    .default([]),
  agentHttpUrl: z.string().url(),
  token: z.string().optional(),
  /** @default 1000 */
  connectTimeoutMs: z.number().int().min(1).default(1000),
  /** How long a prepared query's answer is reused before it is executed again. @default 2000 */
  queryRefreshMs: z.number().int().min(0).default(2000),
});

export type ProxyOptions = z.input<typeof optionsSchema>;

export interface ProxyStatus {
  readonly service: string;
  readonly leafSerial: string | null;
  readonly inbound: { readonly address: string | null; readonly accepted: number; readonly authorized: number; readonly denied: number; readonly handshakeFailures: number };
  readonly upstreams: ReadonlyArray<{ readonly name: string; readonly type: string; readonly datacenter: string; readonly address: string; readonly connections: number; readonly dialFailures: number; readonly identityMismatches: number; readonly endpoints: number }>;
}

export interface Proxy {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): ProxyStatus;
  /** The listeners' real addresses once started (port 0 picks a free one). */
  addresses(): { inbound: AddressInfo | undefined; upstreams: ReadonlyMap<string, AddressInfo> };
}

interface UpstreamState {
  readonly spec: UpstreamSpec;
  readonly key: string;
  server: TcpServer | undefined;
  endpoints: Endpoint[];
  fetchedAt: number;
  next: number;
  connections: number;
  dialFailures: number;
  identityMismatches: number;
  /** For a prepared query: the service its last execution answered for (what the certificate must name). */
  queryService: string;
  stopWatch: (() => void) | undefined;
}

/**
 * The built-in Connect proxy (Consul's `connect proxy`): an mTLS listener in front of the local
 * service that authorizes every new connection with the agent, and plain local listeners for
 * upstreams that dial the destination's proxy over mTLS, checking its SPIFFE identity.
 * Certificates and roots follow blocking queries; a rotation changes the TLS context for new
 * connections and leaves open ones alone.
 */
export function createProxy(rawOptions: ProxyOptions, { logger }: { logger: Logger }): Proxy {
  const parsed = optionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new TrellisError('E_VALIDATION', `invalid proxy options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const options = Object.freeze(parsed.data);
  const log = logger.child({ component: 'proxy', service: options.service });
  const agent: AgentClient = createAgentClient(options.agentHttpUrl.replace(/\/$/, ''), options.token);
  let leaf: LeafResponse | undefined;
  let roots: RootsResponse | undefined;
  let context: SecureContext | undefined;
  let inbound: TlsServer | undefined;
  const sockets = new Set<Socket>();
  const counters = { accepted: 0, authorized: 0, denied: 0, handshakeFailures: 0 };
  const upstreams: UpstreamState[] = options.upstreams.map((spec) => ({
    spec,
    key: `${spec.destinationType === 'prepared_query' ? `${spec.destinationName}.query` : spec.destinationName}:${spec.localBindPort}`,
    server: undefined,
    endpoints: [],
    fetchedAt: 0,
    next: 0,
    connections: 0,
    dialFailures: 0,
    identityMismatches: 0,
    queryService: '',
    stopWatch: undefined,
  }));
  const stops: Array<() => void> = [];

  const caBundle = () => (roots?.Roots ?? []).map((r) => r.RootCert);
  const tlsMaterial = () => ({ key: leaf?.PrivateKeyPEM ?? '', cert: leaf?.CertPEM ?? '', ca: caBundle(), minVersion: 'TLSv1.2' as const });

  function refreshContext(): void {
    if (!leaf || !roots) return;
    context = createSecureContext(tlsMaterial());
    // New handshakes use the new certificate and roots; established connections keep theirs.
    inbound?.setSecureContext(tlsMaterial());
    log.info({ serial: leaf.SerialNumber, roots: roots.Roots.length }, 'TLS material loaded');
  }

  function track(socket: Socket): void {
    // Small writes (handshakes, request/response protocols) must not wait for Nagle + delayed ACK.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  }

  /** Joins two sockets; either end closing or failing closes the other. */
  function splice(a: Socket, b: Socket): void {
    a.pipe(b);
    b.pipe(a);
    const close = () => {
      a.destroy();
      b.destroy();
    };
    a.once('error', close);
    b.once('error', close);
    a.once('close', close);
    b.once('close', close);
  }

  async function onInbound(socket: TLSSocket): Promise<void> {
    counters.accepted++;
    const peer = socket.getPeerCertificate();
    const uri = uriSans(peer.subjectaltname)[0] ?? '';
    const serial = (peer.serialNumber ?? '').toLowerCase().replace(/(..)(?!$)/g, '$1:');
    let verdict: { Authorized: boolean; Reason: string };
    try {
      verdict = await agent.authorize(options.service, uri, serial);
    } catch (err) {
      verdict = { Authorized: false, Reason: `authorize failed: ${errorMessage(err)}` };
    }
    if (!verdict.Authorized) {
      counters.denied++;
      log.warn({ client: uri, reason: verdict.Reason }, 'connection refused: not authorized');
      socket.destroy();
      return;
    }
    counters.authorized++;
    const target = options.serviceAddr;
    if (!target) {
      socket.destroy();
      return;
    }
    const app = tcpConnect({ host: target.host, port: target.port, noDelay: true });
    track(app);
    const timer = setTimeout(() => app.destroy(new Error(`connect timeout after ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
    app.once('connect', () => clearTimeout(timer));
    app.once('error', (err) => {
      clearTimeout(timer);
      log.warn({ err: errorMessage(err), service: `${target.host}:${target.port}` }, 'local service unreachable');
    });
    splice(socket, app);
  }

  async function resolveEndpoints(u: UpstreamState, force: boolean): Promise<Endpoint[]> {
    if (u.spec.destinationType === 'service') {
      if (force || u.endpoints.length === 0) {
        const dc = u.spec.datacenter ? `&dc=${encodeURIComponent(u.spec.datacenter)}` : '';
        const { body } = await agent.get<unknown[]>(`/v1/health/connect/${encodeURIComponent(u.spec.destinationName)}?passing=1${dc}`);
        u.endpoints = body.map(endpointOf).filter((e): e is Endpoint => e !== undefined);
      }
      return u.endpoints;
    }
    if (force || Date.now() - u.fetchedAt > options.queryRefreshMs || u.endpoints.length === 0) {
      const dc = u.spec.datacenter ? `&dc=${encodeURIComponent(u.spec.datacenter)}` : '';
      const { body } = await agent.get<{ Service: string; Nodes: unknown[] }>(`/v1/query/${encodeURIComponent(u.spec.destinationName)}/execute?connect=true${dc}`);
      u.endpoints = body.Nodes.map(endpointOf).filter((e): e is Endpoint => e !== undefined);
      u.queryService = body.Service;
      u.fetchedAt = Date.now();
    }
    return u.endpoints;
  }

  /** The service name an upstream's certificate must carry: the query's service for prepared queries. */
  const expectedService = (u: UpstreamState) => (u.spec.destinationType === 'service' ? u.spec.destinationName : u.queryService);

  function dial(endpoint: Endpoint, service: string, u: UpstreamState): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const trustDomain = roots?.TrustDomain ?? '';
      let mismatch: string | undefined;
      const socket = tlsConnect({
        host: endpoint.address,
        port: endpoint.port,
        ...(context ? { secureContext: context } : {}),
        // Identity is the SPIFFE URI, not a host name: a certificate for another service is refused.
        checkServerIdentity: (_host, cert) => {
          mismatch = identityMismatch(cert.subjectaltname, service, trustDomain);
          return mismatch ? new Error(mismatch) : undefined;
        },
      });
      const timer = setTimeout(() => socket.destroy(new Error(`connect timeout after ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      socket.once('error', (err: Error) => {
        clearTimeout(timer);
        if (mismatch) u.identityMismatches++;
        reject(err);
      });
    });
  }

  async function onUpstream(u: UpstreamState, client: Socket): Promise<void> {
    client.pause();
    track(client);
    u.connections++;
    let endpoints: Endpoint[];
    try {
      endpoints = await resolveEndpoints(u, false);
    } catch (err) {
      log.warn({ upstream: u.key, err: errorMessage(err) }, 'cannot resolve upstream');
      client.destroy();
      return;
    }
    // Round-robin over healthy endpoints; on a dial failure try the next, refreshing the list once.
    let refreshed = false;
    for (let attempt = 0; attempt < Math.max(endpoints.length, 1) && !client.destroyed; attempt++) {
      if (endpoints.length === 0) break;
      const endpoint = endpoints[u.next++ % endpoints.length] as Endpoint;
      try {
        const server = await dial(endpoint, expectedService(u), u);
        if (client.destroyed) {
          server.destroy();
          return;
        }
        track(server);
        splice(client, server);
        client.resume();
        return;
      } catch (err) {
        u.dialFailures++;
        log.warn({ upstream: u.key, endpoint: `${endpoint.address}:${endpoint.port}`, datacenter: endpoint.datacenter, err: errorMessage(err) }, 'upstream dial failed; trying the next instance');
        if (!refreshed && attempt === endpoints.length - 1) {
          refreshed = true;
          try {
            endpoints = await resolveEndpoints(u, true);
            attempt = -1;
          } catch {
            break;
          }
        }
      }
    }
    log.warn({ upstream: u.key }, 'no upstream instance could be reached; closing the connection');
    client.destroy();
  }

  function listen(server: TcpServer | TlsServer, host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  return {
    async start() {
      // Leaf and roots first: nothing listens before it can speak mTLS.
      const leafWatch = watch<LeafResponse>(agent, `/v1/agent/connect/ca/leaf/${encodeURIComponent(options.service)}`, (body) => {
        leaf = body;
        refreshContext();
      }, (err) => log.warn({ err: errorMessage(err) }, 'leaf certificate watch failed; retrying'));
      const rootsWatch = watch<RootsResponse>(agent, '/v1/agent/connect/ca/roots', (body) => {
        roots = body;
        refreshContext();
      }, (err) => log.warn({ err: errorMessage(err) }, 'CA roots watch failed; retrying'));
      stops.push(leafWatch.stop, rootsWatch.stop);
      try {
        await Promise.all([leafWatch.first, rootsWatch.first]);
      } catch (err) {
        for (const stop of stops) stop();
        throw new TrellisError('E_UNAVAILABLE', `cannot get a certificate for ${options.service} from the agent at ${options.agentHttpUrl}: ${errorMessage(err)}`, { cause: err });
      }
      if (options.serviceAddr || options.listen) {
        if (!options.listen) throw new TrellisError('E_VALIDATION', '-service-addr needs -listen: the address the proxy accepts mTLS connections on');
        const server = createTlsServer({ ...tlsMaterial(), requestCert: true, rejectUnauthorized: true, noDelay: true }, (socket) => {
          track(socket);
          void onInbound(socket);
        });
        server.on('tlsClientError', (err: NodeJS.ErrnoException) => {
          counters.handshakeFailures++;
          // A TCP health check connecting and hanging up ends like this too: not worth a warning each time.
          if (err.code === 'ECONNRESET') {
            log.debug({ err: errorMessage(err) }, 'inbound connection reset during the TLS handshake');
            return;
          }
          log.warn({ err: errorMessage(err) }, 'inbound TLS handshake failed (client certificate missing or not from this CA)');
        });
        inbound = server;
        await listen(server, options.listen.host, options.listen.port);
      }
      for (const u of upstreams) {
        if (u.spec.destinationType === 'service') {
          // Healthy instances follow a blocking query; a dial failure also refreshes them.
          const dc = u.spec.datacenter ? `&dc=${encodeURIComponent(u.spec.datacenter)}` : '';
          const w = watch<unknown[]>(agent, `/v1/health/connect/${encodeURIComponent(u.spec.destinationName)}?passing=1${dc}`, (body) => {
            u.endpoints = body.map(endpointOf).filter((e): e is Endpoint => e !== undefined);
          }, (err) => log.warn({ upstream: u.key, err: errorMessage(err) }, 'upstream watch failed; retrying'));
          u.stopWatch = w.stop;
        }
        const server = createTcpServer({ noDelay: true }, (client) => void onUpstream(u, client));
        u.server = server;
        await listen(server, u.spec.localBindAddress, u.spec.localBindPort);
      }
    },
    async stop() {
      for (const stop of stops) stop();
      for (const u of upstreams) u.stopWatch?.();
      const closing = [inbound, ...upstreams.map((u) => u.server)].filter((s): s is TcpServer => s !== undefined).map((s) => new Promise<void>((r) => s.close(() => r())));
      for (const s of sockets) s.destroy();
      await Promise.all(closing);
    },
    status() {
      const address = inbound?.address();
      return {
        service: options.service,
        leafSerial: leaf?.SerialNumber ?? null,
        inbound: { address: address && typeof address === 'object' ? `${address.address}:${address.port}` : null, ...counters },
        upstreams: upstreams.map((u) => {
          const a = u.server?.address();
          return {
            name: u.spec.destinationName,
            type: u.spec.destinationType,
            datacenter: u.spec.datacenter,
            address: a && typeof a === 'object' ? `${a.address}:${a.port}` : '',
            connections: u.connections,
            dialFailures: u.dialFailures,
            identityMismatches: u.identityMismatches,
            endpoints: u.endpoints.length,
          };
        }),
      };
    },
    addresses() {
      const a = inbound?.address();
      const map = new Map<string, AddressInfo>();
      for (const u of upstreams) {
        const ua = u.server?.address();
        if (ua && typeof ua === 'object') map.set(u.key, ua);
      }
      return { inbound: a && typeof a === 'object' ? a : undefined, upstreams: map };
    },
  };
}
