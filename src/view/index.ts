// The local LMDB view every agent serves from: intention rows, per-table indexes and the checkpoint,
// written together in one transaction; an in-memory copy for reads; blocking-query waiters.
export { openView, VIEW_SCHEMA, type View, type ViewReader, type ViewOptions, type AppliedBatch, type ViewSnapshot, type SnapshotOrigin } from './view.js';
export { createWaiters, type Waiters } from './waiters.js';
