import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { chainBreak, decodeEvent, eventHash, EVENTS_STREAM, GENESIS_PREV, type TrellisEvent } from '../events/index.js';

/** Walks a datacenter's stream from sequence 1 through its last event, in order, with the stored bytes. */
export async function walkStream(js: JetStreamClient, jsm: JetStreamManager, visit: (seq: number, bytes: Uint8Array) => boolean | void): Promise<number> {
  const last = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
  if (last === 0) return 0;
  const consumer = await js.consumers.get(EVENTS_STREAM, { opt_start_seq: 1 });
  const messages = await consumer.consume({ max_messages: 1024 });
  let seen = 0;
  for await (const m of messages) {
    seen = m.seq;
    const stop = visit(m.seq, m.data) === false;
    if (stop || m.seq >= last) break;
  }
  messages.stop();
  return seen;
}

export type VerifyResult =
  | { readonly ok: true; readonly verified: number; readonly head: string; readonly from: number }
  | { readonly ok: false; readonly verified: number; readonly brokenAt: number; readonly reason: string; readonly from: number };

/**
 * `trellis audit verify`: every event decodes and links to the bytes of the one before it. A
 * secondary that started from a view snapshot holds the log from `from` on: its first event's link
 * points before it (to the snapshot the projector checked) and is taken as given.
 */
export async function verifyChain(js: JetStreamClient, jsm: JetStreamManager): Promise<VerifyResult> {
  const from = Math.max(1, (await jsm.streams.info(EVENTS_STREAM)).state.first_seq);
  let expected: string | undefined = from === 1 ? GENESIS_PREV : undefined;
  let verified = from - 1;
  let broken: { brokenAt: number; reason: string } | undefined;
  await walkStream(js, jsm, (seq, bytes) => {
    if (seq !== verified + 1) {
      broken = { brokenAt: verified + 1, reason: `event ${verified + 1} is missing from the stream (the next is ${seq})` };
      return false;
    }
    let event: TrellisEvent;
    try {
      event = decodeEvent(bytes);
    } catch (err) {
      broken = { brokenAt: seq, reason: `event ${seq} cannot be decoded: ${(err as Error).message}` };
      return false;
    }
    const reason = chainBreak(seq, event, expected ?? event.prev ?? GENESIS_PREV);
    if (reason) {
      broken = { brokenAt: seq, reason };
      return false;
    }
    expected = eventHash(bytes);
    verified = seq;
    return true;
  });
  return broken ? { ok: false, verified: verified - from + 1, from, ...broken } : { ok: true, verified: verified - from + 1, from, head: expected ?? GENESIS_PREV };
}

/** One line of `trellis audit log`. */
export interface AuditEntry {
  readonly seq: number;
  readonly time: string;
  readonly type: string;
  readonly by: string;
  /** Where the request came in (datacenter, client address, request id), when recorded. */
  readonly origin: { readonly dc: string; readonly addr: string; readonly req: string } | null;
  readonly rid: string;
  readonly summary: string;
  readonly services: readonly string[];
  readonly data: unknown;
}

/** What an event is about, in one line, and the services it names. */
export function describeForAudit(seq: number, event: TrellisEvent): AuditEntry {
  let summary = '';
  let services: string[] = [];
  switch (event.type) {
    case 'IntentionCreated':
    case 'IntentionUpdated': {
      const i = event.data.intention;
      summary = `${i.SourceName} => ${i.DestinationName} ${i.Action}${i.Description ? ` (${i.Description})` : ''} [${i.ID}]`;
      services = [i.SourceName, i.DestinationName];
      break;
    }
    case 'IntentionDeleted':
      summary = `intention ${event.data.id}`;
      break;
    case 'LogStarted':
      summary = `primary ${event.data.primary}`;
      break;
    case 'CARootCreated':
      summary = `trust domain ${event.data.trustDomain}, root ${event.data.root.ID}`;
      break;
    case 'CARootRotated':
      summary = `root ${event.data.root.ID} replaces ${event.data.previousRootId}`;
      break;
    case 'CARootsPruned':
      summary = `withdrawn ${event.data.rootIds.join(', ')}`;
      break;
    case 'CAConfigSet':
      summary = `LeafCertTTL ${event.data.config.LeafCertTTL}, key ${event.data.config.PrivateKeyType} ${event.data.config.PrivateKeyBits}`;
      break;
    case 'IntermediateIssued':
      summary = `${event.data.datacenter} serial ${event.data.serial}`;
      break;
    case 'CSRRefused':
      summary = `${event.data.datacenter}${event.data.count > 1 ? ` ×${event.data.count}` : ''}: ${event.data.reason}`;
      break;
    case 'SnapshotTaken':
      summary = `view as of ${event.data.seq}: ${event.data.rows} rows, ${event.data.bytes} bytes, digest ${event.data.digest.slice(0, 16)}…`;
      break;
    case 'ACLPolicySet':
      summary = `policy ${event.data.policy.Name} [${event.data.policy.ID}]`;
      break;
    case 'ACLPolicyDeleted':
      summary = `policy ${event.data.id}`;
      break;
    case 'ACLTokenSet':
      summary = `token ${event.data.token.AccessorID}${event.data.token.Description ? ` (${event.data.token.Description})` : ''}, ${event.data.token.Policies.length} policies`;
      break;
    case 'ACLTokenDeleted':
      summary = `token ${event.data.accessorId}`;
      break;
    default: {
      const unknown: never = event;
      void unknown;
    }
  }
  return { seq, time: new Date(event.at).toISOString(), type: event.type, by: event.by, origin: event.origin ?? null, rid: event.rid ?? '', summary, services, data: event.data };
}
