import type { FastifyRequest } from 'fastify';
import { allowAll, type Authorizer } from '../acl/authorizer.js';
import type { AclResolver } from '../acl/resolver.js';

/**
 * The request's token as Consul reads it: `X-Consul-Token`, else `Authorization: Bearer`, else
 * `?token=` (Consul's order). Absent: undefined (the default or anonymous token applies).
 */
export function requestToken(request: { headers: Record<string, unknown>; query: unknown }): string | undefined {
  const header = request.headers['x-consul-token'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m?.[1]) return m[1];
  }
  const q = (request.query as Record<string, unknown> | undefined)?.token;
  return typeof q === 'string' && q !== '' ? q : undefined;
}

const resolved = new WeakMap<object, Authorizer>();

/** The request's authorizer, resolved once per request against this datacenter's view. */
export function authzOf(request: FastifyRequest, resolver: AclResolver | undefined): Authorizer {
  if (!resolver) return allowAll();
  const hit = resolved.get(request);
  if (hit) return hit;
  const authz = resolver.resolve(requestToken(request));
  resolved.set(request, authz);
  return authz;
}
