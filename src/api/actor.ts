/**
 * Who made a request, as the event log records it. ACL tokens come with a later issue: until then a
 * request that presents one is recorded as `token` (never the secret itself), else `anonymous`.
 */
export function actorOf(headers: Record<string, unknown>): string {
  return typeof headers['x-consul-token'] === 'string' && headers['x-consul-token'] !== '' ? 'token' : 'anonymous';
}
