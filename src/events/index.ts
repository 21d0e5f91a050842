// The language of the log: event types (readonly tagged unions, past-tense facts), the msgpack codec,
// the subjects events and RPCs travel on, and `evolve`, the pure fold from events to view changes.
export * from './types.js';
export { encodeEvent, decodeEvent } from './codec.js';
export { EVENTS_STREAM, EVENTS_SUBJECT_PREFIX, EVENTS_SUBJECTS, eventSubject, rpcSubject, rpcServeSubject, rpcCaller } from './subjects.js';
export { evolve, VIEW_TABLES, CA_STATE_KEY, type ViewChange, type ViewTable, type EvolveState, type CARootRow, type CAStateRow, type IntermediateRow, type ACLPolicyRow, type ACLTokenRow } from './evolve.js';
export { GENESIS_PREV, eventHash, chainEvent, chainBreak } from './chain.js';
