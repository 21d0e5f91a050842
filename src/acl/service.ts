import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { TrellisError } from '../common/index.js';
import { SCHEMA_VERSION, type ACLPolicyRecord, type ACLPolicyRow, type ACLTokenRecord, type ACLTokenRow, type Origin, type TrellisEvent } from '../events/index.js';
import type { Decision, Writer, WriterState } from '../log/index.js';
import { ANONYMOUS_ACCESSOR_ID, GLOBAL_MANAGEMENT_ID, GLOBAL_MANAGEMENT_POLICY, secretHash } from './resolver.js';
import { parseRules } from './rules.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const POLICY_NAME = /^[A-Za-z0-9_-]{1,128}$/;

const bad = (message: string): never => {
  throw new TrellisError('E_VALIDATION', message);
};

/** Consul's policy body (PascalCase; unknown fields refused, as Consul's strict decoder does). */
const policyBody = z
  .object({
    ID: z.string().optional(),
    Name: z.string().optional(),
    Description: z.string().max(4096).optional(),
    Rules: z.string().optional(),
    Datacenters: z.array(z.string().max(64)).max(64).nullable().optional(),
    Hash: z.unknown().optional(),
    CreateIndex: z.unknown().optional(),
    ModifyIndex: z.unknown().optional(),
  })
  .strict();

const policyLink = z.object({ ID: z.string().optional(), Name: z.string().optional() }).strict();

const tokenBody = z
  .object({
    AccessorID: z.string().optional(),
    SecretID: z.string().optional(),
    Description: z.string().max(4096).optional(),
    Policies: z.array(policyLink).max(256).nullable().optional(),
    Local: z.boolean().optional(),
    ExpirationTTL: z.string().optional(),
    ExpirationTime: z.string().nullable().optional(),
    CreateTime: z.unknown().optional(),
    Hash: z.unknown().optional(),
    CreateIndex: z.unknown().optional(),
    ModifyIndex: z.unknown().optional(),
  })
  .strict();

function parseBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) return bad(`Failed to decode ${what}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Go's duration syntax, as Consul's ExpirationTTL takes it ("1h30m", "90s"). */
function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    consumed += m[0].length;
  }
  if (consumed !== text.length || text.length === 0) bad(`Invalid ExpirationTTL ${JSON.stringify(text)}: a duration such as "24h"`);
  return total;
}

export interface AclWriteContext {
  readonly actor: string;
  readonly origin?: Origin | undefined;
  readonly now: number;
  /** The datacenter the request came in at (a local token's home). */
  readonly datacenter: string;
  /** The hash of the request's own SecretID (a token may not delete itself). */
  readonly requestSecretHash?: string | undefined;
}

function envelope<T extends TrellisEvent['type']>(type: T, data: Extract<TrellisEvent, { type: T }>['data'], ctx: AclWriteContext): TrellisEvent {
  return { v: SCHEMA_VERSION, type, at: ctx.now, by: ctx.actor, ...(ctx.origin ? { origin: ctx.origin } : {}), data } as TrellisEvent;
}

/** Create (no id) or update (id) a policy: Consul's checks and messages. */
export function decidePolicySet(state: WriterState, id: string | undefined, body: unknown, ctx: AclWriteContext): Decision<string> {
  const b = parseBody(policyBody, body, 'policy');
  const name = b.Name ?? '';
  if (name === '') bad('Invalid Policy: no Name is set');
  if (!POLICY_NAME.test(name)) bad("Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
  const targetId = id ?? (b.ID && b.ID !== '' ? b.ID : undefined);
  if (targetId === GLOBAL_MANAGEMENT_ID) bad('Changing the Rules for the builtin global-management policy is not permitted');
  const rules = b.Rules ?? '';
  parseRules(rules);
  let policyId: string;
  if (targetId === undefined) {
    if (state.aclPolicyByName(name)) bad(`Invalid Policy: A Policy with Name ${JSON.stringify(name)} already exists`);
    policyId = randomUUID();
  } else {
    if (!UUID.test(targetId)) bad('Policy ID invalid UUID');
    const existing = state.aclPolicy(targetId);
    if (!existing) return bad(`cannot find policy ${targetId}`);
    const other = state.aclPolicyByName(name);
    if (existing.Name !== name && other && other.ID !== targetId) bad(`Invalid Policy: A policy with name ${JSON.stringify(name)} already exists`);
    policyId = targetId;
  }
  if (name === GLOBAL_MANAGEMENT_POLICY.Name) bad(`Invalid Policy: A Policy with Name ${JSON.stringify(name)} already exists`);
  const policy: ACLPolicyRecord = { ID: policyId, Name: name, Description: b.Description ?? '', Rules: rules, Datacenters: b.Datacenters ?? [] };
  return { event: envelope('ACLPolicySet', { policy }, ctx), result: policyId };
}

export function decidePolicyDelete(state: WriterState, id: string, ctx: AclWriteContext): Decision<string> {
  if (!UUID.test(id)) bad('Policy ID invalid UUID');
  if (id === GLOBAL_MANAGEMENT_ID) bad('Delete operation not permitted on the builtin global-management policy');
  const existing = state.aclPolicy(id);
  if (!existing) return { result: '' };
  return { event: envelope('ACLPolicyDeleted', { id }, ctx), result: existing.Name };
}

function resolveLinks(state: WriterState, links: readonly { ID?: string | undefined; Name?: string | undefined }[]): string[] {
  const ids: string[] = [];
  for (const link of links) {
    let id = link.ID && link.ID !== '' ? link.ID : undefined;
    if (id === undefined) {
      const name = link.Name ?? '';
      const found = name === GLOBAL_MANAGEMENT_POLICY.Name ? GLOBAL_MANAGEMENT_POLICY : state.aclPolicyByName(name);
      if (!found) return bad(`No such ACL policy with name ${JSON.stringify(name)}`);
      id = found.ID;
    } else if (id !== GLOBAL_MANAGEMENT_ID && !state.aclPolicy(id)) {
      bad(`No such ACL policy with ID ${JSON.stringify(id)}`);
    }
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

export interface TokenSetResult {
  readonly accessorId: string;
  /** The SecretID, on create only: the log keeps its hash, so it cannot be shown again. */
  readonly secret?: string;
}

/** Create (no accessor) or update (accessor) a token: Consul's checks and messages. */
export function decideTokenSet(state: WriterState, accessor: string | undefined, body: unknown, ctx: AclWriteContext): Decision<TokenSetResult> {
  const b = parseBody(tokenBody, body, 'token');
  const target = accessor ?? (b.AccessorID && b.AccessorID !== '' ? b.AccessorID : undefined);
  const policies = resolveLinks(state, b.Policies ?? []);
  const existing = target === undefined ? undefined : state.aclToken(target);
  if (accessor !== undefined) {
    // PUT /v1/acl/token/:AccessorID updates an existing token.
    if (!UUID.test(accessor)) bad('AccessorID is not a valid UUID');
    if (!existing && accessor !== ANONYMOUS_ACCESSOR_ID) bad(`Cannot find token ${JSON.stringify(accessor)}`);
  }
  if (existing || accessor === ANONYMOUS_ACCESSOR_ID) {
    const id = target!;
    if (b.SecretID && b.SecretID !== '' && (!existing || secretHash(b.SecretID) !== existing.SecretHash)) bad('Changing a tokens SecretID is not permitted');
    if (existing && b.Local !== undefined && b.Local !== existing.Local) bad(`cannot toggle local mode of ${id}`);
    if (b.ExpirationTTL !== undefined) bad(`Cannot change expiration time of ${id}`);
    const token: ACLTokenRecord = {
      AccessorID: id,
      SecretHash: existing?.SecretHash ?? secretHash('anonymous'),
      Description: b.Description ?? existing?.Description ?? (id === ANONYMOUS_ACCESSOR_ID ? 'Anonymous Token' : ''),
      Policies: policies,
      Local: existing?.Local ?? false,
      Datacenter: existing?.Datacenter ?? ctx.datacenter,
      CreateTime: existing?.CreateTime ?? ctx.now,
      ExpirationTime: existing?.ExpirationTime ?? 0,
    };
    return { event: envelope('ACLTokenSet', { token }, ctx), result: { accessorId: id } };
  }
  // Create.
  const accessorId = target ?? randomUUID();
  if (!UUID.test(accessorId)) bad('Invalid Token: AccessorID is not a valid UUID');
  const secret = b.SecretID && b.SecretID !== '' ? b.SecretID : randomUUID();
  if (!UUID.test(secret)) bad('Invalid Token: SecretID is not a valid UUID');
  if (secret === 'anonymous' || state.aclTokenBySecretHash(secretHash(secret))) bad('Invalid Token: SecretID is already in use');
  let expiration = 0;
  if (b.ExpirationTTL !== undefined && b.ExpirationTTL !== '') {
    const ttl = parseDuration(b.ExpirationTTL);
    if (ttl <= 0) bad(`Token Expiration TTL '${b.ExpirationTTL}' should be > 0`);
    if (b.ExpirationTime) bad('Token Expiration TTL and Expiration Time cannot both be set');
    expiration = ctx.now + ttl;
  } else if (b.ExpirationTime) {
    const t = Date.parse(b.ExpirationTime);
    if (Number.isNaN(t)) bad('ExpirationTime must be an RFC 3339 time');
    if (t < ctx.now) bad('ExpirationTime cannot be before CreateTime');
    expiration = t;
  }
  const token: ACLTokenRecord = {
    AccessorID: accessorId,
    SecretHash: secretHash(secret),
    Description: b.Description ?? '',
    Policies: policies,
    Local: b.Local ?? false,
    Datacenter: ctx.datacenter,
    CreateTime: ctx.now,
    ExpirationTime: expiration,
  };
  return { event: envelope('ACLTokenSet', { token }, ctx), result: { accessorId, secret } };
}

export function decideTokenDelete(state: WriterState, accessor: string, ctx: AclWriteContext): Decision<string> {
  if (!UUID.test(accessor)) bad('Accessor ID is missing or an invalid UUID');
  if (accessor === ANONYMOUS_ACCESSOR_ID) bad('Delete operation not permitted on the anonymous token');
  const existing = state.aclToken(accessor);
  if (!existing) return { result: '' };
  if (ctx.requestSecretHash && existing.SecretHash === ctx.requestSecretHash) bad("Deletion of the request's authorization token is not permitted");
  return { event: envelope('ACLTokenDeleted', { accessorId: accessor }, ctx), result: accessor };
}

/**
 * At the primary's start with `acl.tokens.initial_management`: records it (hashed) as a token linked
 * to global-management, once. A restart with the same secret appends nothing.
 */
export async function bootstrapInitialManagement(writer: Writer, secret: string, datacenter: string, now: number): Promise<void> {
  await writer.submit(`acl-initial-management-${secretHash(secret).slice(0, 16)}`, (state) => {
    if (state.aclTokenBySecretHash(secretHash(secret))) return { result: undefined };
    const ctx: AclWriteContext = { actor: `agent:${datacenter}`, now, datacenter };
    const token: ACLTokenRecord = {
      AccessorID: randomUUID(),
      SecretHash: secretHash(secret),
      Description: 'Initial Management Token',
      Policies: [GLOBAL_MANAGEMENT_ID],
      Local: false,
      Datacenter: datacenter,
      CreateTime: now,
      ExpirationTime: 0,
    };
    return { event: envelope('ACLTokenSet', { token }, ctx), result: undefined };
  });
}

/** Consul's JSON for a policy (full) or a list stub (no Rules). */
export function toConsulPolicy(p: ACLPolicyRow, stub = false): Record<string, unknown> {
  return {
    ID: p.ID,
    Name: p.Name,
    Description: p.Description,
    ...(stub ? {} : { Rules: p.Rules }),
    Datacenters: p.Datacenters.length > 0 ? p.Datacenters : null,
    Hash: p.Hash,
    CreateIndex: p.CreateIndex,
    ModifyIndex: p.ModifyIndex,
  };
}

/** Consul's JSON for a token. The SecretID is shown only when it was just created: trellis keeps its hash. */
export function toConsulToken(t: ACLTokenRow, policyName: (id: string) => string | undefined, secret?: string): Record<string, unknown> {
  return {
    AccessorID: t.AccessorID,
    SecretID: secret ?? (t.AccessorID === ANONYMOUS_ACCESSOR_ID ? 'anonymous' : '<hidden>'),
    Description: t.Description,
    Policies: t.Policies.flatMap((id) => {
      const name = policyName(id);
      return name === undefined ? [] : [{ ID: id, Name: name }];
    }),
    Local: t.Local,
    ...(t.ExpirationTime > 0 ? { ExpirationTime: new Date(t.ExpirationTime).toISOString() } : {}),
    CreateTime: new Date(t.CreateTime).toISOString(),
    Hash: t.Hash,
    CreateIndex: t.CreateIndex,
    ModifyIndex: t.ModifyIndex,
  };
}
