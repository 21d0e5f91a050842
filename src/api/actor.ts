import type { FastifyRequest } from 'fastify';
import type { Origin } from '../events/index.js';
import type { WriteAuth } from '../intentions/service.js';
import type { AclResolver } from '../acl/resolver.js';
import { authzOf, requestToken } from './acl.js';

/**
 * Who made a request, for the event log and for the primary: the token's authorizer (its AccessorID
 * is the actor; `anonymous` when ACLs are off) and the token itself, which a secondary forwards so the
 * primary can check it again. The secret is never recorded.
 */
export function writeAuthOf(request: FastifyRequest, resolver: AclResolver | undefined): WriteAuth {
  return { authz: authzOf(request, resolver), token: requestToken(request) };
}

/** Where a write came in, for the audit trail: this datacenter, the client's address, its request id. */
export function originOf(request: { headers: Record<string, unknown>; ip: string; id: string }, datacenter: string): Origin {
  const header = request.headers['x-request-id'];
  return { dc: datacenter, addr: request.ip, req: typeof header === 'string' && header !== '' && header.length <= 128 ? header : request.id };
}
