import { createHash } from 'node:crypto';
import { DEFAULT_CA_CONFIG, type ACLPolicyRecord, type ACLTokenRecord, type CAConfigRecord, type CARootRecord, type IntentionRecord, type IntentionRow, type TrellisEvent } from './types.js';

/** A CA root as the view holds it. */
export interface CARootRow extends CARootRecord {
  /** Epoch milliseconds when a rotation made another root active (0 while it is the active one). */
  readonly RotatedOutAt: number;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** The CA's singleton state: the trust domain and which root signs. */
export interface CAStateRow {
  readonly TrustDomain: string;
  readonly ActiveRootID: string;
  readonly Config: CAConfigRecord;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export const CA_STATE_KEY = 'state';

/** A datacenter's current intermediate (the primary signs leaves with its root). */
export interface IntermediateRow {
  readonly Datacenter: string;
  readonly CertPEM: string;
  readonly SerialNumber: string;
  readonly RootID: string;
  readonly NotAfter: number;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** An ACL policy as the view holds it: Consul's Hash is derived from the fields, so replays agree. */
export interface ACLPolicyRow extends ACLPolicyRecord {
  readonly Hash: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface ACLTokenRow extends ACLTokenRecord {
  readonly Hash: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** One change to a view table, produced by `evolve` and applied by the view (rows by key). */
export type ViewChange =
  | { readonly table: 'intentions'; readonly op: 'put'; readonly key: string; readonly row: IntentionRow }
  | { readonly table: 'intentions'; readonly op: 'delete'; readonly key: string }
  | { readonly table: 'ca_roots'; readonly op: 'put'; readonly key: string; readonly row: CARootRow }
  | { readonly table: 'ca_roots'; readonly op: 'delete'; readonly key: string }
  | { readonly table: 'ca_state'; readonly op: 'put'; readonly key: typeof CA_STATE_KEY; readonly row: CAStateRow }
  | { readonly table: 'ca_intermediates'; readonly op: 'put'; readonly key: string; readonly row: IntermediateRow }
  | { readonly table: 'acl_policies'; readonly op: 'put'; readonly key: string; readonly row: ACLPolicyRow }
  | { readonly table: 'acl_policies'; readonly op: 'delete'; readonly key: string }
  | { readonly table: 'acl_tokens'; readonly op: 'put'; readonly key: string; readonly row: ACLTokenRow }
  | { readonly table: 'acl_tokens'; readonly op: 'delete'; readonly key: string };

export type ViewTable = ViewChange['table'];
export const VIEW_TABLES: readonly ViewTable[] = ['intentions', 'ca_roots', 'ca_state', 'ca_intermediates', 'acl_policies', 'acl_tokens'];

/** What evolve may read of the state the previous events left. */
export interface EvolveState {
  intention(id: string): IntentionRow | undefined;
  caState(): CAStateRow | undefined;
  caRoot(id: string): CARootRow | undefined;
  aclPolicy(id: string): ACLPolicyRow | undefined;
  aclToken(accessorId: string): ACLTokenRow | undefined;
}

/** Consul reports a Hash per policy and token (base64); trellis's is SHA-256 over the recorded fields. */
function hashOf(fields: unknown): string {
  return createHash('sha256').update(JSON.stringify(fields)).digest('base64');
}

function policyRow(p: ACLPolicyRecord, createIndex: number, seq: number): ACLPolicyRow {
  const fields = { ID: p.ID, Name: p.Name, Description: p.Description, Rules: p.Rules, Datacenters: [...p.Datacenters] };
  return { ...fields, Hash: hashOf([fields.Name, fields.Description, fields.Rules, fields.Datacenters]), CreateIndex: createIndex, ModifyIndex: seq };
}

function tokenRow(t: ACLTokenRecord, createIndex: number, seq: number): ACLTokenRow {
  const fields = {
    AccessorID: t.AccessorID,
    SecretHash: t.SecretHash,
    Description: t.Description,
    Policies: [...t.Policies],
    Local: t.Local,
    Datacenter: t.Datacenter,
    CreateTime: t.CreateTime,
    ExpirationTime: t.ExpirationTime,
  };
  return { ...fields, Hash: hashOf([fields.Description, fields.Policies, fields.Local, fields.ExpirationTime]), CreateIndex: createIndex, ModifyIndex: seq };
}

/** Rows are built field by field in one order: fast, and the same bytes on every replay. */
function row(r: IntentionRecord, createdAt: number, createIndex: number, modifyIndex: number): IntentionRow {
  return {
    ID: r.ID,
    SourceNS: r.SourceNS,
    SourceName: r.SourceName,
    DestinationNS: r.DestinationNS,
    DestinationName: r.DestinationName,
    SourceType: r.SourceType,
    Action: r.Action,
    Description: r.Description,
    Meta: r.Meta,
    Precedence: r.Precedence,
    CreatedAt: createdAt,
    UpdatedAt: r.UpdatedAt,
    CreateIndex: createIndex,
    ModifyIndex: modifyIndex,
  };
}

function rootRow(r: CARootRecord, seq: number, rotatedOutAt = 0, createIndex = seq): CARootRow {
  return {
    ID: r.ID,
    Name: r.Name,
    SerialNumber: r.SerialNumber,
    SigningKeyID: r.SigningKeyID,
    NotBefore: r.NotBefore,
    NotAfter: r.NotAfter,
    RootCert: r.RootCert,
    IntermediateCerts: r.IntermediateCerts,
    PrivateKeyType: r.PrivateKeyType,
    PrivateKeyBits: r.PrivateKeyBits,
    RotatedOutAt: rotatedOutAt,
    CreateIndex: createIndex,
    ModifyIndex: seq,
  };
}

function configOf(c: CAConfigRecord): CAConfigRecord {
  return {
    LeafCertTTL: c.LeafCertTTL,
    IntermediateCertTTL: c.IntermediateCertTTL,
    RootCertTTL: c.RootCertTTL,
    PrivateKeyType: c.PrivateKeyType,
    PrivateKeyBits: c.PrivateKeyBits,
    CSRMaxPerSecond: c.CSRMaxPerSecond,
  };
}

/**
 * The pure fold step: what event `seq` changes in the view, given the state before it.
 * Everything it writes comes from the event and the sequence, never from the clock,
 * so replaying the stream into an empty view yields the same view.
 */
export function evolve(state: EvolveState, seq: number, event: TrellisEvent): ViewChange[] {
  switch (event.type) {
    case 'LogStarted':
      return [];
    case 'IntentionCreated': {
      const r = event.data.intention;
      return [{ table: 'intentions', op: 'put', key: r.ID, row: row(r, r.CreatedAt, seq, seq) }];
    }
    case 'IntentionUpdated': {
      const r = event.data.intention;
      const before = state.intention(r.ID);
      return [{ table: 'intentions', op: 'put', key: r.ID, row: row(r, before?.CreatedAt ?? r.CreatedAt, before?.CreateIndex ?? seq, seq) }];
    }
    case 'IntentionDeleted':
      return state.intention(event.data.id) ? [{ table: 'intentions', op: 'delete', key: event.data.id }] : [];
    case 'IntermediateIssued': {
      const d = event.data;
      return [
        {
          table: 'ca_intermediates',
          op: 'put',
          key: d.datacenter,
          row: { Datacenter: d.datacenter, CertPEM: d.certificate, SerialNumber: d.serial, RootID: d.rootId, NotAfter: d.notAfter, CreateIndex: seq, ModifyIndex: seq },
        },
      ];
    }
    case 'CARootCreated': {
      // The first root fixes the trust domain; a second "first root" is a no-op, never a change of trust.
      if (state.caState()) return [];
      const root = rootRow(event.data.root, seq);
      return [
        { table: 'ca_roots', op: 'put', key: root.ID, row: root },
        {
          table: 'ca_state',
          op: 'put',
          key: CA_STATE_KEY,
          row: {
            TrustDomain: event.data.trustDomain,
            ActiveRootID: root.ID,
            Config: configOf(event.data.config ?? { ...DEFAULT_CA_CONFIG, PrivateKeyType: root.PrivateKeyType, PrivateKeyBits: root.PrivateKeyBits }),
            CreateIndex: seq,
            ModifyIndex: seq,
          },
        },
      ];
    }
    case 'CAConfigSet': {
      const before = state.caState();
      if (!before) return [];
      return [{ table: 'ca_state', op: 'put', key: CA_STATE_KEY, row: { ...before, Config: configOf(event.data.config), ModifyIndex: seq } }];
    }
    case 'CARootRotated': {
      // Only a rotation away from the root that is active now applies: a stale one is a no-op.
      const before = state.caState();
      const previous = state.caRoot(event.data.previousRootId);
      if (!before || !previous || before.ActiveRootID !== previous.ID || state.caRoot(event.data.root.ID)) return [];
      const root = rootRow(event.data.root, seq);
      return [
        { table: 'ca_roots', op: 'put', key: previous.ID, row: rootRow(previous, seq, event.at, previous.CreateIndex) },
        { table: 'ca_roots', op: 'put', key: root.ID, row: root },
        {
          table: 'ca_state',
          op: 'put',
          key: CA_STATE_KEY,
          row: { ...before, ActiveRootID: root.ID, Config: configOf(event.data.config ?? before.Config), ModifyIndex: seq },
        },
      ];
    }
    case 'CSRRefused':
    case 'SnapshotTaken':
      return []; // records only: the view does not change
    case 'ACLPolicySet': {
      const p = event.data.policy;
      return [{ table: 'acl_policies', op: 'put', key: p.ID, row: policyRow(p, state.aclPolicy(p.ID)?.CreateIndex ?? seq, seq) }];
    }
    case 'ACLPolicyDeleted':
      return state.aclPolicy(event.data.id) ? [{ table: 'acl_policies', op: 'delete', key: event.data.id }] : [];
    case 'ACLTokenSet': {
      const t = event.data.token;
      return [{ table: 'acl_tokens', op: 'put', key: t.AccessorID, row: tokenRow(t, state.aclToken(t.AccessorID)?.CreateIndex ?? seq, seq) }];
    }
    case 'ACLTokenDeleted':
      return state.aclToken(event.data.accessorId) ? [{ table: 'acl_tokens', op: 'delete', key: event.data.accessorId }] : [];
    case 'CARootsPruned': {
      const active = state.caState()?.ActiveRootID;
      const changes: ViewChange[] = [];
      for (const id of event.data.rootIds) if (id !== active && state.caRoot(id)) changes.push({ table: 'ca_roots', op: 'delete', key: id });
      return changes;
    }
  }
}
