import { TrellisError } from '../common/index.js';

export const DEFAULT_NAMESPACE = 'default';
export const WILDCARD = '*';

export interface IntentionName {
  readonly namespace: string;
  readonly name: string;
}

/**
 * Parses `name` or `namespace/name` as Consul's HTTP API does for `source`, `destination` and
 * `name` query parameters, with its messages (`source "a/b/c" is invalid: …`).
 */
export function parseIntentionName(input: string, what: string): IntentionName {
  if (input.startsWith('peer:')) throw new TrellisError('E_VALIDATION', `${what} ${JSON.stringify(input)} is invalid: cannot specify a peer here`);
  const parts = input.split('/');
  if (parts.length === 1) return { namespace: DEFAULT_NAMESPACE, name: input };
  if (parts.length === 2) return { namespace: parts[0] ?? DEFAULT_NAMESPACE, name: parts[1] ?? '' };
  throw new TrellisError('E_VALIDATION', `${what} ${JSON.stringify(input)} is invalid: input can contain at most one '/'`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An intention ID from a path: Consul answers 400 for anything that is not a UUID. */
export function parseIntentionId(id: string): string {
  if (id.length !== 36) throw new TrellisError('E_VALIDATION', `invalid UUID ${JSON.stringify(id)}: uuid string is wrong length`);
  if (!UUID.test(id)) throw new TrellisError('E_VALIDATION', `invalid UUID ${JSON.stringify(id)}: uuid is improperly formatted`);
  return id.toLowerCase();
}
