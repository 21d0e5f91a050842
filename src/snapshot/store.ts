import type { JetStreamClient } from '@nats-io/jetstream';
import { Objm, StorageType, type ObjectInfo, type ObjectStore } from '@nats-io/obj';
import { TrellisError, errorMessage } from '../common/index.js';
import { decodeSnapshot, SNAPSHOT_FORMAT, type EncodedSnapshot } from './format.js';
import type { ViewSnapshot } from '../view/index.js';

/** The primary's JetStream object store of view snapshots (stream OBJ_TRELLIS_SNAPSHOTS). */
export const SNAPSHOT_BUCKET = 'TRELLIS_SNAPSHOTS';
export const SNAPSHOT_STREAM = `OBJ_${SNAPSHOT_BUCKET}`;

/** What the store says about one snapshot, from the object's metadata (no download). */
export interface SnapshotInfo {
  readonly name: string;
  /** The view is as of this stream sequence. */
  readonly seq: number;
  /** The sequence of the SnapshotTaken event that records `digest` in the log. */
  readonly anchor: number;
  readonly digest: string;
  readonly chainHash: string;
  readonly rows: number;
  /** Compressed size. */
  readonly size: number;
}

const objectName = (seq: number) => `view-${String(seq).padStart(16, '0')}`;

function infoOf(o: ObjectInfo): SnapshotInfo | undefined {
  const m = o.metadata ?? {};
  const seq = Number(m.seq);
  const anchor = Number(m.anchor);
  if (!o.name.startsWith('view-') || !Number.isSafeInteger(seq) || seq < 1 || m.format !== String(SNAPSHOT_FORMAT) || !m.digest || !m.chainHash) return undefined;
  return { name: o.name, seq, anchor: Number.isSafeInteger(anchor) ? anchor : 0, digest: m.digest, chainHash: m.chainHash, rows: Number(m.rows ?? 0), size: o.size };
}

/** The primary creates the bucket (file storage, one replica, like the event stream). */
export async function createSnapshotStore(js: JetStreamClient): Promise<ObjectStore> {
  return new Objm(js).create(SNAPSHOT_BUCKET, { storage: StorageType.File, replicas: 1, description: "trellis: snapshots of the primary's view, each anchored in the event log" });
}

/** Opens the bucket for reading (a secondary or replay, through the primary's JetStream domain); undefined when there is none. */
export async function openSnapshotStore(js: JetStreamClient): Promise<ObjectStore | undefined> {
  try {
    return await new Objm(js).open(SNAPSHOT_BUCKET);
  } catch (err) {
    if (/not found/i.test(errorMessage(err))) return undefined;
    throw err;
  }
}

export async function putSnapshot(os: ObjectStore, snap: EncodedSnapshot, anchor: number): Promise<SnapshotInfo> {
  const info = await os.putBlob(
    {
      name: objectName(snap.seq),
      description: `trellis view as of event ${snap.seq}`,
      metadata: { format: String(SNAPSHOT_FORMAT), seq: String(snap.seq), anchor: String(anchor), digest: snap.digest, chainHash: snap.chainHash, rows: String(snap.rows) },
    },
    snap.bytes,
  );
  const out = infoOf(info);
  if (!out) throw new TrellisError('E_INTERNAL', `snapshot ${info.name} was stored without its metadata`);
  return out;
}

/** Every snapshot in the store, oldest first. */
export async function listSnapshots(os: ObjectStore): Promise<SnapshotInfo[]> {
  const all = await os.list();
  return all
    .filter((o) => !o.deleted)
    .map(infoOf)
    .filter((i): i is SnapshotInfo => i !== undefined)
    .sort((a, b) => a.seq - b.seq);
}

/** The newest snapshot, or the newest at or before `atMost`. */
export async function newestSnapshot(os: ObjectStore, atMost = Number.MAX_SAFE_INTEGER): Promise<SnapshotInfo | undefined> {
  return (await listSnapshots(os)).filter((s) => s.seq <= atMost).pop();
}

/** Downloads a snapshot; the object store checks its transfer digest, decodeSnapshot the content digest. */
export async function readSnapshot(os: ObjectStore, info: SnapshotInfo): Promise<ViewSnapshot> {
  const bytes = await os.getBlob(info.name);
  if (!bytes) throw new TrellisError('E_SNAPSHOT', `snapshot ${info.name} disappeared before it was read`);
  const { snapshot } = await decodeSnapshot(bytes, info.digest);
  if (snapshot.seq !== info.seq || snapshot.chainHash !== info.chainHash) {
    throw new TrellisError('E_SNAPSHOT', `snapshot ${info.name} says it is as of ${snapshot.seq}, its metadata says ${info.seq}`);
  }
  return snapshot;
}

/** Deletes all but the newest `retain` snapshots. */
export async function pruneSnapshots(os: ObjectStore, retain: number): Promise<number> {
  const all = await listSnapshots(os);
  const old = all.slice(0, Math.max(0, all.length - Math.max(1, retain)));
  for (const s of old) await os.delete(s.name);
  return old.length;
}
