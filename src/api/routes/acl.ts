import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TrellisError } from '../../common/index.js';
import type { ACLPolicyRow, ACLTokenRow, Origin } from '../../events/index.js';
import type { Decision, WriterState } from '../../log/index.js';
import {
  ANONYMOUS_ACCESSOR_ID,
  ANONYMOUS_TOKEN,
  GLOBAL_MANAGEMENT_POLICY,
  decidePolicyDelete,
  decidePolicySet,
  decideTokenDelete,
  decideTokenSet,
  secretHash,
  toConsulPolicy,
  toConsulToken,
  type AclResolver,
  type AclWriteContext,
} from '../../acl/index.js';
import { authzOf, requestToken } from '../acl.js';
import { originOf } from '../actor.js';
import { relayTo } from '../forward.js';
import { clientGoneSignal, parseBlockingParams, setQueryMeta } from '../blocking.js';
import type { ApiContext } from '../server.js';

/** What the ACL routes need: the resolver, the replicated tables, and (at the primary) the writer. */
export interface AclApi {
  readonly resolver: AclResolver;
  readonly view: {
    aclPolicies(): IterableIterator<ACLPolicyRow>;
    aclPolicy(id: string): ACLPolicyRow | undefined;
    aclPolicyByName(name: string): ACLPolicyRow | undefined;
    aclTokens(): IterableIterator<ACLTokenRow>;
    aclToken(accessorId: string): ACLTokenRow | undefined;
    tableIndex(table: 'acl_policies' | 'acl_tokens'): number;
    waitForIndex(table: 'acl_policies' | 'acl_tokens', minIndex: number, waitMs: number, signal?: AbortSignal): Promise<number>;
  };
  /** At the primary: decide and append (the writer's submit). Absent at a secondary: writes go to the primary. */
  readonly submit?: <R>(decide: (state: WriterState) => Decision<R>) => Promise<{ readonly result: R; readonly index: number }>;
}

type Params = Record<string, string>;

export function registerAclRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const acl = ctx.acl;

  /** Every /v1/acl route: 401 when ACLs are off (Consul's words), else the token's authorizer. */
  function authz(request: FastifyRequest) {
    if (!acl?.resolver.enabled) throw new TrellisError('E_ACL_DISABLED', 'ACL support disabled');
    return authzOf(request, acl.resolver);
  }

  async function block(table: 'acl_policies' | 'acl_tokens', request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { index, waitMs } = parseBlockingParams(request.query as Record<string, unknown>);
    const at = index > 0 ? await acl!.view.waitForIndex(table, index, waitMs, clientGoneSignal(reply)) : acl!.view.tableIndex(table);
    setQueryMeta(reply, at);
  }

  const policyName = (id: string) => acl?.resolver.policy(id)?.Name;

  /**
   * A write: at the primary, decided against the writer's state and appended; at a secondary, the
   * same HTTP request is answered by the primary (with the WAN down: 503, nothing queued).
   */
  async function write<R>(request: FastifyRequest, reply: FastifyReply, decide: (state: WriterState, c: AclWriteContext) => Decision<R>): Promise<{ result: R } | undefined> {
    authz(request).require('acl', 'write');
    if (!acl!.submit) {
      if (!ctx.forwardRead) throw new TrellisError('E_PRIMARY_UNREACHABLE', `ACL writes go to the primary datacenter ${ctx.primaryDatacenter}`);
      await relayTo(ctx.forwardRead, ctx.primaryDatacenter, request, reply);
      return undefined;
    }
    const token = requestToken(request);
    const origin: Origin = originOf(request, ctx.datacenter);
    const context: AclWriteContext = {
      actor: authz(request).accessorId,
      origin,
      now: Date.now(),
      datacenter: ctx.datacenter,
      ...(token ? { requestSecretHash: secretHash(token) } : {}),
    };
    const { result } = await acl!.submit((state) => decide(state, context));
    return { result };
  }

  const policyOut = (id: string) => {
    const row = acl!.resolver.policy(id);
    if (!row) throw new TrellisError('E_NOT_FOUND', 'ACL policy not found');
    return toConsulPolicy(row);
  };

  app.get('/v1/acl/policies', async (request, reply) => {
    authz(request).require('acl', 'read');
    await block('acl_policies', request, reply);
    return [GLOBAL_MANAGEMENT_POLICY, ...[...acl!.view.aclPolicies()].sort((a, b) => a.CreateIndex - b.CreateIndex)].map((p) => toConsulPolicy(p, true));
  });
  app.put('/v1/acl/policy', async (request, reply) => {
    const done = await write(request, reply, (state, c) => decidePolicySet(state, undefined, request.body, c));
    return done ? policyOut(done.result) : reply;
  });
  app.get('/v1/acl/policy/name/:name', async (request, reply) => {
    authz(request).require('acl', 'read');
    await block('acl_policies', request, reply);
    const name = (request.params as Params).name ?? '';
    const row = name === GLOBAL_MANAGEMENT_POLICY.Name ? GLOBAL_MANAGEMENT_POLICY : acl!.view.aclPolicyByName(name);
    if (!row) throw new TrellisError('E_NOT_FOUND', 'ACL policy not found');
    return toConsulPolicy(row);
  });
  app.get('/v1/acl/policy/:id', async (request, reply) => {
    authz(request).require('acl', 'read');
    await block('acl_policies', request, reply);
    return policyOut((request.params as Params).id ?? '');
  });
  app.put('/v1/acl/policy/:id', async (request, reply) => {
    const done = await write(request, reply, (state, c) => decidePolicySet(state, (request.params as Params).id, request.body, c));
    return done ? policyOut(done.result) : reply;
  });
  app.delete('/v1/acl/policy/:id', async (request, reply) => {
    const done = await write(request, reply, (state, c) => decidePolicyDelete(state, (request.params as Params).id ?? '', c));
    return done ? true : reply;
  });

  const tokenOut = (accessor: string, secret?: string) => {
    const row = acl!.view.aclToken(accessor) ?? (accessor === ANONYMOUS_ACCESSOR_ID ? ANONYMOUS_TOKEN : undefined);
    if (!row) throw new TrellisError('E_PERMISSION', 'ACL not found');
    return toConsulToken(row, policyName, secret);
  };

  app.get('/v1/acl/tokens', async (request, reply) => {
    authz(request).require('acl', 'read');
    await block('acl_tokens', request, reply);
    const now = Date.now();
    return [...acl!.view.aclTokens()]
      .filter((t) => t.ExpirationTime === 0 || t.ExpirationTime > now)
      .sort((a, b) => a.CreateIndex - b.CreateIndex)
      .map((t) => toConsulToken(t, policyName));
  });
  app.put('/v1/acl/token', async (request, reply) => {
    const done = await write(request, reply, (state, c) => decideTokenSet(state, undefined, request.body, c));
    return done ? tokenOut(done.result.accessorId, done.result.secret) : reply;
  });
  // Any valid token may read itself (the UI's and the CLI's "who am I").
  app.get('/v1/acl/token/self', async (request) => {
    authz(request);
    const token = requestToken(request);
    const row = token === undefined ? (acl!.view.aclToken(ANONYMOUS_ACCESSOR_ID) ?? ANONYMOUS_TOKEN) : acl!.resolver.tokenOf(token);
    if (!row) throw new TrellisError('E_PERMISSION', 'ACL not found');
    return toConsulToken(row, policyName, token);
  });
  app.get('/v1/acl/token/:id', async (request, reply) => {
    authz(request).require('acl', 'read');
    await block('acl_tokens', request, reply);
    return tokenOut((request.params as Params).id ?? '');
  });
  app.put('/v1/acl/token/:id', async (request, reply) => {
    const done = await write(request, reply, (state, c) => decideTokenSet(state, (request.params as Params).id, request.body, c));
    return done ? tokenOut(done.result.accessorId) : reply;
  });
  app.delete('/v1/acl/token/:id', async (request, reply) => {
    const done = await write(request, reply, (state, c) => decideTokenDelete(state, (request.params as Params).id ?? '', c));
    return done ? true : reply;
  });
}
