import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { TrellisError } from '../common/index.js';
import { CA_STATE_KEY, decodeEvent, evolve, EVENTS_STREAM, type ACLPolicyRow, type ACLTokenRow, type CARootRow, type CAStateRow, type IntentionRow } from '../events/index.js';
import { walkStream } from './audit.js';

/** The intentions and CA state as they were after one event: what was true then. */
export interface PointInTime {
  /** The sequence of the last event folded in (0 before the first). */
  readonly seq: number;
  readonly intentions: ReadonlyMap<string, IntentionRow>;
  readonly caState: CAStateRow | undefined;
  readonly caRoots: ReadonlyMap<string, CARootRow>;
  intentionByPair(sourceNS: string, sourceName: string, destinationNS: string, destinationName: string): IntentionRow | undefined;
}

/** `?at=` and `--at`: an RFC 3339 time, or a stream sequence. */
export function parseAt(text: string): { readonly seq: number } | { readonly time: number } {
  if (/^\d+$/.test(text)) return { seq: Number(text) };
  const time = Date.parse(text);
  if (Number.isNaN(time) || !/^\d{4}-\d\d-\d\d/.test(text)) throw new TrellisError('E_VALIDATION', `Invalid at: ${JSON.stringify(text)} is neither an RFC 3339 time nor a stream sequence`);
  return { time };
}

/** The local stream does not start at sequence 1 (a mirror made for a view started from a snapshot): the fold needs the primary. */
export class HistoryElsewhereError extends TrellisError {
  constructor(readonly firstSeq: number) {
    super('E_UNAVAILABLE', `this datacenter's log starts at event ${firstSeq} (its view started from a snapshot): ask the primary`);
  }
}

/**
 * Folds the stream from sequence 1 with the same `evolve` the projectors use, stopping after the
 * event at `seq`, or before the first event decided after `time`. HistoryElsewhereError when the
 * local stream does not hold the log from sequence 1.
 */
export async function stateAt(js: JetStreamClient, jsm: JetStreamManager, at: { readonly seq: number } | { readonly time: number }): Promise<PointInTime> {
  const first = (await jsm.streams.info(EVENTS_STREAM)).state.first_seq;
  if (first > 1) throw new HistoryElsewhereError(first);
  const intentions = new Map<string, IntentionRow>();
  const roots = new Map<string, CARootRow>();
  let ca: CAStateRow | undefined;
  const policies = new Map<string, ACLPolicyRow>();
  const tokens = new Map<string, ACLTokenRow>();
  const state = {
    intention: (id: string) => intentions.get(id),
    caState: () => ca,
    caRoot: (id: string) => roots.get(id),
    aclPolicy: (id: string) => policies.get(id),
    aclToken: (id: string) => tokens.get(id),
  };
  let seq = 0;
  await walkStream(js, jsm, (s, bytes) => {
    if ('seq' in at && s > at.seq) return false;
    const event = decodeEvent(bytes);
    if ('time' in at && event.at > at.time) return false;
    for (const change of evolve(state, s, event)) {
      if (change.table === 'intentions') {
        if (change.op === 'put') intentions.set(change.key, change.row);
        else intentions.delete(change.key);
      } else if (change.table === 'acl_policies') {
        if (change.op === 'put') policies.set(change.key, change.row);
        else policies.delete(change.key);
      } else if (change.table === 'acl_tokens') {
        if (change.op === 'put') tokens.set(change.key, change.row);
        else tokens.delete(change.key);
      } else if (change.table === 'ca_roots') {
        if (change.op === 'put') roots.set(change.key, change.row);
        else roots.delete(change.key);
      } else if (change.table === 'ca_state' && change.key === CA_STATE_KEY) {
        ca = change.row;
      }
    }
    seq = s;
    return true;
  });
  const byPair = new Map<string, IntentionRow>();
  for (const row of intentions.values()) byPair.set(`${row.SourceNS}\u0000${row.SourceName}\u0000${row.DestinationNS}\u0000${row.DestinationName}`, row);
  return {
    seq,
    intentions,
    caState: ca,
    caRoots: roots,
    intentionByPair: (sns, sn, dns, dn) => byPair.get(`${sns}\u0000${sn}\u0000${dns}\u0000${dn}`),
  };
}
