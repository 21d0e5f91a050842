import { readFileSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { TrellisError, errorMessage, type Logger } from '../common/index.js';
import { createEventLog, createWriter, ensureStream, eventsMirrorDefinition, eventsStreamDefinition, readEvents, streamInfo, type EventLog, type Writer } from '../log/index.js';
import { createSnapshotStore, createSnapshotter, loadNewestSnapshot, newestSnapshot } from '../snapshot/index.js';
import { EVENTS_STREAM, GENESIS_PREV, SCHEMA_VERSION, chainEvent, type Origin } from '../events/index.js';
import { openView, type View } from '../view/index.js';
import { createProjector, type Projector } from '../projector/index.js';
import { createIntentionService, parseForwardedWrite, type IntentionService, type IntentionWrite } from '../intentions/index.js';
import { createRpcClient, createRpcServer, RpcUnreachableError, type RpcServer } from '../rpc/index.js';
import { buildApi, type ApiContext, type ForwardedRequest, type ForwardedResponse } from '../api/index.js';
import { createCatalogService, openCatalog, toConsulInstance, type ExecuteResult, type QuerySpec } from '../catalog/index.js';
import { startDnsServer } from '../dns/index.js';
import { stateAt } from '../audit/index.js';
import { createWanMonitor } from './wan.js';
import type { AgentConfig } from './config.js';
import { connectNats } from './nats-connect.js';
import { bootstrapInitialManagement, createAclResolver } from '../acl/index.js';
import { bootstrapCa, caKeyStore } from './ca-bootstrap.js';
import { createCertificateAuthority, createLeafSigner, parseCaConfigurationBody, type CertificateAuthority } from '../ca/index.js';
import { startCaMaintenance } from './ca-maintenance.js';
import { z } from 'zod';
import { createReplicationMonitor, type ReplicationMonitor } from './replication.js';

/** One datacenter's running agent. */
export interface Agent {
  readonly config: AgentConfig;
  /** `http://host:port` the API listens on. */
  readonly httpUrl: string;
  /** `https://host:port` when ports.https is set. */
  readonly httpsUrl: string | undefined;
  /** The UDP port of the DNS interface (undefined when disabled). */
  readonly dnsPort: number | undefined;
  readonly view: View;
  readonly projector: Projector;
  readonly replication: ReplicationMonitor;
  readonly intentions: IntentionService;
  readonly authority: CertificateAuthority;
  readonly app: FastifyInstance;
  readonly nc: NatsConnection;
  stop(): Promise<void>;
}

export interface AgentDeps {
  readonly logger: Logger;
  /** Discard the local view and rebuild it from the log (a view of another layout version, a suspected corruption). */
  readonly rebuild?: boolean;
  /** How long start-up waits for this datacenter's nats-server. @default forever (it says so every few seconds) */
  readonly natsStartupTimeoutMs?: number;
  /** How long a forwarded write waits for the primary: with the WAN down it fails within 2 s. @default 1500 */
  readonly forwardTimeoutMs?: number;
  /** How long start-up waits for the view to catch up with the local stream. @default 30000 */
  readonly catchUpTimeoutMs?: number;
  /** @default false: tests start many agents in one process */
  readonly collectProcessMetrics?: boolean;
  /** The CA's clock (certificate validity, renewal at half-life, root pruning). @default Date.now */
  readonly caClock?: () => number;
  /** How often a secondary checks its intermediate's half-life and the primary prunes old roots. @default 60000 */
  readonly caCheckIntervalMs?: number;
}

/** Starts an agent: stream or mirror, view, projector, writer (primary) or forwarding (secondary), RPC, HTTP. */
export async function startAgent(config: AgentConfig, { logger, forwardTimeoutMs = 1500, catchUpTimeoutMs = 30_000, collectProcessMetrics = false, caClock = Date.now, caCheckIntervalMs = 60_000, rebuild = false, natsStartupTimeoutMs }: AgentDeps): Promise<Agent> {
  const { datacenter, primaryDatacenter: primary } = config;
  const isPrimary = datacenter === primary;
  const log = logger.child({ dc: datacenter });
  const registry = new Registry();
  registry.setDefaultLabels({ datacenter });
  if (collectProcessMetrics) collectDefaultMetrics({ register: registry });
  const cleanups: Array<() => Promise<void> | void> = [];
  let stopping: Promise<void> | undefined;
  // Stops in reverse order of start (HTTP first, NATS last); a second call waits for the first.
  const stopAll = () => (stopping ??= runCleanups());
  const runCleanups = async () => {
    for (const fn of [...cleanups].reverse()) {
      try {
        await fn();
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'error during shutdown');
      }
    }
  };

  try {
    const nc = await connectNats({ url: config.natsUrl, credentialsFile: config.natsCredentialsFile, name: `trellis-agent-${datacenter}`, logger: log, ...(natsStartupTimeoutMs ? { startupTimeoutMs: natsStartupTimeoutMs } : {}) });
    cleanups.push(() => nc.drain().catch(() => nc.close()));
    // The agent's own JetStream domain: a secondary never reads the primary's stream across the WAN.
    const jsm = await jetstreamManager(nc, { domain: datacenter }).catch((err: unknown) => {
      throw new TrellisError(
        'E_CONFIG',
        `JetStream domain ${datacenter} is not served at ${config.natsUrl} (${errorMessage(err)}): this datacenter's nats-server needs \`jetstream { domain: ${datacenter} }\` (see deploy/nats)`,
        { cause: err },
      );
    });
    const js = jetstream(nc, { domain: datacenter });
    if (rebuild) {
      // The view is derived data: the stream is the truth. Rebuilding is a replay from sequence 1.
      log.warn({ path: join(config.dataDir, 'view') }, 'rebuilding the view from the event log (-rebuild)');
      rmSync(join(config.dataDir, 'view'), { recursive: true, force: true });
    }
    const view = openView({ path: join(config.dataDir, 'view'), logger: log });
    cleanups.push(() => view.close());
    let eventLog: EventLog | undefined;
    if (isPrimary) {
      const stream = await ensureStream(jsm, eventsStreamDefinition(), log);
      const primaryLog = createEventLog({ nc, jsm });
      eventLog = primaryLog;
      cleanups.push(() => primaryLog.close());
      if (stream.state.last_seq === 0) await startLog(primaryLog, primary, log);
    } else {
      // A new secondary (an empty view) starts from the primary's newest snapshot, unless it is
      // rebuilding from a local stream that holds the whole log (a rebuild replays the log itself).
      const local = await streamInfo(jsm, EVENTS_STREAM);
      const localFromStart = local !== undefined && local.state.first_seq <= 1 && local.state.messages > 0;
      if (config.snapshots.bootstrap && view.appliedSeq() === 0 && !(rebuild && localFromStart)) {
        await loadNewestSnapshot({ primaryJs: jetstream(nc, { domain: primary }), view, logger: log });
      }
      await ensureStream(jsm, mirrorDefinition(), log);
    }
    /**
     * A view started from a snapshot has its mirror copy the log from the event after that
     * snapshot (made again from there if the leaf server loses its store): the local log then
     * always begins at a snapshot boundary, from which a replay can start. Otherwise from 1.
     */
    function mirrorDefinition() {
      const origin = view.snapshotOrigin();
      return eventsMirrorDefinition(primary, config.snapshots.fullHistory || !origin ? undefined : origin.seq + 1);
    }
    const projector = createProjector({ js, view, logger: log, registry });
    projector.start();
    cleanups.push(() => projector.stop());
    // Serve from a view that has caught up with what the local stream held at start (bounded:
    // a long backlog keeps applying while the agent serves, and the replication status says so).
    const startSeq = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
    if (!(await view.waitForSeq(startSeq, catchUpTimeoutMs))) {
      log.warn({ appliedSeq: view.appliedSeq(), streamSeq: startSeq }, 'serving before the view caught up with the local stream');
    }

    const rpcClient = createRpcClient({ nc, datacenter, logger: log, registry });
    const rpcServer: RpcServer = createRpcServer({ nc, datacenter, logger: log, registry });
    cleanups.push(() => rpcServer.close());

    let writer: Writer | undefined;
    const keys = caKeyStore(config.dataDir, config.caKeyPassphraseFile, log);
    if (eventLog) {
      const primaryWriter = createWriter({ log: eventLog, view, logger: log, registry });
      writer = primaryWriter;
      cleanups.push(() => primaryWriter.close());
      await bootstrapCa({ keys, datacenter, writer: primaryWriter, view, logger: log, config: config.caConfig, now: caClock });
      if (config.snapshots.intervalEvents > 0) {
        const store = await createSnapshotStore(js);
        const snapshotter = createSnapshotter({
          datacenter,
          view,
          writer: primaryWriter,
          store,
          logger: log,
          registry,
          intervalEvents: config.snapshots.intervalEvents,
          retain: config.snapshots.retain,
          ...(await newestSnapshot(store).then((newest) => (newest ? { newest } : {}))),
        });
        cleanups.push(() => snapshotter.stop());
      }
    }
    const acl = createAclResolver({ settings: config.acl, view, datacenter });
    if (writer && config.acl.enabled && config.acl.initialManagement) {
      await bootstrapInitialManagement(writer, config.acl.initialManagement, datacenter, Date.now());
    }
    const authority = createCertificateAuthority({
      datacenter,
      primary,
      view,
      keys,
      writer,
      logger: log,
      now: caClock,
      requestSignature: (csr) => rpcClient.call(primary, 'ca', 'sign', { csr }, { timeoutMs: 5000 }),
    });
    if (isPrimary) {
      rpcServer.serve('ca', 'sign', async (payload, caller) => {
        const parsed = z.strictObject({ csr: z.string().max(16 * 1024) }).safeParse(payload);
        if (!parsed.success) {
          const reason = 'CSR refused: the request must be {csr: <PEM>} of at most 16 KiB';
          const sent = (payload as { csr?: unknown } | null)?.csr;
          await authority.recordCsrRefusal(caller, reason, typeof sent === 'string' ? sent : JSON.stringify(payload ?? null).slice(0, 1 << 20));
          throw new TrellisError('E_VALIDATION', reason);
        }
        return authority.signIntermediate(parsed.data.csr, caller);
      });
      // Configuration changes and rotations forwarded by secondaries: the body is validated again here.
      // The client's token travels with the write; the primary checks it again against its own view.
      rpcServer.serve('ca', 'config', async (payload, caller) => {
        const { body, token, origin } = parseForwardedCaWrite(payload);
        const authz = acl.resolve(token);
        authz.require('operator', 'write');
        await authority.setConfiguration(parseCaConfigurationBody(body), `${authz.accessorId}@${caller}`, origin ? { ...origin, dc: caller } : undefined);
        return true;
      });
      rpcServer.serve('ca', 'rotate', async (payload, caller) => {
        const { token, origin } = parseForwardedCaWrite(payload);
        const authz = acl.resolve(token);
        authz.require('operator', 'write');
        return authority.rotate(`${authz.accessorId}@${caller}`, origin ? { ...origin, dc: caller } : undefined);
      });
    }
    /** A CA write from a secondary goes to the primary; with the WAN down it fails fast with 503. */
    const forwardCa = async <T>(verb: 'config' | 'rotate', payload: { body?: unknown; actor: string; token?: string; origin: Origin }): Promise<T> => {
      try {
        return await rpcClient.call<T>(primary, 'ca', verb, payload, { timeoutMs: Math.max(forwardTimeoutMs, 15_000) });
      } catch (err) {
        if (err instanceof RpcUnreachableError) {
          throw new TrellisError('E_PRIMARY_UNREACHABLE', `primary datacenter ${primary} is unreachable (${err.reason}): the CA change was not applied`, { cause: err });
        }
        throw err;
      }
    };
    const caApi = {
      async setConfiguration(body: unknown, actor: string, origin: Origin, token?: string) {
        // Bad input is refused here, WAN or not; the primary checks again (the token too).
        const request = parseCaConfigurationBody(body);
        if (isPrimary) await authority.setConfiguration(request, actor, origin);
        else await forwardCa<boolean>('config', { body, actor, origin, ...(token ? { token } : {}) });
      },
      rotate: (actor: string, origin: Origin, token?: string) =>
        isPrimary ? authority.rotate(actor, origin) : forwardCa<{ rootId: string; index: number }>('rotate', { actor, origin, ...(token ? { token } : {}) }),
    };
    const intentions = createIntentionService({
      datacenter,
      primary,
      view,
      writer,
      logger: log,
      now: () => Date.now(),
      newId: () => randomUUID(),
      forward: async (write: IntentionWrite, actor: string, origin, token) => {
        try {
          return await rpcClient.call(primary, 'intentions', 'write', { write, actor, ...(token ? { token } : {}), ...(origin ? { origin } : {}) }, { timeoutMs: forwardTimeoutMs });
        } catch (err) {
          if (err instanceof RpcUnreachableError) {
            throw new TrellisError('E_PRIMARY_UNREACHABLE', `primary datacenter ${primary} is unreachable (${err.reason}): the write was not applied`, { cause: err });
          }
          throw err;
        }
      },
    });
    if (isPrimary) {
      rpcServer.serve('intentions', 'write', async (payload, caller) => {
        const { write, token, origin } = parseForwardedWrite(payload);
        // The forwarding datacenter is the authenticated caller: its claim of origin must agree. The
        // token is resolved here, not taken on the secondary's word.
        const authz = acl.resolve(token);
        return intentions.apply(write, { authz, actor: `${authz.accessorId}@${caller}` }, origin ? { ...origin, dc: caller } : undefined);
      });
    }

    const leafSigner = createLeafSigner({ datacenter, signer: () => authority.signer(), now: caClock });
    cleanups.push(() => leafSigner.close());
    cleanups.push(startCaMaintenance({ isPrimary, authority, leafSigner, view, logger: log, intervalMs: caCheckIntervalMs }));

    const replication = createReplicationMonitor({
      datacenter,
      primary,
      jsm,
      view,
      projector: () => projector.status(),
      logger: log,
      registry,
      ...(isPrimary ? {} : { recreateMirror: async () => void (await ensureStream(jsm, mirrorDefinition(), log)) }),
    });
    cleanups.push(() => replication.stop());
    await replication.refresh();

    const nodeName = config.nodeName ?? `${hostname()}-${datacenter}`;
    let dnsPort: number | undefined;
    const catalogStore = openCatalog({ path: join(config.dataDir, 'catalog'), logger: log });
    cleanups.push(() => catalogStore.close());
    const wan = createWanMonitor({
      nc,
      datacenter,
      primary,
      rpcClient,
      rpcServer,
      remembered: catalogStore.knownDatacenters(),
      remember: (dc) => catalogStore.rememberDatacenter(dc),
      logger: log,
      registry,
    });
    cleanups.push(() => wan.stop());
    /** Another datacenter's agent, over request/reply: unknown → Consul's 500, known but silent → 503. */
    const callDatacenter = async <T>(dc: string, service: string, verb: string, payload: unknown, timeoutMs: number): Promise<T> => {
      if (!wan.known().has(dc)) throw new TrellisError('E_UNKNOWN_DATACENTER', 'No path to datacenter');
      return rpcClient.call<T>(dc, service, verb, payload, { timeoutMs });
    };
    const catalog = createCatalogService({
      store: catalogStore,
      datacenter,
      node: { name: nodeName, address: config.advertiseAddress },
      logger: log,
      remoteExecute: (dc, spec) => callDatacenter(dc, 'catalog', 'query', spec, forwardTimeoutMs),
      datacentersByRtt: () => wan.byRtt(),
      sidecarPorts: config.sidecarPorts,
    });
    await catalog.start();
    cleanups.push(() => catalog.stop());
    rpcServer.serve('catalog', 'query', async (payload) => ({ Nodes: catalog.runSpec(parseQuerySpec(payload)).map(toConsulInstance) }));
    // A blocking query may wait up to 10 minutes (plus jitter) at the other end.
    const forwardRead = (dc: string, request: ForwardedRequest) => callDatacenter<ForwardedResponse>(dc, 'http', 'request', request, forwardTimeoutMs + 11 * 60_000);
    const apiContext: ApiContext = {
      limits: config.httpLimits,
      datacenter,
      primaryDatacenter: primary,
      nodeName,
      logger: log,
      registry,
      intentions: { view, service: intentions, defaultAllow: config.defaultIntentionPolicy === 'allow', stateAt: async (at) => stateAt(js, jsm, at) },
      ca: { view, leaf: (service, minIndex, waitMs, signal) => leafSigner.leaf(service, minIndex, waitMs, signal), ...caApi, status: () => ({ ...authority.status(), LeavesIssued: leafSigner.issued() }) },
      replication: () => replication.status(),
      appliedIndex: { current: () => view.appliedSeq(), wait: (minIndex, waitMs, signal) => view.waitForApplied(minIndex, waitMs, signal) },
      catalog: { service: catalog, datacenters: () => wan.byRtt(), peers: () => wan.peers() },
      events: { read: (fromSeq, toSeq, max) => readEvents(js, fromSeq, toSeq, max) },
      acl: {
        resolver: acl,
        view,
        ...(writer ? { submit: (decide) => writer.submit(`acl-${datacenter}-${randomUUID()}`, decide) } : {}),
      },
      forwardRead,
    };
    const app: FastifyInstance = buildApi(apiContext);
    rpcServer.serve('http', 'request', async (payload) => {
      const request = parseForwardedRequest(payload);
      const sent: Record<string, string> = {};
      if (request.body !== undefined) sent['content-type'] = 'application/json';
      if (request.token) sent['x-consul-token'] = request.token;
      const res = await app.inject({ method: request.method as 'GET', url: stripDc(request.url), headers: sent, ...(request.body === undefined ? {} : { payload: request.body }) });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string' && (k.startsWith('x-consul-') || k === 'content-type')) headers[k] = v;
      return { status: res.statusCode, headers, body: res.body } satisfies ForwardedResponse;
    });
    if (config.dnsPort !== undefined) {
      const local = { connect: false, limit: 0, near: '' };
      const dns = await startDnsServer(
        {
          datacenter,
          domain: config.domain,
          logger: log,
          // DNS has no token: as Consul, answers are what the default (or anonymous) token may read.
          lookupService: async (dc, spec) => {
            if (!acl.resolve(undefined).allowed('service', 'read', spec.Service)) return [];
            return dc === datacenter ? catalog.runSpec(spec).map(toConsulInstance) : (await callDatacenter<{ Nodes: Record<string, unknown>[] }>(dc, 'catalog', 'query', spec, forwardTimeoutMs)).Nodes;
          },
          executeQuery: async (dc, idOrName) => {
            if (dc === datacenter) return catalog.execute(idOrName, local);
            const res = await forwardRead(dc, { method: 'GET', url: `/v1/query/${encodeURIComponent(idOrName)}/execute` });
            if (res.status === 404) throw new TrellisError('E_NOT_FOUND', 'Query not found');
            if (res.status !== 200) throw new TrellisError('E_UNAVAILABLE', `datacenter ${dc} answered ${res.status}: ${res.body}`);
            return JSON.parse(res.body) as ExecuteResult;
          },
          nodeAddress: (node) => catalogStore.node(node)?.Address,
        },
        { host: config.httpAddress, port: config.dnsPort },
      );
      cleanups.push(() => dns.close());
      dnsPort = dns.port;
    }
    await app.listen({ host: config.httpAddress, port: config.httpPort });
    cleanups.push(() => app.close());
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.httpPort;
    const httpUrl = `http://${config.httpAddress.includes(':') ? `[${config.httpAddress}]` : config.httpAddress}:${port}`;
    let httpsUrl: string | undefined;
    if (config.https) {
      // The same API on a second listener, Consul's ports.https (with verify_incoming: client certificates required).
      const h = config.https;
      const read = (file: string) => readFileSync(file, 'utf8');
      const secure = buildApi(apiContext, { key: read(h.keyFile), cert: read(h.certFile), ...(h.caFile ? { ca: read(h.caFile) } : {}), verifyIncoming: h.verifyIncoming });
      await secure.listen({ host: h.address, port: h.port });
      cleanups.push(() => secure.close());
      const a = secure.server.address();
      httpsUrl = `https://${h.address.includes(':') ? `[${h.address}]` : h.address}:${typeof a === 'object' && a ? a.port : h.port}`;
    }
    log.info({ http: httpUrl, https: httpsUrl, primary, role: isPrimary ? 'primary' : 'secondary' }, 'agent ready');
    return { config, httpUrl, httpsUrl, dnsPort, view, projector, replication, intentions, authority, app, nc, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Appends the genesis event to a new stream; a concurrent starter's genesis is as good as ours. */
async function startLog(eventLog: EventLog, primary: string, log: Logger): Promise<void> {
  try {
    await eventLog.appendRaw('trellis.events.log.started', chainEvent({ v: SCHEMA_VERSION, type: 'LogStarted', at: Date.now(), by: `agent:${primary}`, data: { primary } }, GENESIS_PREV).bytes, { expectedLastSeq: 0 });
    log.info({ primary }, 'event log started');
  } catch (err) {
    if (!(err instanceof TrellisError && err.code === 'E_CONFLICT')) throw err;
  }
}

/** A CA write forwarded by a secondary: `{body?, actor, origin?}`. */
function parseForwardedCaWrite(payload: unknown): { body: unknown; actor: string; token: string | undefined; origin: Origin | undefined } {
  const parsed = z
    .strictObject({
      body: z.unknown().optional(),
      actor: z.string().min(1).max(256),
      token: z.string().max(256).optional(),
      origin: z.strictObject({ dc: z.string().max(64), addr: z.string().max(128), req: z.string().max(128) }).optional(),
    })
    .safeParse(payload);
  if (!parsed.success) throw new TrellisError('E_VALIDATION', 'forwarded CA write refused: expected {body, actor, origin}');
  return { body: parsed.data.body, actor: parsed.data.actor, token: parsed.data.token, origin: parsed.data.origin };
}

const forwardedRequestSchema = z.strictObject({
  method: z.enum(['GET', 'PUT', 'POST', 'DELETE']),
  url: z.string().startsWith('/v1/').max(8192),
  body: z.string().max(1024 * 1024).optional(),
  token: z.string().max(256).optional(),
});

/** A request forwarded by another datacenter's agent (`?dc=`). */
function parseForwardedRequest(payload: unknown): ForwardedRequest {
  const parsed = forwardedRequestSchema.safeParse(payload);
  if (!parsed.success) throw new TrellisError('E_VALIDATION', 'forwarded request refused: expected {method, url, body?, token?}');
  const { method, url, body, token } = parsed.data;
  return { method, url, ...(body === undefined ? {} : { body }), ...(token === undefined ? {} : { token }) };
}

const querySpecSchema = z.strictObject({
  Service: z.string().min(1).max(512),
  OnlyPassing: z.boolean(),
  IgnoreCheckIDs: z.array(z.string()).max(64),
  Tags: z.array(z.string()).max(64),
  NodeMeta: z.record(z.string(), z.string()),
  ServiceMeta: z.record(z.string(), z.string()),
  Connect: z.boolean(),
  Near: z.string().max(512),
  Limit: z.number().int().min(0),
});

/** A prepared query's service part, sent by another datacenter that is failing over here. */
function parseQuerySpec(payload: unknown): QuerySpec {
  const parsed = querySpecSchema.safeParse(payload);
  if (!parsed.success) throw new TrellisError('E_VALIDATION', 'remote query refused: not a prepared query service spec');
  return parsed.data;
}

/** A forwarded read is answered locally: the `dc` parameter has done its job. */
function stripDc(url: string): string {
  const [path, query = ''] = url.split('?', 2);
  const params = new URLSearchParams(query);
  params.delete('dc');
  const rest = params.toString();
  return rest ? `${path}?${rest}` : (path ?? '/');
}
