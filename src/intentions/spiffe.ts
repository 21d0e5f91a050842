import { TrellisError } from '../common/index.js';

/** A Connect service identity: `spiffe://<trust-domain>/ns/<ns>/dc/<dc>/svc/<service>`. */
export interface SpiffeServiceId {
  readonly kind: 'service';
  readonly trustDomain: string;
  readonly namespace: string;
  readonly datacenter: string;
  readonly service: string;
}

/** A CA signing identity: `spiffe://<trust-domain>` with no path. */
export interface SpiffeSigningId {
  readonly kind: 'signing';
  readonly trustDomain: string;
}

export type SpiffeId = SpiffeServiceId | SpiffeSigningId;

const SERVICE_PATH = /^\/(?:ap\/([^/]+)\/)?ns\/([^/]+)\/dc\/([^/]+)\/svc\/([^/]+)$/;

/** The common, plain form (authorize runs it per connection): no URL object needed. */
const PLAIN_SERVICE = /^spiffe:\/\/([a-z0-9.-]+)\/ns\/([A-Za-z0-9._-]+)\/dc\/([A-Za-z0-9._-]+)\/svc\/([A-Za-z0-9._-]+)$/i;

/** Parses a Connect SPIFFE URI as Consul's connect.ParseCertURI does; anything else is E_VALIDATION. */
export function parseSpiffeId(uri: string): SpiffeId {
  const plain = PLAIN_SERVICE.exec(uri);
  if (plain) {
    return { kind: 'service', trustDomain: (plain[1] ?? '').toLowerCase(), namespace: plain[2] ?? 'default', datacenter: plain[3] ?? '', service: plain[4] ?? '' };
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new TrellisError('E_VALIDATION', `${JSON.stringify(uri)} is not a valid URI`);
  }
  if (url.protocol !== 'spiffe:') throw new TrellisError('E_VALIDATION', `URI scheme must be spiffe, got ${JSON.stringify(url.protocol.replace(/:$/, ''))}`);
  if (url.host === '' || url.username !== '' || url.password !== '' || url.port !== '' || url.search !== '' || url.hash !== '') {
    throw new TrellisError('E_VALIDATION', `${JSON.stringify(uri)} is not a SPIFFE ID`);
  }
  const trustDomain = url.host.toLowerCase();
  if (url.pathname === '' || url.pathname === '/') return { kind: 'signing', trustDomain };
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    throw new TrellisError('E_VALIDATION', `${JSON.stringify(uri)} has an undecodable path`);
  }
  const m = SERVICE_PATH.exec(path);
  if (!m) throw new TrellisError('E_VALIDATION', `SPIFFE ID is not in the expected format: ${JSON.stringify(uri)}`);
  return { kind: 'service', trustDomain, namespace: m[2] ?? 'default', datacenter: m[3] ?? '', service: m[4] ?? '' };
}

export function serviceSpiffeUri(trustDomain: string, datacenter: string, service: string, namespace = 'default'): string {
  return `spiffe://${trustDomain}/ns/${namespace}/dc/${datacenter}/svc/${service}`;
}
