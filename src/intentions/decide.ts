import { TrellisError } from '../common/index.js';
import type { IntentionRecord, IntentionRow, TrellisEvent } from '../events/index.js';
import { SCHEMA_VERSION } from '../events/index.js';
import type { Decision, WriterState } from '../log/index.js';
import { describeIntention } from './describe.js';
import type { IntentionInput } from './input.js';
import { DEFAULT_NAMESPACE, WILDCARD, type IntentionName } from './names.js';
import type { Origin } from '../events/index.js';
import { intentionPrecedence } from './precedence.js';
import { validateIntention } from './validate.js';

export interface DecideContext {
  /** Epoch milliseconds of the decision. */
  readonly now: number;
  readonly newId: () => string;
  /** Who asked: recorded as the event's `by`. */
  readonly actor: string;
  /** Where the request came in, for the audit trail. */
  readonly origin?: Origin;
}

/** Namespaces are an Enterprise feature in Consul; trellis has `default` (and `*` where a wildcard fits). */
function checkNamespace(field: string, ns: string): void {
  if (ns === '' || ns === WILDCARD || ns.toLowerCase() === DEFAULT_NAMESPACE) return;
  throw new TrellisError('E_VALIDATION', `Invalid ${field}(${JSON.stringify(ns)}): Namespaces is a Consul Enterprise feature`);
}

/** Consul's defaults, validation and precedence: the record to store, minus identity and times. */
function normalized(input: IntentionInput): Omit<IntentionRecord, 'ID' | 'CreatedAt' | 'UpdatedAt'> {
  checkNamespace('SourceNS', input.SourceNS);
  checkNamespace('DestinationNS', input.DestinationNS);
  const fields = {
    SourceNS: input.SourceNS === '' ? DEFAULT_NAMESPACE : input.SourceNS.toLowerCase() === DEFAULT_NAMESPACE ? DEFAULT_NAMESPACE : input.SourceNS,
    SourceName: input.SourceName,
    DestinationNS:
      input.DestinationNS === '' ? DEFAULT_NAMESPACE : input.DestinationNS.toLowerCase() === DEFAULT_NAMESPACE ? DEFAULT_NAMESPACE : input.DestinationNS,
    DestinationName: input.DestinationName,
    SourceType: input.SourceType === '' ? 'consul' : input.SourceType,
    Action: input.Action,
    Description: input.Description,
    Meta: input.Meta,
  };
  validateIntention(fields);
  return { ...fields, SourceType: 'consul', Action: fields.Action as 'allow' | 'deny', Precedence: intentionPrecedence(fields) };
}

function refuseDuplicate(state: WriterState, record: Omit<IntentionRecord, 'ID' | 'CreatedAt' | 'UpdatedAt'>, selfId?: string): void {
  const existing = state.intentionByPair(record.SourceNS, record.SourceName, record.DestinationNS, record.DestinationName);
  if (existing && existing.ID !== selfId) {
    throw new TrellisError('E_CONFLICT', `duplicate intention found: ${describeIntention(existing)}`);
  }
}

function event(type: 'IntentionCreated' | 'IntentionUpdated', intention: IntentionRecord, ctx: DecideContext): TrellisEvent {
  return { v: SCHEMA_VERSION, type, at: ctx.now, by: ctx.actor, ...(ctx.origin ? { origin: ctx.origin } : {}), data: { intention } };
}

function create(state: WriterState, fields: Omit<IntentionRecord, 'ID' | 'CreatedAt' | 'UpdatedAt'>, ctx: DecideContext): Decision<string> {
  refuseDuplicate(state, fields);
  const intention: IntentionRecord = { ID: ctx.newId(), ...fields, CreatedAt: ctx.now, UpdatedAt: ctx.now };
  return { event: event('IntentionCreated', intention, ctx), result: intention.ID };
}

function update(state: WriterState, existing: IntentionRow, fields: Omit<IntentionRecord, 'ID' | 'CreatedAt' | 'UpdatedAt'>, ctx: DecideContext): Decision<string> {
  refuseDuplicate(state, fields, existing.ID);
  const intention: IntentionRecord = { ID: existing.ID, ...fields, CreatedAt: existing.CreatedAt, UpdatedAt: ctx.now };
  return { event: event('IntentionUpdated', intention, ctx), result: existing.ID };
}

/** `POST /v1/connect/intentions`: a new intention; one per source/destination pair. */
export function decideCreate(state: WriterState, input: IntentionInput, ctx: DecideContext): Decision<string> {
  if (input.ID !== '') throw new TrellisError('E_VALIDATION', 'ID must be empty when creating a new intention');
  return create(state, normalized(input), ctx);
}

/** `PUT /v1/connect/intentions/:id`: replaces an existing intention's fields (names may change). */
export function decideUpdate(state: WriterState, id: string, input: IntentionInput, ctx: DecideContext): Decision<string> {
  const existing = state.intention(id);
  if (!existing) throw new TrellisError('E_NOT_FOUND', `Cannot modify non-existent intention: '${id}'`);
  return update(state, existing, normalized(input), ctx);
}

/** `PUT /v1/connect/intentions/exact`: creates or replaces the intention for a source/destination pair. */
export function decideUpsertExact(state: WriterState, source: IntentionName, destination: IntentionName, input: IntentionInput, ctx: DecideContext): Decision<string> {
  const fields = normalized({ ...input, SourceNS: source.namespace, SourceName: source.name, DestinationNS: destination.namespace, DestinationName: destination.name });
  const existing = state.intentionByPair(fields.SourceNS, fields.SourceName, fields.DestinationNS, fields.DestinationName);
  return existing ? update(state, existing, fields, ctx) : create(state, fields, ctx);
}

/** `DELETE /v1/connect/intentions/:id`. */
export function decideDelete(state: WriterState, id: string, ctx: DecideContext): Decision<string> {
  if (!state.intention(id)) throw new TrellisError('E_NOT_FOUND', `Cannot delete non-existent intention: '${id}'`);
  return { event: { v: SCHEMA_VERSION, type: 'IntentionDeleted', at: ctx.now, by: ctx.actor, ...(ctx.origin ? { origin: ctx.origin } : {}), data: { id } }, result: id };
}

/** `DELETE /v1/connect/intentions/exact`: deleting a pair that has no intention changes nothing and succeeds. */
export function decideDeleteExact(state: WriterState, source: IntentionName, destination: IntentionName, ctx: DecideContext): Decision<string> {
  const existing = state.intentionByPair(source.namespace, source.name, destination.namespace, destination.name);
  if (!existing) return { result: '' };
  return decideDelete(state, existing.ID, ctx);
}
