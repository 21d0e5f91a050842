import { createHash } from 'node:crypto';
import { TrellisError } from '../common/index.js';
import type { ACLPolicyRow, ACLTokenRow } from '../events/index.js';
import { allowAll, rulesAuthorizer, type Authorizer } from './authorizer.js';
import { mergeRules, parseRules, type Rules } from './rules.js';

export const GLOBAL_MANAGEMENT_ID = '00000000-0000-0000-0000-000000000001';
export const ANONYMOUS_ACCESSOR_ID = '00000000-0000-0000-0000-000000000002';

/** Consul's built-in policy, its rules as Consul writes them. */
export const GLOBAL_MANAGEMENT_RULES = `acl = "write"
agent_prefix "" {
  policy = "write"
}
event_prefix "" {
  policy = "write"
}
key_prefix "" {
  policy = "write"
}
keyring = "write"
node_prefix "" {
  policy = "write"
}
operator = "write"
mesh = "write"
peering = "write"
query_prefix "" {
  policy = "write"
}
service_prefix "" {
  policy = "write"
  intentions = "write"
}
session_prefix "" {
  policy = "write"
}
`;

/** The built-in global-management policy as the API shows it (it has no event: it always exists). */
export const GLOBAL_MANAGEMENT_POLICY: ACLPolicyRow = {
  ID: GLOBAL_MANAGEMENT_ID,
  Name: 'global-management',
  Description: 'Builtin Policy that grants unlimited access',
  Rules: GLOBAL_MANAGEMENT_RULES,
  Datacenters: [],
  Hash: createHash('sha256').update(GLOBAL_MANAGEMENT_RULES).digest('base64'),
  CreateIndex: 1,
  ModifyIndex: 1,
};

/** What the log keeps of a SecretID: its SHA-256 in hex. */
export const secretHash = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** The anonymous token before anyone gave it policies (it has no event until then). */
export const ANONYMOUS_TOKEN: ACLTokenRow = {
  AccessorID: ANONYMOUS_ACCESSOR_ID,
  SecretHash: secretHash('anonymous'),
  Description: 'Anonymous Token',
  Policies: [],
  Local: false,
  Datacenter: '',
  CreateTime: 0,
  ExpirationTime: 0,
  Hash: '',
  CreateIndex: 1,
  ModifyIndex: 1,
};


/** Consul's `acl` block: `enabled`, `default_policy`, `tokens { initial_management, default }`. */
export interface AclSettings {
  readonly enabled: boolean;
  readonly defaultPolicy: 'allow' | 'deny';
  /** The bootstrap token's SecretID (the primary records it, hashed, as a token linked to global-management). */
  readonly initialManagement?: string | undefined;
  /** The token used for requests that present none (Consul's `tokens.default`); else the anonymous token. */
  readonly defaultToken?: string | undefined;
}

export interface AclReader {
  aclPolicy(id: string): ACLPolicyRow | undefined;
  aclTokenBySecretHash(hash: string): ACLTokenRow | undefined;
  aclToken(accessorId: string): ACLTokenRow | undefined;
  tableIndex(table: 'acl_policies' | 'acl_tokens'): number;
}

export interface AclResolver {
  readonly enabled: boolean;
  /** The authorizer of a request's token (absent or empty: the default or anonymous token). 403 `ACL not found` for an unknown, expired or foreign local token. */
  resolve(secret: string | undefined): Authorizer;
  /** The token row behind a SecretID, for /v1/acl/token/self. */
  tokenOf(secret: string): ACLTokenRow | undefined;
  /** A policy by ID, the built-in one included. */
  policy(id: string): ACLPolicyRow | undefined;
}

const ACL_NOT_FOUND = () => new TrellisError('E_PERMISSION', 'ACL not found');

/**
 * Resolves tokens against this datacenter's own view: a secondary enforces with the WAN down, on
 * the policies and tokens it last replicated. Authorizers are cached per secret until an ACL
 * table changes; unknown secrets are never cached (no memory for a client guessing).
 */
export function createAclResolver({ settings, view, datacenter, now = Date.now }: { settings: AclSettings; view: AclReader; datacenter: string; now?: () => number }): AclResolver {
  const cache = new Map<string, Authorizer>();
  const parsed = new Map<string, { modify: number; rules: Rules }>();
  let cachedAt = -1;
  const defaultAllow = settings.defaultPolicy === 'allow';

  const policy = (id: string) => (id === GLOBAL_MANAGEMENT_ID ? GLOBAL_MANAGEMENT_POLICY : view.aclPolicy(id));

  function rulesOf(p: ACLPolicyRow): Rules | undefined {
    const hit = parsed.get(p.ID);
    if (hit && hit.modify === p.ModifyIndex) return hit.rules;
    try {
      const rules = parseRules(p.Rules);
      parsed.set(p.ID, { modify: p.ModifyIndex, rules });
      return rules;
    } catch {
      return undefined; // validated when written: an unparsable policy grants nothing
    }
  }

  function authorizerOf(accessorId: string, policyIds: readonly string[]): Authorizer {
    const rules: Rules[] = [];
    for (const id of policyIds) {
      const p = policy(id);
      if (!p || (p.Datacenters.length > 0 && !p.Datacenters.includes(datacenter))) continue;
      const r = rulesOf(p);
      if (r) rules.push(r);
    }
    return rulesAuthorizer(accessorId, mergeRules(rules), defaultAllow);
  }

  function usable(row: ACLTokenRow | undefined): row is ACLTokenRow {
    if (!row) return false;
    if (row.ExpirationTime > 0 && row.ExpirationTime <= now()) return false;
    return !row.Local || row.Datacenter === datacenter;
  }

  /** The authorizer of a secret, and whether it may be cached (an expiring token is re-checked every time). */
  function lookup(secret: string): { authz: Authorizer; cacheable: boolean } {
    if (secret === 'anonymous') {
      return { authz: authorizerOf(ANONYMOUS_ACCESSOR_ID, view.aclToken(ANONYMOUS_ACCESSOR_ID)?.Policies ?? []), cacheable: true };
    }
    const row = view.aclTokenBySecretHash(secretHash(secret));
    if (usable(row)) return { authz: authorizerOf(row.AccessorID, row.Policies), cacheable: row.ExpirationTime === 0 };
    // The configured bootstrap token works here before (or without) its event replicating.
    if (settings.initialManagement && secret === settings.initialManagement) return { authz: authorizerOf('initial-management', [GLOBAL_MANAGEMENT_ID]), cacheable: true };
    throw ACL_NOT_FOUND();
  }

  return {
    enabled: settings.enabled,
    resolve(secret) {
      if (!settings.enabled) return allowAll();
      const effective = secret === undefined || secret === '' ? (settings.defaultToken ?? 'anonymous') : secret;
      const index = view.tableIndex('acl_tokens') * 1e9 + view.tableIndex('acl_policies');
      if (index !== cachedAt) {
        cache.clear();
        cachedAt = index;
      }
      const hit = cache.get(effective);
      if (hit) return hit;
      const { authz, cacheable } = lookup(effective);
      // The cache holds at most a few thousand.
      if (cacheable && cache.size < 4096) cache.set(effective, authz);
      return authz;
    },
    tokenOf(secret) {
      const row = view.aclTokenBySecretHash(secretHash(secret));
      return usable(row) ? row : undefined;
    },
    policy,
  };
}
