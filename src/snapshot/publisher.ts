import type { ObjectStore } from '@nats-io/obj';
import { Gauge, Histogram, type Registry } from 'prom-client';
import { errorMessage, type Logger } from '../common/index.js';
import { SCHEMA_VERSION } from '../events/index.js';
import type { Writer } from '../log/index.js';
import type { View } from '../view/index.js';
import { encodeSnapshot } from './format.js';
import { pruneSnapshots, putSnapshot, type SnapshotInfo } from './store.js';

export interface SnapshotterDeps {
  readonly datacenter: string;
  readonly view: View;
  readonly writer: Writer;
  readonly store: ObjectStore;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** A snapshot once the view moved this many events past the last one; 0: only on request. */
  readonly intervalEvents: number;
  /** Snapshots kept in the store (the newest ones). */
  readonly retain: number;
  /** The newest snapshot already in the store, if any. */
  readonly newest?: SnapshotInfo;
  readonly now?: () => number;
}

/** The primary's snapshot publisher. */
export interface Snapshotter {
  /** Takes a snapshot of the view now (unless the newest one is already as of the checkpoint). */
  take(): Promise<SnapshotInfo | undefined>;
  newest(): SnapshotInfo | undefined;
  stop(): Promise<void>;
}

/**
 * Every `intervalEvents` applied events the primary snapshots its view: the rows are read from one
 * LMDB read transaction and encoded a slice at a time, compressed off the event loop, anchored in
 * the log by a SnapshotTaken event carrying the digest, then stored in the object store under its
 * sequence; the oldest beyond `retain` are deleted. One at a time; a failure is logged and the next
 * interval tries again. The stream stays the truth: a snapshot is only a faster way to a view.
 */
export function createSnapshotter(deps: SnapshotterDeps): Snapshotter {
  const { datacenter, view, writer, store, registry, intervalEvents, retain, now = Date.now } = deps;
  const log = deps.logger.child({ component: 'snapshot' });
  const registers = registry ? [registry] : [];
  const seqGauge = new Gauge({ name: 'trellis_snapshot_seq', help: 'Stream sequence of the newest view snapshot', registers });
  const bytesGauge = new Gauge({ name: 'trellis_snapshot_bytes', help: 'Compressed size of the newest view snapshot', registers });
  const seconds = new Histogram({ name: 'trellis_snapshot_seconds', help: 'Time to take, anchor and store a view snapshot', buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers });
  let newest = deps.newest;
  let inflight: Promise<SnapshotInfo | undefined> | undefined;
  // Where the last attempt started: a failed one is tried again an interval later, not every batch.
  let attemptedAt = deps.newest?.seq ?? 0;
  let stopped = false;
  if (newest) seqGauge.set(newest.seq);

  async function takeNow(): Promise<SnapshotInfo | undefined> {
    if (newest && view.appliedSeq() <= newest.seq) return newest;
    const started = performance.now();
    const snap = await view.snapshot();
    const encoded = await encodeSnapshot(snap);
    const anchor = await writer.submit(`snapshot:${snap.seq}`, () => ({
      event: {
        v: SCHEMA_VERSION,
        type: 'SnapshotTaken',
        at: now(),
        by: `agent:${datacenter}`,
        data: { seq: snap.seq, digest: encoded.digest, chainHash: snap.chainHash, rows: encoded.rows, bytes: encoded.bytes.length },
      },
      result: undefined,
    }));
    const info = await putSnapshot(store, encoded, anchor.index);
    newest = info;
    const pruned = await pruneSnapshots(store, retain);
    seqGauge.set(info.seq);
    bytesGauge.set(info.size);
    const elapsed = (performance.now() - started) / 1000;
    seconds.observe(elapsed);
    log.info({ seq: info.seq, anchor: info.anchor, rows: info.rows, bytes: info.size, seconds: Number(elapsed.toFixed(3)), pruned }, 'view snapshot stored');
    return info;
  }

  function take(): Promise<SnapshotInfo | undefined> {
    inflight ??= takeNow().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  const off =
    intervalEvents > 0
      ? view.onApplied((batch) => {
          if (stopped || inflight || batch.toSeq - attemptedAt < intervalEvents) return;
          attemptedAt = batch.toSeq;
          take().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'view snapshot failed; the next interval tries again'));
        })
      : () => undefined;

  return {
    take,
    newest: () => newest,
    async stop() {
      stopped = true;
      off();
      await inflight?.catch(() => undefined);
    },
  };
}
