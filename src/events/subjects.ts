import type { TrellisEvent } from './types.js';

/** The primary's stream, mirrored under the same name in every secondary's JetStream domain. */
export const EVENTS_STREAM = 'TRELLIS_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'trellis.events';
export const EVENTS_SUBJECTS = `${EVENTS_SUBJECT_PREFIX}.>`;

/** The subject an event is appended on: `trellis.events.intention.<id>`, `trellis.events.ca.<kind>`. */
export function eventSubject(event: TrellisEvent): string {
  switch (event.type) {
    case 'LogStarted':
      return `${EVENTS_SUBJECT_PREFIX}.log.started`;
    case 'IntentionCreated':
    case 'IntentionUpdated':
      return `${EVENTS_SUBJECT_PREFIX}.intention.${event.data.intention.ID}`;
    case 'IntentionDeleted':
      return `${EVENTS_SUBJECT_PREFIX}.intention.${event.data.id}`;
    case 'CARootCreated':
      return `${EVENTS_SUBJECT_PREFIX}.ca.root`;
    case 'IntermediateIssued':
      return `${EVENTS_SUBJECT_PREFIX}.ca.intermediate.${event.data.datacenter}`;
    case 'CAConfigSet':
      return `${EVENTS_SUBJECT_PREFIX}.ca.config`;
    case 'CARootRotated':
      return `${EVENTS_SUBJECT_PREFIX}.ca.rotated`;
    case 'CARootsPruned':
      return `${EVENTS_SUBJECT_PREFIX}.ca.pruned`;
    case 'CSRRefused':
      return `${EVENTS_SUBJECT_PREFIX}.ca.csr-refused.${event.data.datacenter}`;
    case 'SnapshotTaken':
      return `${EVENTS_SUBJECT_PREFIX}.snapshot`;
    case 'ACLPolicySet':
      return `${EVENTS_SUBJECT_PREFIX}.acl.policy.${event.data.policy.ID}`;
    case 'ACLPolicyDeleted':
      return `${EVENTS_SUBJECT_PREFIX}.acl.policy.${event.data.id}`;
    case 'ACLTokenSet':
      return `${EVENTS_SUBJECT_PREFIX}.acl.token.${event.data.token.AccessorID}`;
    case 'ACLTokenDeleted':
      return `${EVENTS_SUBJECT_PREFIX}.acl.token.${event.data.accessorId}`;
  }
}

/** `trellis.rpc.<callee-dc>.<service>.<verb>.<caller-dc>`: never overlaps the stream's subjects. */
export function rpcSubject(callee: string, service: string, verb: string, caller: string): string {
  return `trellis.rpc.${callee}.${service}.${verb}.${caller}`;
}

/** The subscription a callee serves for one service/verb, from any caller. */
export function rpcServeSubject(callee: string, service: string, verb: string): string {
  return `trellis.rpc.${callee}.${service}.${verb}.*`;
}

/** The caller's datacenter is the last token of the subject: the server's permissions enforce it. */
export function rpcCaller(subject: string): string {
  const i = subject.lastIndexOf('.');
  return subject.slice(i + 1);
}
