import { TrellisError, isTrellisError } from '../common/index.js';
import type { IntentionRow } from '../events/index.js';
import { describeIntention } from './describe.js';
import { DEFAULT_NAMESPACE, WILDCARD } from './names.js';
import { parseSpiffeId } from './spiffe.js';

/** What deciding needs of the state: one intention per source/destination pair. */
export interface IntentionLookup {
  intentionByPair(sourceNS: string, sourceName: string, destinationNS: string, destinationName: string): IntentionRow | undefined;
}

/**
 * The intention that decides a connection from `source` to `destination`: the matching one of
 * highest precedence. With one intention per pair, that is at most four lookups, in Consul's
 * precedence order (exact→exact 9, *→exact 8, exact→* 6, *→* 5): O(1) whatever the count.
 */
export function decideIntention(lookup: IntentionLookup, source: string, destination: string, ns = DEFAULT_NAMESPACE): IntentionRow | undefined {
  return (
    lookup.intentionByPair(ns, source, ns, destination) ??
    lookup.intentionByPair(ns, WILDCARD, ns, destination) ??
    lookup.intentionByPair(ns, source, ns, WILDCARD) ??
    lookup.intentionByPair(ns, WILDCARD, ns, WILDCARD) ??
    lookup.intentionByPair(WILDCARD, WILDCARD, ns, destination) ??
    lookup.intentionByPair(WILDCARD, WILDCARD, ns, WILDCARD) ??
    lookup.intentionByPair(WILDCARD, WILDCARD, WILDCARD, WILDCARD)
  );
}

/** `GET /v1/connect/intentions/check`. */
export function intentionCheck(lookup: IntentionLookup, source: string, destination: string, defaultAllow: boolean): { Allowed: boolean } {
  const ixn = decideIntention(lookup, source, destination);
  return { Allowed: ixn ? ixn.Action === 'allow' : defaultAllow };
}

export interface AuthorizeResult {
  readonly Authorized: boolean;
  readonly Reason: string;
}

const AUTHORIZE_FIELDS: Readonly<Record<string, 'string'>> = { Target: 'string', ClientCertURI: 'string', ClientCertSerial: 'string', Namespace: 'string', Partition: 'string' };

/**
 * `POST /v1/agent/connect/authorize`, as Consul's Agent.ConnectAuthorize, answered from the local
 * view. With `trustDomains` (the CA's, once it exists), an identity from any other is refused.
 */
export function authorize(lookup: IntentionLookup, body: unknown, { defaultAllow, trustDomains }: { defaultAllow: boolean; trustDomains?: readonly string[] }): AuthorizeResult {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new TrellisError('E_VALIDATION', body === undefined || body === null ? 'Invalid request' : 'Request decode failed: json: cannot unmarshal non-object into Go value of type structs.ConnectAuthorizeRequest');
  }
  const req = body as Record<string, unknown>;
  for (const field of Object.keys(AUTHORIZE_FIELDS)) {
    const value = req[field];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw new TrellisError('E_VALIDATION', `Request decode failed: json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go struct field ConnectAuthorizeRequest.${field} of type string`);
    }
  }
  const target = typeof req.Target === 'string' ? req.Target : '';
  if (target === '') throw new TrellisError('E_VALIDATION', 'Target service must be specified');
  let id;
  try {
    id = parseSpiffeId(typeof req.ClientCertURI === 'string' ? req.ClientCertURI : '');
  } catch (err) {
    if (isTrellisError(err)) throw new TrellisError('E_VALIDATION', 'ClientCertURI not a valid Connect identifier', { cause: err });
    throw err;
  }
  if (id.kind !== 'service') throw new TrellisError('E_VALIDATION', 'ClientCertURI not a valid Service identifier');
  if (trustDomains && trustDomains.length > 0 && !trustDomains.includes(id.trustDomain)) {
    return { Authorized: false, Reason: `Identity from an external trust domain: ${id.trustDomain}` };
  }
  const ixn = decideIntention(lookup, id.service, target, id.namespace === DEFAULT_NAMESPACE ? DEFAULT_NAMESPACE : id.namespace);
  if (ixn) return { Authorized: ixn.Action === 'allow', Reason: `Matched L4 intention: ${describeIntention(ixn)}` };
  return { Authorized: defaultAllow, Reason: 'Default behavior configured by ACLs' };
}
