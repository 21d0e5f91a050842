// View snapshots (issue 9): the primary publishes its view, compressed and anchored in the log by a
// SnapshotTaken event, to a JetStream object store; a new secondary or a replay starts from the
// newest one and the stream after it. The stream stays the source of truth.
export { canonicalSnapshotBytes, canonicalSnapshotParts, decodeSnapshot, encodeSnapshot, sha256Hex, snapshotRows, SNAPSHOT_FORMAT, type EncodedSnapshot } from './format.js';
export { createSnapshotStore, listSnapshots, newestSnapshot, openSnapshotStore, pruneSnapshots, putSnapshot, readSnapshot, SNAPSHOT_BUCKET, SNAPSHOT_STREAM, type SnapshotInfo } from './store.js';
export { createSnapshotter, type Snapshotter, type SnapshotterDeps } from './publisher.js';
export { loadNewestSnapshot, type SnapshotLoad } from './bootstrap.js';
