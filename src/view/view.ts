import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { open, TransactionFlags, type Database, type RootDatabase } from 'lmdb';
import { TrellisError, type Logger } from '../common/index.js';
import { CA_STATE_KEY, evolve, VIEW_TABLES, type ACLPolicyRow, type ACLTokenRow, type CARootRow, type CAStateRow, type IntentionRow, type IntermediateRow, type StoredEvent, type ViewChange, type ViewTable } from '../events/index.js';
import { createWaiters, type Waiters } from './waiters.js';

/** Bumped when the on-disk layout of the view changes; an older or newer file needs a rebuild by replay. */
export const VIEW_SCHEMA = 1;

// Rows are built by evolve in one fixed field order (and Meta keeps the event's sorted order),
// so plain encoding is deterministic: the same history gives the same bytes.
const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

/** What reads (API, authorize, the writer's validation) may ask of a view. */
export interface ViewReader {
  /** The last stream sequence applied: the checkpoint. */
  appliedSeq(): number;
  /** The stream sequence that last changed a table (0 when never). */
  tableIndex(table: ViewTable): number;
  intention(id: string): IntentionRow | undefined;
  intentionByPair(sourceNS: string, sourceName: string, destinationNS: string, destinationName: string): IntentionRow | undefined;
  intentions(): IterableIterator<IntentionRow>;
  intentionCount(): number;
  /** The intentions whose source (or destination) name is exactly `name`, any namespace: an index, not a scan. */
  intentionsNamed(by: 'source' | 'destination', name: string): IntentionRow[];
  /** The CA's trust domain and active root, once the primary created its first root. */
  caState(): CAStateRow | undefined;
  caRoots(): IterableIterator<CARootRow>;
  caRoot(id: string): CARootRow | undefined;
  /** A datacenter's current intermediate certificate, as the primary issued it. */
  intermediate(datacenter: string): IntermediateRow | undefined;
  aclPolicy(id: string): ACLPolicyRow | undefined;
  aclPolicyByName(name: string): ACLPolicyRow | undefined;
  aclPolicies(): IterableIterator<ACLPolicyRow>;
  aclToken(accessorId: string): ACLTokenRow | undefined;
  /** The token whose SecretID hashes to this (hex SHA-256). */
  aclTokenBySecretHash(hash: string): ACLTokenRow | undefined;
  aclTokens(): IterableIterator<ACLTokenRow>;
}

/**
 * The whole view as of one stream sequence, rows as the view stores them (msgpack bytes), tables in
 * VIEW_TABLES order and keys sorted: the same history gives the same snapshot, byte for byte.
 */
export interface ViewSnapshot {
  readonly schema: number;
  readonly seq: number;
  /** The hash of event `seq`: what event `seq + 1` links to. */
  readonly chainHash: string;
  readonly indexes: ReadonlyArray<readonly [ViewTable, number]>;
  readonly tables: ReadonlyArray<readonly [ViewTable, ReadonlyArray<readonly [string, Uint8Array]>]>;
}

/** Where a view loaded from a snapshot started (it holds no history before `seq`). */
export interface SnapshotOrigin {
  readonly seq: number;
  readonly digest: string;
}

export interface AppliedBatch {
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly changes: readonly ViewChange[];
  readonly tables: ReadonlySet<ViewTable>;
}

export interface View extends ViewReader {
  /**
   * Applies contiguous events in one LMDB transaction together with the checkpoint, and resolves
   * once it is committed (the disk flush follows in the background). Rejects, changing nothing, when
   * the first event does not follow the checkpoint. One batch at a time: the caller awaits each.
   */
  applyBatch(events: readonly StoredEvent[]): Promise<AppliedBatch>;
  /** Resolves with the table's index once it passes `minIndex`, or at `waitMs` with the current one. */
  waitForIndex(table: ViewTable, minIndex: number, waitMs: number, signal?: AbortSignal): Promise<number>;
  /** Resolves true once the checkpoint reaches `seq`, false at the timeout. */
  waitForSeq(seq: number, timeoutMs: number): Promise<boolean>;
  /** A blocking query on the checkpoint itself: resolves with it once past `minIndex`, or at `waitMs`. */
  waitForApplied(minIndex: number, waitMs: number, signal?: AbortSignal): Promise<number>;
  /** The sequence at which an event carrying request id `rid` was applied since this process opened the view. */
  requestSeq(rid: string): number | undefined;
  onApplied(listener: (batch: AppliedBatch) => void): () => void;
  /** SHA-256 over every key and value of each LMDB table, for replay equivalence. */
  tableDigests(): Record<string, string>;
  /** Every key/value of every LMDB table, as raw bytes, in key order. */
  dump(): Array<{ table: string; key: string; value: Buffer }>;
  lastAppliedAt(): number | undefined;
  /** The hash of the last applied event, when the projector recorded it (what the next event links to). */
  chainHash(): string | undefined;
  /** The view as of a committed checkpoint, rows as stored, keys in LMDB order (requires a recorded chain hash). */
  snapshot(): Promise<ViewSnapshot>;
  /** Fills an empty view from a snapshot whose digest was checked by the caller; the projector continues after `snapshot.seq`. */
  loadSnapshot(snapshot: ViewSnapshot, origin: SnapshotOrigin): Promise<void>;
  /** The snapshot this view was started from, if any. */
  snapshotOrigin(): SnapshotOrigin | undefined;
  close(): Promise<void>;
}

export interface ViewOptions {
  /** Directory of the LMDB environment; created with mode 0700. */
  readonly path: string;
  readonly logger: Logger;
  /** Wall clock for `lastAppliedAt` only (never written to the view). */
  readonly now?: () => number;
}

const META_CHECKPOINT = 'checkpoint';
const META_SCHEMA = 'schema';
const META_CHAIN = 'chain';
// Provenance, not state: a view loaded from a snapshot and one replayed from sequence 1 hold the
// same state, so `origin:` keys are left out of dump() and tableDigests().
const META_ORIGIN_SNAPSHOT = 'origin:snapshot';
const isProvenance = (table: string, key: string) => table === 'meta' && key.startsWith('origin:');
const metaIndexKey = (table: ViewTable) => `index:${table}`;
const pairKey = (sns: string, sn: string, dns: string, dn: string) => `${sns}\u0000${sn}\u0000${dns}\u0000${dn}`;
const rowPairKey = (r: IntentionRow) => pairKey(r.SourceNS, r.SourceName, r.DestinationNS, r.DestinationName);

// The in-memory copy holds every intention: 100,000 of them took 92 MB of heap. Names, namespaces,
// actions and descriptions repeat across rows; each distinct value is kept once (per view), and an
// empty Meta is one shared object (rows are never mutated). Memory only: LMDB keeps the encoded bytes.
const EMPTY_META: Readonly<Record<string, string>> = Object.freeze({});
function intentionCompactor(): (row: IntentionRow) => IntentionRow {
  const shared = new Map<string, string>();
  const one = <T extends string>(s: T): T => {
    if (s.length > 128) return s;
    const known = shared.get(s);
    if (known !== undefined) return known as T;
    if (shared.size < 500_000) shared.set(s, s);
    return s;
  };
  return (row) => ({
    ...row,
    SourceNS: one(row.SourceNS),
    SourceName: one(row.SourceName),
    DestinationNS: one(row.DestinationNS),
    DestinationName: one(row.DestinationName),
    SourceType: one(row.SourceType),
    Action: one(row.Action),
    Description: one(row.Description),
    Meta: Object.keys(row.Meta).length === 0 ? EMPTY_META : row.Meta,
  });
}

export function openView({ path, logger, now = Date.now }: ViewOptions): View {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  // noMetaSync: one fsync per flush instead of two. LMDB keeps its integrity; a system crash may
  // undo the last commits, which the projector simply applies again from the checkpoint.
  const env: RootDatabase = open({ path, encoding: 'binary', compression: false, noMetaSync: true });
  const meta: Database<number | string, string> = env.openDB({ name: 'meta', encoding: 'ordered-binary' });
  // One LMDB database and one in-memory map per table, keyed as evolve keys its changes.
  const dbs = new Map<ViewTable, Database<Buffer, string>>(VIEW_TABLES.map((t) => [t, env.openDB({ name: t, encoding: 'binary' })]));
  const memory = new Map<ViewTable, Map<string, unknown>>(VIEW_TABLES.map((t) => [t, new Map()]));
  const tableDb = (t: ViewTable) => dbs.get(t) as Database<Buffer, string>;
  const tableRows = (t: ViewTable) => memory.get(t) as Map<string, unknown>;
  const compactIntention = intentionCompactor();

  const schema = meta.get(META_SCHEMA) as number | undefined;
  if (schema === undefined) {
    meta.putSync(META_SCHEMA, VIEW_SCHEMA);
  } else if (schema !== VIEW_SCHEMA) {
    void env.close();
    throw new TrellisError(
      'E_SCHEMA',
      `view at ${path} has layout version ${schema}, this build uses ${VIEW_SCHEMA}: start the agent with -rebuild to rebuild it from the event log (or remove the directory)`,
    );
  }

  // The in-memory copy serves reads and authorize at memory speed; it changes only after a commit.
  const rows = tableRows('intentions') as Map<string, IntentionRow>;
  const byPair = new Map<string, string>();
  // Name indexes for match (GET /v1/connect/intentions/match): name → intention ID, or IDs when
  // several (most names have one: a Set each cost 13 MB at 100,000 intentions).
  const bySource = new Map<string, string | Set<string>>();
  const byDestination = new Map<string, string | Set<string>>();
  const indexName = (index: Map<string, string | Set<string>>, name: string, id: string, add: boolean) => {
    const ids = index.get(name);
    if (add) {
      if (ids === undefined || ids === id) index.set(name, id);
      else if (typeof ids === 'string') index.set(name, new Set([ids, id]));
      else ids.add(id);
    } else if (ids === id) {
      index.delete(name);
    } else if (ids !== undefined && typeof ids !== 'string') {
      ids.delete(id);
      if (ids.size === 1) index.set(name, ids.values().next().value as string);
    }
  };
  const indexRow = (row: IntentionRow, add: boolean) => {
    if (add) byPair.set(rowPairKey(row), row.ID);
    else byPair.delete(rowPairKey(row));
    indexName(bySource, row.SourceName, row.ID, add);
    indexName(byDestination, row.DestinationName, row.ID, add);
  };
  // Secondary indexes of the ACL tables: policy name → ID, secret hash → accessor.
  const policies = tableRows('acl_policies') as Map<string, ACLPolicyRow>;
  const tokens = tableRows('acl_tokens') as Map<string, ACLTokenRow>;
  const policyByName = new Map<string, string>();
  const tokenBySecret = new Map<string, string>();
  // Loaded through the same path as applied changes, so the memory copy and its indexes are built
  // one way only (at open, from a snapshot, after a commit).
  for (const table of VIEW_TABLES) {
    for (const { key, value } of tableDb(table).getRange()) applyToMemory({ table, op: 'put', key, row: decoder.decode(value) } as ViewChange);
  }
  const metaNumber = (key: string): number => {
    const v = meta.get(key);
    return typeof v === 'number' ? v : 0;
  };
  let checkpoint = metaNumber(META_CHECKPOINT);
  let chain = meta.get(META_CHAIN) as string | undefined;
  const originText = meta.get(META_ORIGIN_SNAPSHOT);
  let origin = typeof originText === 'string' ? (JSON.parse(originText) as SnapshotOrigin) : undefined;
  const indexes = new Map<ViewTable, number>(VIEW_TABLES.map((t) => [t, metaNumber(metaIndexKey(t))]));
  let appliedAt: number | undefined;
  let applying = false;
  const waiters: Waiters<ViewTable> = createWaiters();
  const seqWaiters = createWaiters<'seq'>();
  const listeners = new Set<(b: AppliedBatch) => void>();
  const requests = new Map<string, number>();
  logger.info({ path, checkpoint, intentions: rows.size }, 'view opened');

  function applyToMemory(change: ViewChange): void {
    if (change.table === 'intentions') {
      // The pair and name indexes move with the row (an update may rename source or destination).
      const before = rows.get(change.key);
      if (before) indexRow(before, false);
      if (change.op === 'put') {
        const row = compactIntention(change.row);
        indexRow(row, true);
        rows.set(row.ID, row); // the row's own ID string (the key equals it) as the map key: one copy, not two
      } else {
        rows.delete(change.key);
      }
      return;
    }
    if (change.table === 'acl_policies') {
      const before = policies.get(change.key);
      if (before) policyByName.delete(before.Name);
      if (change.op === 'put') policyByName.set(change.row.Name, change.key);
    }
    if (change.table === 'acl_tokens') {
      const before = tokens.get(change.key);
      if (before) tokenBySecret.delete(before.SecretHash);
      if (change.op === 'put') tokenBySecret.set(change.row.SecretHash, change.key);
    }
    if (change.op === 'put') tableRows(change.table).set(change.key, change.row);
    else tableRows(change.table).delete(change.key);
  }

  const view: View = {
    appliedSeq: () => checkpoint,
    tableIndex: (table) => indexes.get(table) ?? 0,
    intention: (id) => rows.get(id),
    intentionByPair(sns, sn, dns, dn) {
      const id = byPair.get(pairKey(sns, sn, dns, dn));
      return id === undefined ? undefined : rows.get(id);
    },
    intentions: () => rows.values(),
    intentionCount: () => rows.size,
    intentionsNamed(by, name) {
      const ids = (by === 'source' ? bySource : byDestination).get(name);
      if (ids === undefined) return [];
      if (typeof ids === 'string') return [rows.get(ids) as IntentionRow];
      return [...ids].map((id) => rows.get(id) as IntentionRow);
    },
    caState: () => tableRows('ca_state').get(CA_STATE_KEY) as CAStateRow | undefined,
    caRoots: () => (tableRows('ca_roots') as Map<string, CARootRow>).values(),
    caRoot: (id) => tableRows('ca_roots').get(id) as CARootRow | undefined,
    intermediate: (dc) => tableRows('ca_intermediates').get(dc) as IntermediateRow | undefined,
    aclPolicy: (id) => policies.get(id),
    aclPolicyByName(name) {
      const id = policyByName.get(name);
      return id === undefined ? undefined : policies.get(id);
    },
    aclPolicies: () => policies.values(),
    aclToken: (accessor) => tokens.get(accessor),
    aclTokenBySecretHash(hash) {
      const accessor = tokenBySecret.get(hash);
      return accessor === undefined ? undefined : tokens.get(accessor);
    },
    aclTokens: () => tokens.values(),

    async applyBatch(events) {
      if (applying) throw new TrellisError('E_INTERNAL', 'applyBatch called while another batch is being committed');
      const first = events[0];
      if (!first) return { fromSeq: checkpoint + 1, toSeq: checkpoint, changes: [], tables: new Set<ViewTable>() };
      if (first.seq !== checkpoint + 1) {
        throw new TrellisError('E_INTERNAL', `view expected sequence ${checkpoint + 1} but was given ${first.seq}: refusing a gap`);
      }
      const allChanges: ViewChange[] = [];
      // The index of a table is the sequence of the event that last changed it, not the batch's end.
      const tableSeq = new Map<ViewTable, number>();
      // Evolve reads through the batch's own pending changes so later events see earlier ones.
      const pending = new Map<string, unknown>();
      const read = (table: ViewTable, key: string): unknown => {
        const p = pending.get(`${table}\u0000${key}`);
        return p === null ? undefined : (p ?? tableRows(table).get(key));
      };
      const state = {
        intention: (id: string) => read('intentions', id) as IntentionRow | undefined,
        caState: () => read('ca_state', CA_STATE_KEY) as CAStateRow | undefined,
        caRoot: (id: string) => read('ca_roots', id) as CARootRow | undefined,
        aclPolicy: (id: string) => read('acl_policies', id) as ACLPolicyRow | undefined,
        aclToken: (id: string) => read('acl_tokens', id) as ACLTokenRow | undefined,
      };
      let expected = checkpoint + 1;
      for (const { seq, event } of events) {
        if (seq !== expected) {
          throw new TrellisError('E_INTERNAL', `view expected sequence ${expected} but was given ${seq}: refusing a gap`);
        }
        for (const change of evolve(state, seq, event)) {
          allChanges.push(change);
          tableSeq.set(change.table, seq);
          pending.set(`${change.table}\u0000${change.key}`, change.op === 'put' ? change.row : null);
        }
        expected++;
      }
      const last = expected - 1;
      const lastHash = events[events.length - 1]?.hash;
      const encoded = allChanges.map((change) => (change.op === 'put' ? Buffer.from(encoder.encode(change.row)) : undefined));
      applying = true;
      try {
        const write = () => {
          allChanges.forEach((change, i) => {
            if (change.op === 'put') void tableDb(change.table).put(change.key, encoded[i] ?? Buffer.alloc(0));
            else void tableDb(change.table).remove(change.key);
          });
          for (const [table, seq] of tableSeq) void meta.put(metaIndexKey(table), seq);
          void meta.put(META_CHECKPOINT, last);
          if (lastHash !== undefined) void meta.put(META_CHAIN, lastHash);
        };
        // Committed here, on this thread, without waiting for the disk flush, which lmdb-js's
        // overlapping sync does in the background (as it does for its own internal commits). An
        // asynchronous transaction's round trip through lmdb-js's write thread cost +1 ms per event
        // at the median and most of the lag with 8 views on one machine (measured: replication lag
        // p99 at 1,000 events/s 12-14 -> 7.3 ms; 8 secondaries p50 31 -> 14 ms). After a system
        // crash LMDB reopens at the last flushed commit (integrity kept); the projector applies
        // the rest again from that checkpoint. A process crash loses nothing.
        env.transactionSync(write, TransactionFlags.SYNCHRONOUS_COMMIT | TransactionFlags.NO_SYNC_FLUSH);
      } finally {
        applying = false;
      }
      // Committed: now the memory copy, the indexes and the waiters.
      for (const change of allChanges) applyToMemory(change);
      checkpoint = last;
      if (lastHash !== undefined) chain = lastHash;
      for (const [table, seq] of tableSeq) indexes.set(table, seq);
      for (const { seq, event } of events) if (event.rid !== undefined) requests.set(event.rid, seq);
      if (requests.size > 100_000) {
        const drop = requests.size - 50_000;
        let i = 0;
        for (const key of requests.keys()) {
          if (i++ >= drop) break;
          requests.delete(key);
        }
      }
      appliedAt = now();
      const batch: AppliedBatch = { fromSeq: first.seq, toSeq: last, changes: allChanges, tables: new Set(tableSeq.keys()) };
      for (const [table, seq] of tableSeq) waiters.notify(table, seq);
      seqWaiters.notify('seq', last);
      for (const listener of listeners) listener(batch);
      return batch;
    },

    waitForIndex(table, minIndex, waitMs, signal) {
      return waiters.wait(table, () => indexes.get(table) ?? 0, minIndex, waitMs, signal);
    },
    async waitForSeq(seq, timeoutMs) {
      const reached = await seqWaiters.wait('seq', () => checkpoint, seq - 1, timeoutMs);
      return reached >= seq;
    },
    waitForApplied: (minIndex, waitMs, signal) => seqWaiters.wait('seq', () => checkpoint, minIndex, waitMs, signal),
    requestSeq: (rid) => requests.get(rid),
    onApplied(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    tableDigests() {
      const out: Record<string, string> = {};
      for (const [name, db] of [['meta', meta], ...dbs] as const) {
        const hash = createHash('sha256');
        for (const key of db.getKeys()) {
          if (isProvenance(name, key)) continue;
          hash.update(`${key}\u0000`);
          hash.update(db.getBinary(key) ?? Buffer.alloc(0));
          hash.update('\u0001');
        }
        out[name] = hash.digest('hex');
      }
      return out;
    },
    dump() {
      const out: Array<{ table: string; key: string; value: Buffer }> = [];
      for (const [name, db] of [['meta', meta], ...dbs] as const) {
        for (const key of db.getKeys()) {
          if (!isProvenance(name, key)) out.push({ table: name, key, value: Buffer.from(db.getBinary(key) ?? Buffer.alloc(0)) });
        }
      }
      return out;
    },
    lastAppliedAt: () => appliedAt,
    chainHash: () => chain,
    snapshotOrigin: () => origin,

    async snapshot() {
      // One LMDB read transaction: the rows, checkpoint, indexes and chain hash of one committed
      // state, as stored (no re-encoding), read in slices so serving never waits long behind it.
      const txn = env.useReadTransaction();
      try {
        const seq = meta.get(META_CHECKPOINT, { transaction: txn });
        const chainHash = meta.get(META_CHAIN, { transaction: txn });
        if (typeof seq !== 'number' || typeof chainHash !== 'string') {
          throw new TrellisError('E_INTERNAL', `the view at ${checkpoint} has no recorded chain hash: a snapshot could not be checked against the log`);
        }
        const indexesAt = VIEW_TABLES.map((t) => {
          const v = meta.get(metaIndexKey(t), { transaction: txn });
          return [t, typeof v === 'number' ? v : 0] as const;
        });
        const tables: Array<readonly [ViewTable, Array<readonly [string, Uint8Array]>]> = [];
        let n = 0;
        for (const table of VIEW_TABLES) {
          const entries: Array<readonly [string, Uint8Array]> = [];
          for (const { key, value } of tableDb(table).getRange({ transaction: txn })) {
            entries.push([key, Buffer.from(value)]);
            if (++n % 5000 === 0) await new Promise((r) => setImmediate(r));
          }
          tables.push([table, entries]);
        }
        return { schema: VIEW_SCHEMA, seq, chainHash, indexes: indexesAt, tables };
      } finally {
        txn.done();
      }
    },

    async loadSnapshot(snap, from) {
      if (checkpoint !== 0 || applying) throw new TrellisError('E_INTERNAL', `a snapshot loads only into an empty view (this one is at ${checkpoint})`);
      if (snap.schema !== VIEW_SCHEMA) throw new TrellisError('E_SCHEMA', `snapshot has view layout ${snap.schema}, this build uses ${VIEW_SCHEMA}`);
      applying = true;
      try {
        await env.transaction(() => {
          for (const [table, entries] of snap.tables) for (const [key, value] of entries) void tableDb(table).put(key, Buffer.from(value));
          for (const [table, seq] of snap.indexes) if (seq > 0) void meta.put(metaIndexKey(table), seq);
          void meta.put(META_CHECKPOINT, snap.seq);
          void meta.put(META_CHAIN, snap.chainHash);
          void meta.put(META_ORIGIN_SNAPSHOT, JSON.stringify(from));
        });
      } finally {
        applying = false;
      }
      for (const [table, entries] of snap.tables) {
        for (const [key, value] of entries) applyToMemory({ table, op: 'put', key, row: decoder.decode(value) } as ViewChange);
      }
      for (const [table, seq] of snap.indexes) indexes.set(table, seq);
      checkpoint = snap.seq;
      chain = snap.chainHash;
      origin = from;
      appliedAt = now();
      for (const [table, seq] of snap.indexes) waiters.notify(table, seq);
      seqWaiters.notify('seq', checkpoint);
    },

    async close() {
      waiters.closeAll();
      seqWaiters.closeAll();
      await env.close();
    },
  };
  return view;
}
