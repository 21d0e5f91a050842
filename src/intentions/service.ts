import { z } from 'zod';
import type { Origin, TrellisEvent } from '../events/index.js';
import { allowAll, type Authorizer } from '../acl/authorizer.js';
import { TrellisError, type Logger } from '../common/index.js';
import type { Writer } from '../log/index.js';
import type { ViewReader } from '../view/index.js';
import { decideCreate, decideDelete, decideDeleteExact, decideUpdate, decideUpsertExact } from './decide.js';
import { parseIntentionBody } from './input.js';
import { parseIntentionId, parseIntentionName } from './names.js';

/** A write as the HTTP API received it; a secondary forwards it to the primary unchanged. */
export type IntentionWrite =
  | { readonly op: 'create'; readonly body: unknown }
  | { readonly op: 'update'; readonly id: string; readonly body: unknown }
  | { readonly op: 'delete'; readonly id: string }
  | { readonly op: 'upsert-exact'; readonly source: string; readonly destination: string; readonly body: unknown }
  | { readonly op: 'delete-exact'; readonly source: string; readonly destination: string };

const forwardedWrite = z.strictObject({
  write: z.discriminatedUnion('op', [
    z.strictObject({ op: z.literal('create'), body: z.unknown() }),
    z.strictObject({ op: z.literal('update'), id: z.string(), body: z.unknown() }),
    z.strictObject({ op: z.literal('delete'), id: z.string() }),
    z.strictObject({ op: z.literal('upsert-exact'), source: z.string(), destination: z.string(), body: z.unknown() }),
    z.strictObject({ op: z.literal('delete-exact'), source: z.string(), destination: z.string() }),
  ]),
  actor: z.string().max(256),
  /** The client's ACL token: the primary resolves it itself, it never trusts the forwarder's verdict. */
  token: z.string().max(256).optional(),
  origin: z.strictObject({ dc: z.string().max(64), addr: z.string().max(128), req: z.string().max(128) }).optional(),
});

/** A forwarded write as another datacenter sent it: checked before anything acts on it. */
export function parseForwardedWrite(payload: unknown): { write: IntentionWrite; actor: string; token: string | undefined; origin: Origin | undefined } {
  const parsed = forwardedWrite.safeParse(payload);
  if (!parsed.success) {
    throw new TrellisError('E_VALIDATION', `malformed forwarded write: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return { write: parsed.data.write, actor: parsed.data.actor, token: parsed.data.token, origin: parsed.data.origin };
}

export interface IntentionWriteResult {
  /** The intention's ID. */
  readonly result: string;
  /** The stream sequence the write produced. */
  readonly index: number;
}

/** Who is writing: the request's authorizer (its accessor is the event's actor) and, to forward, its token. */
export interface WriteAuth {
  readonly authz: Authorizer;
  readonly token?: string | undefined;
  /** Overrides the actor recorded (a forwarded write: `<accessor>@<dc>`). */
  readonly actor?: string;
}

export const SYSTEM_AUTH: WriteAuth = { authz: allowAll() };

export interface IntentionService {
  /** At the primary: decide and append. At a secondary: check the input and the token, forward to the primary. */
  apply(write: IntentionWrite, auth: WriteAuth, origin?: Origin): Promise<IntentionWriteResult>;
}

export interface IntentionServiceDeps {
  readonly datacenter: string;
  readonly primary: string;
  readonly view: ViewReader & { waitForSeq(seq: number, timeoutMs: number): Promise<boolean>; requestSeq(rid: string): number | undefined };
  /** Present at the primary only. */
  readonly writer: Writer | undefined;
  /** Sends a write to the primary; used at secondaries. */
  readonly forward: (write: IntentionWrite, actor: string, origin: Origin | undefined, token: string | undefined) => Promise<IntentionWriteResult>;
  readonly logger: Logger;
  readonly now: () => number;
  readonly newId: () => string;
  /** How long a secondary waits to see its forwarded write in its own view. @default 2000 */
  readonly localApplyWaitMs?: number;
}

/** Checks a write's input without the state: bad input never needs the WAN to be refused. */
function checkInput(write: IntentionWrite): void {
  switch (write.op) {
    case 'create':
      parseIntentionBody(write.body, 'Failed to decode request body');
      return;
    case 'update':
      parseIntentionId(write.id);
      parseIntentionBody(write.body);
      return;
    case 'upsert-exact':
      parseIntentionName(write.source, 'source');
      parseIntentionName(write.destination, 'destination');
      parseIntentionBody(write.body);
      return;
    case 'delete-exact':
      parseIntentionName(write.source, 'source');
      parseIntentionName(write.destination, 'destination');
      return;
    case 'delete':
      parseIntentionId(write.id);
      return;
  }
}

/** The destinations a write touches that the state already knows (the primary re-checks with its own). */
function destinationsOf(write: IntentionWrite, view: ViewReader): string[] {
  switch (write.op) {
    case 'create':
    case 'upsert-exact':
    case 'update': {
      const named = write.op === 'upsert-exact' ? [parseIntentionName(write.destination, 'destination').name] : [parseIntentionBody(write.body).DestinationName];
      const before = write.op === 'update' ? view.intention(write.id)?.DestinationName : undefined;
      return before === undefined ? named : [...named, before];
    }
    case 'delete-exact':
      return [parseIntentionName(write.destination, 'destination').name];
    case 'delete': {
      const before = view.intention(write.id)?.DestinationName;
      return before === undefined ? [] : [before];
    }
  }
}

/** Consul: an intention write needs `intentions = "write"` on its destination (old and new, for an update). */
function requireEvent(authz: Authorizer, event: TrellisEvent | undefined, before: (id: string) => string | undefined): void {
  if (!event) return;
  if (event.type === 'IntentionCreated' || event.type === 'IntentionUpdated') {
    authz.require('intention', 'write', event.data.intention.DestinationName);
    const prior = before(event.data.intention.ID);
    if (prior !== undefined) authz.require('intention', 'write', prior);
  } else if (event.type === 'IntentionDeleted') {
    const prior = before(event.data.id);
    if (prior !== undefined) authz.require('intention', 'write', prior);
  }
}

export function createIntentionService(deps: IntentionServiceDeps): IntentionService {
  const { writer, view, now, newId, forward, localApplyWaitMs = 2000 } = deps;

  /** The answer to a request that was already applied: the intention it wrote, as the view has it now. */
  function resultOfApplied(write: IntentionWrite): string {
    switch (write.op) {
      case 'update':
      case 'delete':
        return write.id;
      case 'create': {
        const b = parseIntentionBody(write.body, 'Failed to decode request body');
        return view.intentionByPair(b.SourceNS || 'default', b.SourceName, b.DestinationNS || 'default', b.DestinationName)?.ID ?? '';
      }
      case 'upsert-exact': {
        const s = parseIntentionName(write.source, 'source');
        const d = parseIntentionName(write.destination, 'destination');
        return view.intentionByPair(s.namespace, s.name, d.namespace, d.name)?.ID ?? '';
      }
      case 'delete-exact':
        return '';
    }
  }
  let requestCounter = 0;
  const ridPrefix = `${deps.datacenter}-${process.pid}-${Date.now().toString(36)}`;

  async function applyAtPrimary(write: IntentionWrite, authz: Authorizer, actor: string, origin: Origin | undefined): Promise<IntentionWriteResult> {
    if (!writer) throw new TrellisError('E_INTERNAL', 'no writer at the primary');
    // The request id makes a write idempotent: a client (or a secondary) retrying a request whose
    // answer it lost, with the same X-Request-ID, gets the first outcome instead of a second event.
    const rid = origin ? `req:${origin.req}` : `${ridPrefix}-${++requestCounter}`;
    const seen = view.requestSeq(rid);
    if (seen !== undefined) return { result: resultOfApplied(write), index: seen };
    const outcome = await writer.submit(rid, (state) => {
      const ctx = { now: now(), newId, actor, ...(origin ? { origin } : {}) };
      const decision = decideFor(state, ctx);
      // Checked against the very state the decision was made on (an update's old destination too).
      requireEvent(authz, decision.event, (id) => state.intention(id)?.DestinationName);
      return decision;
    });
    return { result: outcome.duplicate ? resultOfApplied(write) : outcome.result, index: outcome.index };

    function decideFor(state: Parameters<Parameters<Writer['submit']>[1]>[0], ctx: Parameters<typeof decideCreate>[2]) {
      switch (write.op) {
        case 'create':
          return decideCreate(state, parseIntentionBody(write.body, 'Failed to decode request body'), ctx);
        case 'update':
          return decideUpdate(state, write.id, parseIntentionBody(write.body), ctx);
        case 'delete':
          return decideDelete(state, write.id, ctx);
        case 'upsert-exact':
          return decideUpsertExact(state, parseIntentionName(write.source, 'source'), parseIntentionName(write.destination, 'destination'), parseIntentionBody(write.body), ctx);
        case 'delete-exact':
          return decideDeleteExact(state, parseIntentionName(write.source, 'source'), parseIntentionName(write.destination, 'destination'), ctx);
      }
    }
  }

  return {
    async apply(write, auth, origin) {
      checkInput(write);
      // A 403 needs no WAN: the token is checked here against the local view first.
      for (const destination of destinationsOf(write, view)) auth.authz.require('intention', 'write', destination);
      const actor = auth.actor ?? auth.authz.accessorId;
      if (deps.datacenter === deps.primary) return applyAtPrimary(write, auth.authz, actor, origin);
      const answer = await forward(write, actor, origin, auth.token);
      // Read-your-writes at the secondary too, when the WAN is quick enough: not a condition of success.
      await view.waitForSeq(answer.index, localApplyWaitMs);
      return answer;
    },
  };
}
