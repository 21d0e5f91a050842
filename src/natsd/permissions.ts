import { EVENTS_STREAM } from '../events/subjects.js';

/** The object store stream of view snapshots (src/snapshot/store.ts). */
const SNAPSHOT_STREAM = 'OBJ_TRELLIS_SNAPSHOTS';

/**
 * Reading the primary's view snapshots through its JetStream domain (a new secondary, a replay):
 * stream info, message get, push consumers on that one stream; nothing that writes or deletes.
 */
export function snapshotReadApi(primary: string): string[] {
  const api = `$JS.${primary}.API`;
  return [
    `${api}.INFO`,
    `${api}.STREAM.INFO.${SNAPSHOT_STREAM}`,
    `${api}.STREAM.MSG.GET.${SNAPSHOT_STREAM}`,
    `${api}.DIRECT.GET.${SNAPSHOT_STREAM}`,
    `${api}.DIRECT.GET.${SNAPSHOT_STREAM}.>`,
    `${api}.CONSUMER.CREATE.${SNAPSHOT_STREAM}`,
    `${api}.CONSUMER.CREATE.${SNAPSHOT_STREAM}.>`,
    `${api}.CONSUMER.INFO.${SNAPSHOT_STREAM}.*`,
    `${api}.CONSUMER.DELETE.${SNAPSHOT_STREAM}.*`,
  ];
}

/** nats-server's permission block for one user: subjects it may publish to and subscribe to. */
export interface NatsPermissions {
  readonly publish: readonly string[];
  /** Exceptions to `publish`. */
  readonly publishDeny?: readonly string[];
  readonly subscribe: readonly string[];
  /** May publish to the reply subject of a request it received (RPC answers, JetStream flow control). */
  readonly allowResponses: boolean;
}

/** The inbox prefix a user's connections must use: the only inbox it may subscribe to. */
export const inboxPrefixFor = (user: string) => `_INBOX.${user}`;

/** The local JetStream API, both spellings (plain and with this datacenter's domain). */
function localJetStream(dc: string, suffixes: readonly string[]): string[] {
  return suffixes.flatMap((s) => [`$JS.API.${s}`, `$JS.${dc}.API.${s}`]);
}

/**
 * A datacenter's agent on its own nats-server. It may use its local JetStream freely (it creates
 * the stream or the mirror), publish RPC requests and WAN announcements only under its own name,
 * answer requests (replies go to the caller's `_INBOX.<dc>.<random>`), and read only its own inbox.
 * Only the primary's agent may append to the event stream.
 *
 * Not `allow_responses`: nats-server then tracks a response permission for every message it
 * delivers with a reply subject — every JetStream message — and the projector read 15× slower
 * (6.6k instead of 100k events/s, measured). Publishing to `_INBOX.>` is what the leafnode link
 * allows anyway; inboxes end in 128-bit random tokens only their owner can subscribe to.
 */
export function agentPermissions(dc: string, primary: string): NatsPermissions {
  return {
    publish: [
      ...localJetStream(dc, ['>']),
      '$JS.ACK.>',
      '$JS.FC.>',
      `trellis.rpc.*.*.*.${dc}`,
      `trellis.wan.announce.${dc}`,
      '_INBOX.>',
      // The primary appends events and stores view snapshots (object store chunks and metadata).
      ...(dc === primary ? ['trellis.events.>', `$O.${SNAPSHOT_STREAM.slice('OBJ_'.length)}.>`] : snapshotReadApi(primary)),
    ],
    subscribe: [`${inboxPrefixFor(dc)}.>`, `trellis.rpc.${dc}.>`, 'trellis.wan.announce.*'],
    allowResponses: false,
  };
}

/** The local reader's user name (audit, replay, subscribers, tests). */
export const readerUser = (dc: string) => `${dc}-reader`;

/**
 * Tools that read a datacenter's stream (audit, replay, event subscribers): stream info, message
 * get and consumers on the local JetStream, nothing that changes the stream, no RPC.
 */
export function readerPermissions(dc: string, primary: string): NatsPermissions {
  return {
    publish: [
      ...localJetStream(dc, ['INFO', 'STREAM.INFO.*', 'STREAM.NAMES', 'STREAM.LIST', 'STREAM.MSG.GET.*', 'DIRECT.GET.>', 'CONSUMER.>']),
      ...(dc === primary ? [] : snapshotReadApi(primary)),
      '$JS.ACK.>',
      '$JS.FC.>',
    ],
    subscribe: [`${inboxPrefixFor(readerUser(dc))}.>`],
    allowResponses: false,
  };
}

/** The user a secondary's nats-server authenticates as on the hub's leafnode port. */
export const leafUser = (dc: string) => `${dc}-leaf`;

/**
 * What the hub accepts from, and sends to, a secondary's leafnode connection. This is the
 * boundary a compromised secondary cannot cross, whatever it does to its own nats-server.
 *
 * nats-server 2.9 forwards the hub's subscription interest over a leafnode link only when the
 * link may publish to the whole subscribed subject, so the hub's `trellis.rpc.dc1.ca.sign.*`
 * needs `trellis.rpc.>` allowed; the other datacenters' names are then denied as the last token,
 * which is what makes the caller token trustworthy. Replies go to `_INBOX.<dc>.<random>`: a
 * secondary may publish to any inbox (it cannot answer otherwise: 2.9 has no response permissions
 * across a leafnode) but can subscribe only to its own, so it never learns another one's tokens.
 * The mirror may create and delete its consumer on the primary's stream and read its info;
 * it may read the primary's view snapshots (snapshotReadApi); nothing else of the primary's
 * JetStream API (no purge, no delete, no other stream).
 */
export function leafPermissions(dc: string, primary: string, datacenters: readonly string[]): NatsPermissions {
  const api = `$JS.${primary}.API`;
  const others = datacenters.filter((d) => d !== dc);
  return {
    publish: [
      `${api}.CONSUMER.CREATE.${EVENTS_STREAM}`,
      `${api}.CONSUMER.CREATE.${EVENTS_STREAM}.>`,
      `${api}.CONSUMER.DELETE.${EVENTS_STREAM}.*`,
      `${api}.STREAM.INFO.${EVENTS_STREAM}`,
      ...snapshotReadApi(primary),
      '$JS.FC.>',
      'trellis.rpc.>',
      'trellis.wan.announce.*',
      '_INBOX.>',
    ],
    publishDeny: [...others.map((d) => `trellis.rpc.*.*.*.${d}`), ...others.map((d) => `trellis.wan.announce.${d}`)],
    // The reader's inbox too: a replay at a secondary reads the primary's snapshots through it.
    subscribe: [`${inboxPrefixFor(dc)}.>`, `${inboxPrefixFor(readerUser(dc))}.>`, `trellis.rpc.${dc}.>`, 'trellis.wan.announce.*', '$JS.M.>', '$JSC.R.>'],
    allowResponses: false,
  };
}
