import type { FastifyInstance } from 'fastify';
import type { CARootRow, CAStateRow, Origin } from '../../events/index.js';
import { toConsulCaConfiguration, type CaStatus, type LeafCertificate } from '../../ca/index.js';
import { goTime } from '../../intentions/index.js';
import { clientGoneSignal, parseBlockingParams, setQueryMeta } from '../blocking.js';
import { originOf } from '../actor.js';
import { authzOf, requestToken } from '../acl.js';
import type { FastifyRequest } from 'fastify';
import type { ApiContext } from '../server.js';

/** What the CA routes read. */
export interface CaApi {
  readonly view: {
    caState(): CAStateRow | undefined;
    caRoots(): IterableIterator<CARootRow>;
    tableIndex(table: 'ca_roots'): number;
    waitForIndex(table: 'ca_roots', minIndex: number, waitMs: number, signal?: AbortSignal): Promise<number>;
  };
  /** This datacenter's leaf for a service, signed locally (blocking on the leaf's index). */
  readonly leaf: (service: string, minIndex: number, waitMs: number, signal?: AbortSignal) => Promise<LeafCertificate>;
  /** Validates a `PUT /v1/connect/ca/configuration` body and applies it at the primary (forwarded from a secondary). */
  readonly setConfiguration: (body: unknown, actor: string, origin: Origin, token?: string) => Promise<void>;
  /** Rotates to a new root of the configured type, cross-signed by the current one (at the primary). */
  readonly rotate: (actor: string, origin: Origin, token?: string) => Promise<{ readonly rootId: string; readonly index: number }>;
  readonly status: () => CaStatus;
}


/** A root as Consul's `/v1/connect/ca/roots` returns it. */
function toConsulRoot(row: CARootRow, activeId: string | undefined): Record<string, unknown> {
  return {
    ID: row.ID,
    Name: row.Name,
    SerialNumber: row.SerialNumber,
    SigningKeyID: row.SigningKeyID,
    ExternalTrustDomain: '',
    NotBefore: goTime(row.NotBefore),
    NotAfter: goTime(row.NotAfter),
    RootCert: row.RootCert,
    IntermediateCerts: row.IntermediateCerts.length > 0 ? row.IntermediateCerts : null,
    Active: row.ID === activeId,
    PrivateKeyType: row.PrivateKeyType,
    PrivateKeyBits: row.PrivateKeyBits,
    CreateIndex: row.CreateIndex,
    ModifyIndex: row.ModifyIndex,
  };
}

export function registerConnectCaRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { view } = ctx.ca;
  const authz = (request: FastifyRequest) => authzOf(request, ctx.acl?.resolver);
  /** Consul: CA configuration needs operator:read to read and operator:write to change. */
  const operator = (request: FastifyRequest, access: 'read' | 'write') => {
    const a = authz(request);
    a.require('operator', access);
    return a.accessorId;
  };
  const roots = async (request: { query: unknown }, reply: Parameters<typeof setQueryMeta>[0]) => {
    const { index, waitMs } = parseBlockingParams(request.query as Record<string, unknown>);
    const at = index > 0 ? await view.waitForIndex('ca_roots', index, waitMs, clientGoneSignal(reply)) : view.tableIndex('ca_roots');
    setQueryMeta(reply, at);
    const state = view.caState();
    return {
      ActiveRootID: state?.ActiveRootID ?? '',
      TrustDomain: state?.TrustDomain ?? '',
      Roots: [...view.caRoots()].sort((a, b) => a.CreateIndex - b.CreateIndex).map((r) => toConsulRoot(r, state?.ActiveRootID)),
    };
  };
  // Consul serves the same document from the servers and from the agent's cache.
  app.get('/v1/connect/ca/roots', roots);
  app.get('/v1/agent/connect/ca/roots', roots);

  // The effective configuration, in Consul's shape.
  app.get('/v1/connect/ca/configuration', async (request, reply) => {
    operator(request, 'read');
    const state = view.caState();
    setQueryMeta(reply, state?.ModifyIndex ?? view.tableIndex('ca_roots'));
    return toConsulCaConfiguration(state);
  });

  // As Consul: the whole configuration is replaced; a new key type or size rotates the root.
  app.put('/v1/connect/ca/configuration', async (request, reply) => {
    await ctx.ca.setConfiguration(request.body, operator(request, 'write'), originOf(request, ctx.datacenter), requestToken(request));
    return reply.code(200).send();
  });

  // trellis's own: rotate to a fresh root without changing the configuration (`trellis ca rotate`).
  const rotate = async (request: FastifyRequest) => {
    const { rootId, index } = await ctx.ca.rotate(operator(request, 'write'), originOf(request, ctx.datacenter), requestToken(request));
    return { ActiveRootID: rootId, Index: index };
  };
  app.put('/v1/trellis/ca/rotate', rotate);
  app.post('/v1/trellis/ca/rotate', rotate);

  app.get('/v1/agent/connect/ca/leaf/:service', async (request, reply) => {
    const service = (request.params as { service: string }).service;
    // Consul: a service's leaf certificate needs service:write on it.
    authz(request).require('service', 'write', service);
    const { index, waitMs } = parseBlockingParams(request.query as Record<string, unknown>);
    const leaf = await ctx.ca.leaf(service, index, waitMs, clientGoneSignal(reply));
    setQueryMeta(reply, leaf.ModifyIndex);
    return leaf;
  });
}
