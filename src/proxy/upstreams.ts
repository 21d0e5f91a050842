import { isIP } from 'node:net';
import { TrellisError } from '../common/index.js';
import { parseSpiffeId } from '../intentions/index.js';

/** One upstream of the proxy: a local listener that reaches a service or a prepared query. */
export interface UpstreamSpec {
  readonly destinationType: 'service' | 'prepared_query';
  readonly destinationName: string;
  /** For services: the datacenter to find instances in (the agent's own when empty). */
  readonly datacenter: string;
  readonly localBindAddress: string;
  readonly localBindPort: number;
}

function port(text: string, flag: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= 65535)) throw new TrellisError('E_VALIDATION', `Invalid upstream "${flag}": ${JSON.stringify(text)} is not a port (1-65535); expected NAME:[HOST:]PORT`);
  return n;
}

/**
 * `-upstream NAME:[HOST:]PORT`, as Consul's `connect proxy` reads it: `db:8181` listens on
 * 127.0.0.1:8181 for service db; `db:0.0.0.0:8181` picks the bind address; a NAME ending in
 * `.query` (`payments.query:8282`) is a prepared query. `datacenter` is `-datacenter`.
 */
export function parseUpstreamFlag(flag: string, datacenter = ''): UpstreamSpec {
  const first = flag.indexOf(':');
  const name = first > 0 ? flag.slice(0, first) : '';
  const rest = first > 0 ? flag.slice(first + 1) : '';
  if (!name || !rest) throw new TrellisError('E_VALIDATION', `Invalid upstream "${flag}": expected NAME:[HOST:]PORT`);
  const last = rest.lastIndexOf(':');
  const host = last >= 0 ? rest.slice(0, last).replace(/^\[|\]$/g, '') : '127.0.0.1';
  const portText = last >= 0 ? rest.slice(last + 1) : rest;
  if (last >= 0 && isIP(host) === 0 && host !== 'localhost') throw new TrellisError('E_VALIDATION', `Invalid upstream "${flag}": ${JSON.stringify(host)} is not an IP address to listen on`);
  const isQuery = name.endsWith('.query');
  const destinationName = isQuery ? name.slice(0, -'.query'.length) : name;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(destinationName)) throw new TrellisError('E_VALIDATION', `Invalid upstream "${flag}": ${JSON.stringify(destinationName)} is not a service or query name`);
  return { destinationType: isQuery ? 'prepared_query' : 'service', destinationName, datacenter, localBindAddress: host, localBindPort: port(portText, flag) };
}

/** `HOST:PORT` for -service-addr and -listen. */
export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  if (i <= 0) throw new TrellisError('E_VALIDATION', `${flag} must be HOST:PORT, got ${JSON.stringify(text)}`);
  const p = Number(text.slice(i + 1));
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new TrellisError('E_VALIDATION', `${flag} must be HOST:PORT, got ${JSON.stringify(text)}`);
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port: p };
}

/** The URI SANs of a certificate as node:tls reports them (`subjectaltname: 'URI:spiffe://…, DNS:…'`). */
export function uriSans(subjectaltname: string | undefined): string[] {
  if (!subjectaltname) return [];
  return subjectaltname
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice(4));
}

/**
 * Why a server certificate is not the expected service's SVID, or undefined when it is: exactly one
 * URI SAN, a service SPIFFE ID in the trust domain, naming the expected service (any datacenter).
 */
export function identityMismatch(subjectaltname: string | undefined, expectedService: string, trustDomain: string): string | undefined {
  const uris = uriSans(subjectaltname);
  if (uris.length !== 1) return `the certificate carries ${uris.length} URI SANs, not exactly one SPIFFE ID`;
  const uri = uris[0] ?? '';
  let id;
  try {
    id = parseSpiffeId(uri);
  } catch {
    return `${uri} is not a SPIFFE ID`;
  }
  if (id.kind !== 'service') return `${uri} is not a service identity`;
  if (id.trustDomain !== trustDomain.toLowerCase()) return `${uri} is from trust domain ${id.trustDomain}, not ${trustDomain}`;
  if (id.service !== expectedService) return `${uri} identifies service ${id.service}, not ${expectedService}`;
  return undefined;
}
