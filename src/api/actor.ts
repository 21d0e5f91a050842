import type { Origin } from '../events/index.js';

/**
 * Who made a request, as the event log records it. ACL tokens come with a later issue: until then a
 * request that presents one is recorded as `token` (never the secret itself), else `anonymous`.
 */
export function actorOf(headers: Record<string, unknown>): string {
  return typeof headers['x-consul-token'] === 'string' && headers['x-consul-token'] !== '' ? 'token' : 'anonymous';
}

/** Where a write came in, for the audit trail: this datacenter, the client's address, its request id. */
export function originOf(request: { headers: Record<string, unknown>; ip: string; id: string }, datacenter: string): Origin {
  const header = request.headers['x-request-id'];
  return { dc: datacenter, addr: request.ip, req: typeof header === 'string' && header !== '' && header.length <= 128 ? header : request.id };
}
