import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { TrellisError, type Logger } from '../common/index.js';
import { createErrorHandler } from './errors.js';
import { releaseBlockingOnClose } from './blocking.js';
import { registerAgentRoutes } from './routes/agent.js';
import { registerIntentionRoutes, type IntentionApi } from './routes/intentions.js';
import { registerConnectCaRoutes, type CaApi } from './routes/connect-ca.js';
import { registerStatusRoutes, type ReplicationStatus } from './routes/status.js';
import { registerCatalogRoutes, type CatalogApi } from './routes/catalog.js';
import { registerEventRoutes, type EventsApi } from './routes/events.js';
import { registerAclRoutes, type AclApi } from './routes/acl.js';
import { relayTo } from './forward.js';
import { registerUiRoutes } from './routes/ui.js';

/** What the HTTP API needs from the agent; everything else stays behind these functions. */
export interface ApiContext {
  readonly datacenter: string;
  readonly primaryDatacenter: string;
  readonly nodeName: string;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly intentions: IntentionApi;
  readonly ca: CaApi;
  readonly replication: () => ReplicationStatus;
  /** This datacenter's catalog and prepared queries (absent in tests of other areas). */
  readonly catalog?: CatalogApi;
  /** The event feed over this datacenter's stream (absent in tests of other areas). */
  readonly events?: EventsApi;
  /** ACL tokens and policies (absent: ACLs off, every request allowed). */
  readonly acl?: AclApi;
  /** The view's applied index, for blocking queries on replication status. */
  readonly appliedIndex: { current(): number; wait(minIndex: number, waitMs: number, signal?: AbortSignal): Promise<number> };
  /** Runs a request at another datacenter (`?dc=`), returning its HTTP answer. */
  readonly forwardRead?: (dc: string, request: ForwardedRequest) => Promise<ForwardedResponse>;
  /** @default 1 MiB */
  readonly bodyLimitBytes?: number;
  /** Per-client limits (by remote address). */
  readonly limits?: HttpLimits;
}

export interface HttpLimits {
  /** Requests per second per client address; a burst of twice that is allowed. 0: unlimited. */
  readonly requestsPerSecond: number;
  /** Open connections per client address (Consul's http_max_conns_per_client). */
  readonly maxConnsPerClient: number;
  /** Milliseconds a client may take to send a whole request (headers and body): slow clients are cut off. */
  readonly requestTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { requestsPerSecond: 1000, maxConnsPerClient: 200, requestTimeoutMs: 10_000 };

/** TLS for an HTTPS listener; with `requestCert`, only clients whose certificate chains to `ca` get in (Consul's verify_incoming). */
export interface HttpsOptions {
  readonly key: string;
  readonly cert: string;
  readonly ca?: string;
  readonly verifyIncoming: boolean;
}

/** One token bucket per client address: refills at `rate`, holds `2 × rate`; idle buckets are dropped. */
function createRateLimiter(rate: number) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const capacity = rate * 2;
  let sweptAt = Date.now();
  return (client: string): number => {
    const now = Date.now();
    if (now - sweptAt > 60_000) {
      for (const [k, b] of buckets) if (now - b.at > 60_000) buckets.delete(k);
      sweptAt = now;
    }
    const b = buckets.get(client) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    buckets.set(client, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / rate));
  };
}

export interface ForwardedRequest {
  readonly method: string;
  readonly url: string;
  /** The raw request body (JSON text), if any. */
  readonly body?: string;
  readonly token?: string;
}

export interface ForwardedResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Consul decodes request bodies as JSON whatever their content type, and says so when it cannot. */
function parseJsonBody(_req: unknown, body: string, done: (err: Error | null, value?: unknown) => void): void {
  if (body.trim() === '') {
    done(null, undefined);
    return;
  }
  try {
    done(null, JSON.parse(body));
  } catch (err) {
    done(new TrellisError('E_VALIDATION', `Request decode failed: ${(err as Error).message}`));
  }
}

export function buildApi(ctx: ApiContext, https?: HttpsOptions): FastifyInstance {
  const bodyLimit = ctx.bodyLimitBytes ?? 1024 * 1024;
  const limits = ctx.limits ?? DEFAULT_HTTP_LIMITS;
  const app = Fastify({
    // Node checks request timeouts every connectionsCheckingInterval (30 s by default): often enough to matter.
    ...(https
      ? {
          https: {
            key: https.key,
            cert: https.cert,
            ...(https.ca ? { ca: https.ca } : {}),
            requestCert: https.verifyIncoming,
            rejectUnauthorized: https.verifyIncoming,
            minVersion: 'TLSv1.2' as const,
            connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs),
          },
        }
      : { http: { connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs) } }),
    // A client must send its whole request within this (slowloris); answers (blocking queries) may take longer.
    requestTimeout: limits.requestTimeoutMs,
    logger: false,
    bodyLimit,
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
    // Request ids end up in the audit trail (when the client sends no X-Request-ID): unique, not req-1, req-2…
    genReqId: () => randomUUID(),
    // Closing destroys every connection: blocking queries were released at preClose, and a
    // client's half-opened keep-alive socket (undici reconnects after an aborted request) must
    // not hold a shutdown for the 60 s of Node's headers timeout.
    forceCloseConnections: true,
  });
  app.server.headersTimeout = Math.min(limits.requestTimeoutMs, 60_000);
  // Consul's http_max_conns_per_client: a client opening more connections has the extra ones closed.
  const connections = new Map<string, number>();
  app.server.on(https ? 'secureConnection' : 'connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? '';
    const open = (connections.get(client) ?? 0) + 1;
    if (open > limits.maxConnsPerClient) {
      socket.destroy();
      return;
    }
    connections.set(client, open);
    socket.once('close', () => {
      const left = (connections.get(client) ?? 1) - 1;
      if (left <= 0) connections.delete(client);
      else connections.set(client, left);
    });
  });
  if (limits.requestsPerSecond > 0) {
    const limited = createRateLimiter(limits.requestsPerSecond);
    app.addHook('onRequest', async (request, reply) => {
      const wait = limited(request.ip);
      if (wait > 0) {
        void reply.header('Retry-After', String(wait));
        throw new TrellisError('E_RATE_LIMITED', `Too many requests from ${request.ip}: the limit is ${limits.requestsPerSecond} per second; retry after ${wait} s`);
      }
    });
  }
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, parseJsonBody);
  app.setErrorHandler(createErrorHandler(ctx.logger.child({ component: 'http' }), bodyLimit));
  releaseBlockingOnClose(app);
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).type('text/plain; charset=utf-8').send(`Unsupported path: ${request.url.split('?')[0] ?? ''}`);
  });
  if (ctx.forwardRead) {
    const forward = ctx.forwardRead;
    // `?dc=<other>`: answered by that datacenter's agent, over request/reply (after the body is read).
    app.addHook('preValidation', async (request, reply) => {
      const dc = (request.query as Record<string, unknown>).dc;
      if (typeof dc !== 'string' || dc === '' || dc === ctx.datacenter) return;
      await relayTo(forward, dc, request, reply);
    });
  }
  registerStatusRoutes(app, ctx);
  registerAgentRoutes(app, ctx);
  registerIntentionRoutes(app, ctx);
  registerConnectCaRoutes(app, ctx);
  registerCatalogRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerAclRoutes(app, ctx);
  registerUiRoutes(app);
  return app;
}
