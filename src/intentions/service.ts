import { z } from 'zod';
import type { Origin } from '../events/index.js';
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
  origin: z.strictObject({ dc: z.string().max(64), addr: z.string().max(128), req: z.string().max(128) }).optional(),
});

/** A forwarded write as another datacenter sent it: checked before anything acts on it. */
export function parseForwardedWrite(payload: unknown): { write: IntentionWrite; actor: string; origin: Origin | undefined } {
  const parsed = forwardedWrite.safeParse(payload);
  if (!parsed.success) {
    throw new TrellisError('E_VALIDATION', `malformed forwarded write: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return { write: parsed.data.write, actor: parsed.data.actor, origin: parsed.data.origin };
}

export interface IntentionWriteResult {
  /** The intention's ID. */
  readonly result: string;
  /** The stream sequence the write produced. */
  readonly index: number;
}

export interface IntentionService {
  /** At the primary: decide and append. At a secondary: check the input, forward to the primary. */
  apply(write: IntentionWrite, actor: string, origin?: Origin): Promise<IntentionWriteResult>;
}

export interface IntentionServiceDeps {
  readonly datacenter: string;
  readonly primary: string;
  readonly view: ViewReader & { waitForSeq(seq: number, timeoutMs: number): Promise<boolean> };
  /** Present at the primary only. */
  readonly writer: Writer | undefined;
  /** Sends a write to the primary; used at secondaries. */
  readonly forward: (write: IntentionWrite, actor: string, origin: Origin | undefined) => Promise<IntentionWriteResult>;
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

export function createIntentionService(deps: IntentionServiceDeps): IntentionService {
  const { writer, view, now, newId, forward, localApplyWaitMs = 2000 } = deps;
  let requestCounter = 0;
  const ridPrefix = `${deps.datacenter}-${process.pid}-${Date.now().toString(36)}`;

  async function applyAtPrimary(write: IntentionWrite, actor: string, origin: Origin | undefined): Promise<IntentionWriteResult> {
    if (!writer) throw new TrellisError('E_INTERNAL', 'no writer at the primary');
    const rid = `${ridPrefix}-${++requestCounter}`;
    const outcome = await writer.submit(rid, (state) => {
      const ctx = { now: now(), newId, actor, ...(origin ? { origin } : {}) };
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
    });
    return { result: outcome.result, index: outcome.index };
  }

  return {
    async apply(write, actor, origin) {
      checkInput(write);
      if (deps.datacenter === deps.primary) return applyAtPrimary(write, actor, origin);
      const answer = await forward(write, actor, origin);
      // Read-your-writes at the secondary too, when the WAN is quick enough: not a condition of success.
      await view.waitForSeq(answer.index, localApplyWaitMs);
      return answer;
    },
  };
}
