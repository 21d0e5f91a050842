// The audit trail: walking a datacenter's event log from sequence 1, verifying its hash chain,
// and describing each event for people and SIEM imports.
export { walkStream, verifyChain, describeForAudit, type VerifyResult, type AuditEntry } from './audit.js';
export { stateAt, parseAt, HistoryElsewhereError, type PointInTime } from './point-in-time.js';
export { replayInto, firstDifference, type ReplayProgress, type ReplayResult } from './replay.js';
