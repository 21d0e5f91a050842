import { TrellisError } from '../common/index.js';
import type { AccessLevel, NamedRules, Rules, ServiceRule } from './rules.js';

/** The resources trellis guards, in Consul's permission vocabulary (`service:write`, `operator:read`…). */
export type Resource = 'service' | 'intention' | 'node' | 'query' | 'agent' | 'operator' | 'acl';

/** What a request may do: one token's policies merged, resolved against the default policy. */
export interface Authorizer {
  /** The token's AccessorID (recorded as the actor of the writes it makes). */
  readonly accessorId: string;
  /** Whether ACLs are enforced at all (false: everything is allowed, as with Consul's ACLs off). */
  readonly enforcing: boolean;
  allowed(resource: Resource, access: 'read' | 'write', name?: string): boolean;
  /** Throws Consul's 403 when not allowed. */
  require(resource: Resource, access: 'read' | 'write', name?: string): void;
}

const GRANTS: Readonly<Record<'read' | 'write', ReadonlySet<AccessLevel>>> = {
  read: new Set<AccessLevel>(['read', 'write', 'list']),
  write: new Set<AccessLevel>(['write']),
};

/** Exact name first, else the longest matching prefix (Consul's radix-tree lookup). */
function lookup<R>(rules: NamedRules<R>, name: string): R | undefined {
  const exact = rules.exact.get(name);
  if (exact !== undefined) return exact;
  let best: R | undefined;
  let bestLength = -1;
  for (const [prefix, rule] of rules.prefix) {
    if (prefix.length > bestLength && name.startsWith(prefix)) {
      best = rule;
      bestLength = prefix.length;
    }
  }
  return best;
}

export function permissionDenied(accessorId: string, resource: Resource, access: 'read' | 'write', name?: string): TrellisError {
  const on = name === undefined ? '' : ` on ${JSON.stringify(name)}`;
  return new TrellisError('E_PERMISSION', `Permission denied: token with AccessorID '${accessorId}' lacks permission '${resource}:${access}'${on}`);
}

function build(accessorId: string, enforcing: boolean, decide: (resource: Resource, access: 'read' | 'write', name: string) => boolean): Authorizer {
  const authz: Authorizer = {
    accessorId,
    enforcing,
    allowed: (resource, access, name = '') => decide(resource, access, name),
    require(resource, access, name) {
      if (!authz.allowed(resource, access, name)) throw permissionDenied(accessorId, resource, access, name);
    },
  };
  return authz;
}

/** ACLs disabled: every request may do everything (Consul without `acl.enabled`). */
export function allowAll(accessorId = 'anonymous'): Authorizer {
  return build(accessorId, false, () => true);
}

/** The global-management policy: everything, ACL management included. */
export function manageAll(accessorId: string): Authorizer {
  return build(accessorId, true, () => true);
}

/**
 * A token's merged rules over the default policy. With `default_policy = "allow"` a resource no
 * rule names is readable and writable, except ACL management, which always needs a rule (as in
 * Consul, where only a management token or `acl = "write"` may manage ACLs).
 */
export function rulesAuthorizer(accessorId: string, rules: Rules, defaultAllow: boolean): Authorizer {
  const fallback = (resource: Resource) => defaultAllow && resource !== 'acl';
  const level = (l: AccessLevel | undefined, resource: Resource, access: 'read' | 'write') => (l === undefined ? fallback(resource) : GRANTS[access].has(l));
  return build(accessorId, true, (resource, access, name) => {
    switch (resource) {
      case 'service':
        return level(lookup<ServiceRule>(rules.service, name)?.policy, resource, access);
      case 'intention': {
        const rule = lookup<ServiceRule>(rules.service, name);
        return level(rule?.intentions, resource, access);
      }
      case 'node':
      case 'query':
      case 'agent':
        return level(lookup<AccessLevel>(rules[resource], name), resource, access);
      case 'operator':
      case 'acl':
        return level(rules[resource], resource, access);
    }
  });
}
