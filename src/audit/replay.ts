import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { TrellisError, type Logger } from '../common/index.js';
import { chainBreak, decodeEvent, eventHash, EVENTS_STREAM, EVENTS_SUBJECT_PREFIX, GENESIS_PREV, type StoredEvent } from '../events/index.js';
import { canonicalSnapshotBytes, sha256Hex } from '../snapshot/index.js';
import type { SnapshotOrigin, View, ViewSnapshot } from '../view/index.js';

export interface ReplayProgress {
  readonly applied: number;
  readonly total: number;
}

export interface ReplayResult {
  /** The last sequence applied. */
  readonly seq: number;
  readonly events: number;
  readonly seconds: number;
  /** The snapshot the replay started from (events before it were not read). */
  readonly fromSnapshot?: number;
  /** SnapshotTaken records checked: the replayed view at each recorded sequence had the recorded digest. */
  readonly snapshotsVerified: number;
}

/** The SnapshotTaken records of a stream: recorded sequence → digest (a filtered read, a few messages). */
async function snapshotAnchors(js: JetStreamClient, jsm: JetStreamManager, from: number, to: number): Promise<Map<number, { digest: string; at: number }>> {
  const anchors = new Map<number, { digest: string; at: number }>();
  const subject = `${EVENTS_SUBJECT_PREFIX}.snapshot`;
  // The newest record first: when there is none in range, no consumer is made (it would wait for its expiry).
  const newest = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subject }).catch(() => null);
  if (!newest || newest.seq < from) return anchors;
  const consumer = await js.consumers.get(EVENTS_STREAM, { opt_start_seq: from, filter_subjects: subject });
  const messages = await consumer.fetch({ max_messages: 100_000, expires: 2000 });
  for await (const m of messages) {
    if (m.seq > to) break;
    const event = decodeEvent(m.data);
    if (event.type === 'SnapshotTaken') anchors.set(event.data.seq, { digest: event.data.digest, at: m.seq });
    if (m.info.pending === 0 || m.seq >= newest.seq) break;
  }
  return anchors;
}

/**
 * Rebuilds a view from sequence 1 of a datacenter's stream (or from a snapshot and the events after
 * it), verifying the hash chain, in batches, up to `to` (a sequence, or the last event decided at
 * or before a time) or the stream's end.
 */
export async function replayInto(
  { js, jsm, view, to, onProgress, batchSize = 2000, snapshot, checkSnapshots = false }: {
    js: JetStreamClient;
    jsm: JetStreamManager;
    view: View;
    to?: { readonly seq: number } | { readonly time: number };
    onProgress?: (p: ReplayProgress) => void;
    batchSize?: number;
    logger?: Logger;
    /** Start from this snapshot (its digest already checked) instead of sequence 1. */
    snapshot?: { readonly snapshot: ViewSnapshot; readonly origin: SnapshotOrigin };
    /** Check every SnapshotTaken record on the way: the replayed view's digest at its sequence. */
    checkSnapshots?: boolean;
  },
): Promise<ReplayResult> {
  if (view.appliedSeq() !== 0) throw new TrellisError('E_VALIDATION', `the target view already holds ${view.appliedSeq()} events: replay into an empty directory`);
  const state = (await jsm.streams.info(EVENTS_STREAM)).state;
  const last = state.last_seq;
  const total = to && 'seq' in to ? Math.min(to.seq, last) : last;
  const started = performance.now();
  if (snapshot) {
    if (snapshot.snapshot.seq > total) throw new TrellisError('E_VALIDATION', `the snapshot is as of ${snapshot.snapshot.seq}, after the replay's end (${total})`);
    await view.loadSnapshot(snapshot.snapshot, snapshot.origin);
  }
  const from = view.appliedSeq() + 1;
  if (state.first_seq > from && total >= from) {
    throw new TrellisError('E_VALIDATION', `this stream holds events from ${state.first_seq} (its mirror started from a snapshot): replay from a snapshot at or after ${state.first_seq - 1}`);
  }
  const done = (seq: number, verified: number): ReplayResult => ({
    seq,
    events: seq - from + 1,
    seconds: (performance.now() - started) / 1000,
    ...(snapshot ? { fromSnapshot: snapshot.snapshot.seq } : {}),
    snapshotsVerified: verified,
  });
  if (total < from) return done(view.appliedSeq(), 0);
  const anchors = checkSnapshots || snapshot ? await snapshotAnchors(js, jsm, from, last) : new Map<number, { digest: string; at: number }>();
  let verified = 0;
  if (snapshot) {
    // The snapshot must be the one the log records, not merely self-consistent.
    const recorded = anchors.get(snapshot.origin.seq);
    if (!recorded) throw new TrellisError('E_SNAPSHOT', `no SnapshotTaken event in the log records a snapshot as of ${snapshot.origin.seq}`);
    if (recorded.digest !== snapshot.origin.digest) {
      throw new TrellisError('E_SNAPSHOT', `the snapshot as of ${snapshot.origin.seq} has digest ${snapshot.origin.digest.slice(0, 16)}…, the log records ${recorded.digest.slice(0, 16)}… at ${recorded.at}`);
    }
    verified++;
  }
  const consumer = await js.consumers.get(EVENTS_STREAM, { opt_start_seq: from });
  const messages = await consumer.consume({ max_messages: 4096 });
  let expected = view.chainHash() ?? GENESIS_PREV;
  let batch: StoredEvent[] = [];
  let lastSeq = view.appliedSeq();
  const flush = async () => {
    if (batch.length === 0) return;
    const events = batch;
    batch = [];
    await view.applyBatch(events);
    onProgress?.({ applied: view.appliedSeq(), total });
  };
  try {
    for await (const m of messages) {
      const event = decodeEvent(m.data);
      if (to && 'time' in to && event.at > to.time) break;
      const broken = chainBreak(m.seq, event, expected);
      if (broken) throw new TrellisError('E_DECODE', `replay stopped: ${broken}`);
      expected = eventHash(m.data);
      batch.push({ seq: m.seq, event, hash: expected });
      lastSeq = m.seq;
      const anchor = anchors.get(m.seq);
      if (anchor) {
        await flush();
        const digest = sha256Hex(canonicalSnapshotBytes(await view.snapshot()));
        if (digest !== anchor.digest) {
          throw new TrellisError('E_SNAPSHOT', `the snapshot recorded at ${anchor.at} says the view as of ${m.seq} has digest ${anchor.digest.slice(0, 16)}…, the replay gives ${digest.slice(0, 16)}…`);
        }
        verified++;
      }
      if (batch.length >= batchSize) await flush();
      if (m.seq >= total) break;
    }
    await flush();
  } finally {
    messages.stop();
  }
  return done(lastSeq, verified);
}

/** The first key whose bytes differ between two views' dumps, for `--verify`. */
export function firstDifference(a: ReturnType<View['dump']>, b: ReturnType<View['dump']>): string | undefined {
  const key = (e: { table: string; key: string }) => `${e.table}/${e.key}`;
  const left = new Map(a.map((e) => [key(e), e.value]));
  const right = new Map(b.map((e) => [key(e), e.value]));
  const all = [...new Set([...left.keys(), ...right.keys()])].sort();
  for (const k of all) {
    const x = left.get(k);
    const y = right.get(k);
    if (!x || !y || !x.equals(y)) return `${k} (${!x ? 'missing from the replay' : !y ? 'missing from the live view' : 'different value'})`;
  }
  return undefined;
}
