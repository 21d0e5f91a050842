/** The schema version this build writes and the newest it can read. */
export const SCHEMA_VERSION = 1;

export type IntentionAction = 'allow' | 'deny';

/** An intention as the primary decided it: the payload of IntentionCreated/Updated. */
export interface IntentionRecord {
  readonly ID: string;
  readonly SourceNS: string;
  readonly SourceName: string;
  readonly DestinationNS: string;
  readonly DestinationName: string;
  readonly SourceType: 'consul';
  readonly Action: IntentionAction;
  readonly Description: string;
  readonly Meta: Readonly<Record<string, string>>;
  readonly Precedence: number;
  /** Epoch milliseconds. */
  readonly CreatedAt: number;
  /** Epoch milliseconds. */
  readonly UpdatedAt: number;
}

/** An intention as the view holds it: the record plus the stream sequences that created and last changed it. */
export interface IntentionRow extends IntentionRecord {
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** Where a write came from, for the audit trail. */
export interface Origin {
  readonly dc: string;
  readonly addr: string;
  readonly req: string;
}

interface Envelope<T extends string, D> {
  /** Schema version. */
  readonly v: number;
  readonly type: T;
  /** Epoch milliseconds at the primary when the event was decided. */
  readonly at: number;
  /** The actor: a token accessor, `anonymous`, or `agent:<dc>` for the system itself. */
  readonly by: string;
  /** The request that caused the event: retries of one request carry the same id. */
  readonly rid?: string;
  /**
   * The hash chain: SHA-256 (hex) of the previous event's envelope bytes as stored (64 zeros for
   * the first). Set by the primary's writer when it appends; projectors verify it.
   */
  readonly prev?: string;
  /** Where the request came in: the datacenter, the client's address, its request id (X-Request-ID, or the agent's own). */
  readonly origin?: Origin;
  readonly data: D;
}

export type IntentionCreated = Envelope<'IntentionCreated', { readonly intention: IntentionRecord }>;
export type IntentionUpdated = Envelope<'IntentionUpdated', { readonly intention: IntentionRecord }>;
export type IntentionDeleted = Envelope<'IntentionDeleted', { readonly id: string }>;

/**
 * The genesis event the primary appends at sequence 1 of a new stream. Besides recording who
 * started the log, it keeps every table change at index 2 or above, so an empty table's
 * X-Consul-Index (1, never 0) cannot be confused with its first change.
 */
export type LogStarted = Envelope<'LogStarted', { readonly primary: string }>;

/** A CA root as the log records it: the public certificate only, never a key. */
export interface CARootRecord {
  /** Consul's root ID: the colon-hex SHA-1 fingerprint of the certificate. */
  readonly ID: string;
  readonly Name: string;
  /** The certificate's serial: a number, as Consul's uint64 (kept below 2^53 so JSON carries it exactly). */
  readonly SerialNumber: number;
  /** Colon-hex subject key identifier. */
  readonly SigningKeyID: string;
  /** Epoch milliseconds. */
  readonly NotBefore: number;
  /** Epoch milliseconds. */
  readonly NotAfter: number;
  readonly RootCert: string;
  /** Certificates that chain this root to an older one (cross-signed during rotation). */
  readonly IntermediateCerts: readonly string[];
  readonly PrivateKeyType: 'ec' | 'rsa';
  readonly PrivateKeyBits: number;
}

/**
 * The CA configuration as Consul's `Config` map holds it for the built-in provider: durations as
 * the Go duration strings they were given in, key type and size for new roots and intermediates.
 */
export interface CAConfigRecord {
  readonly LeafCertTTL: string;
  readonly IntermediateCertTTL: string;
  readonly RootCertTTL: string;
  readonly PrivateKeyType: 'ec' | 'rsa';
  readonly PrivateKeyBits: number;
  /** CSRs the primary signs per second (Consul's CSRMaxPerSecond; 0: the agent's csr_max_per_second). */
  readonly CSRMaxPerSecond: number;
}

/** Consul's defaults for the built-in CA. */
export const DEFAULT_CA_CONFIG: CAConfigRecord = {
  LeafCertTTL: '72h',
  IntermediateCertTTL: '8760h',
  RootCertTTL: '87600h',
  PrivateKeyType: 'ec',
  PrivateKeyBits: 256,
  CSRMaxPerSecond: 0,
};

/** The primary's first root: it also fixes the trust domain (`<uuid>.consul`) and, when given, the CA configuration. */
export type CARootCreated = Envelope<'CARootCreated', { readonly trustDomain: string; readonly root: CARootRecord; readonly config?: CAConfigRecord }>;

/** The primary signed a secondary's intermediate (public certificate only; the key stays in that datacenter). */
export type IntermediateIssued = Envelope<
  'IntermediateIssued',
  { readonly datacenter: string; readonly certificate: string; readonly serial: string; readonly rootId: string; readonly notAfter: number }
>;

/** A CA configuration change that keeps the active root (TTLs, CSR rate). */
export type CAConfigSet = Envelope<'CAConfigSet', { readonly config: CAConfigRecord }>;

/**
 * A new active root. Its `IntermediateCerts` carry the certificate in which the previous root
 * cross-signs it, so leaves under the new root verify for anyone still trusting only the old one.
 * The previous root stays published (rotated out at `at`) until CARootsPruned. `config` is present
 * when a configuration change (key type or size) caused the rotation.
 */
export type CARootRotated = Envelope<'CARootRotated', { readonly root: CARootRecord; readonly previousRootId: string; readonly config?: CAConfigRecord }>;

/** Rotated-out roots withdrawn after 2 × LeafCertTTL: no leaf they signed is still valid. */
export type CARootsPruned = Envelope<'CARootsPruned', { readonly rootIds: readonly string[] }>;

/** An ACL policy as the primary decided it (Consul's fields; the rules as written, parsed on use). */
export interface ACLPolicyRecord {
  readonly ID: string;
  readonly Name: string;
  readonly Description: string;
  readonly Rules: string;
  /** Where the policy applies; empty: every datacenter. */
  readonly Datacenters: readonly string[];
}

/**
 * An ACL token as the log records it: the secret never, only its SHA-256 (secrets are random
 * UUIDs, 122 bits: a plain hash is not guessable), so the stream and every mirror hold nothing a
 * reader could present as a token.
 */
export interface ACLTokenRecord {
  readonly AccessorID: string;
  /** Hex SHA-256 of the SecretID. */
  readonly SecretHash: string;
  readonly Description: string;
  /** Linked policy IDs (names are resolved when read: a policy may be renamed). */
  readonly Policies: readonly string[];
  /** A local token applies only in `Datacenter`. */
  readonly Local: boolean;
  /** Where the token was created (the datacenter a local token belongs to). */
  readonly Datacenter: string;
  /** Epoch milliseconds. */
  readonly CreateTime: number;
  /** Epoch milliseconds; 0: never expires. */
  readonly ExpirationTime: number;
}

/**
 * The primary refused a secondary's CSR: an audit record (the view does not change). `csr` is the
 * SHA-256 of what was sent; `count` > 1 sums refusals for the CSR rate limit, recorded at most once
 * per datacenter every 10 s so a flood cannot flood the log in turn.
 */
export type CSRRefused = Envelope<'CSRRefused', { readonly datacenter: string; readonly reason: string; readonly csr: string; readonly count: number }>;

/**
 * The primary stored a snapshot of its view as of stream sequence `seq` (issue 9): the anchor that
 * lets anyone check a snapshot against the hash chain. `digest` is the SHA-256 of the snapshot's
 * canonical content (see src/snapshot), `chainHash` the hash of event `seq` (what event `seq + 1`
 * links to). The view does not change.
 */
export type SnapshotTaken = Envelope<'SnapshotTaken', { readonly seq: number; readonly digest: string; readonly chainHash: string; readonly rows: number; readonly bytes: number }>;

export type ACLPolicySet = Envelope<'ACLPolicySet', { readonly policy: ACLPolicyRecord }>;
export type ACLPolicyDeleted = Envelope<'ACLPolicyDeleted', { readonly id: string }>;
export type ACLTokenSet = Envelope<'ACLTokenSet', { readonly token: ACLTokenRecord }>;
export type ACLTokenDeleted = Envelope<'ACLTokenDeleted', { readonly accessorId: string }>;

export type TrellisEvent =
  | LogStarted
  | IntentionCreated
  | IntentionUpdated
  | IntentionDeleted
  | CARootCreated
  | IntermediateIssued
  | CAConfigSet
  | CARootRotated
  | CARootsPruned
  | CSRRefused
  | SnapshotTaken
  | ACLPolicySet
  | ACLPolicyDeleted
  | ACLTokenSet
  | ACLTokenDeleted;
export type EventType = TrellisEvent['type'];

export const EVENT_TYPES: readonly EventType[] = [
  'LogStarted',
  'IntentionCreated',
  'IntentionUpdated',
  'IntentionDeleted',
  'CARootCreated',
  'IntermediateIssued',
  'CAConfigSet',
  'CARootRotated',
  'CARootsPruned',
  'CSRRefused',
  'SnapshotTaken',
  'ACLPolicySet',
  'ACLPolicyDeleted',
  'ACLTokenSet',
  'ACLTokenDeleted',
];

/** An event as read back from the stream, with its stream sequence. */
export interface StoredEvent {
  readonly seq: number;
  readonly event: TrellisEvent;
  /** The event's hash (eventHash of its stored bytes), when the reader computed it: the view keeps the last one. */
  readonly hash?: string;
}
