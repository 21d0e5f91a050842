/** The default agent address, as Consul's. */
export const DEFAULT_HTTP_ADDR = 'http://127.0.0.1:8500';

/**
 * Resolves the agent's HTTP address the way Consul's CLI does: the `-http-addr` flag, then
 * `CONSUL_HTTP_ADDR`, then `TRELLIS_HTTP_ADDR`, then 127.0.0.1:8500. An address without a
 * scheme gets `http://`.
 */
export function resolveHttpAddr(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  const raw = flag ?? env.CONSUL_HTTP_ADDR ?? env.TRELLIS_HTTP_ADDR ?? DEFAULT_HTTP_ADDR;
  const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`;
  return withScheme.replace(/\/+$/, '');
}
