import { Counter, Histogram, type Registry } from 'prom-client';
import { TrellisError, errorMessage, isTrellisError, type Logger } from '../common/index.js';
import { evolve, type IntentionRow, type TrellisEvent, type ViewChange } from '../events/index.js';
import type { ViewReader } from '../view/index.js';
import type { EventLog } from './event-log.js';

/** The state a decision is made against: the view plus every event appended but not yet applied. */
export interface WriterState {
  intention(id: string): IntentionRow | undefined;
  intentionByPair(sourceNS: string, sourceName: string, destinationNS: string, destinationName: string): IntentionRow | undefined;
}

/** A decision: the event to append (none for a no-op) and what to answer once it is applied. */
export interface Decision<R> {
  readonly event?: TrellisEvent;
  readonly result: R;
}

export interface WriteOutcome<R> {
  readonly result: R;
  /** The stream sequence of the appended event (the view's index when nothing was appended). */
  readonly index: number;
}

/** The primary's single writer: decide, append with expected sequence, answer after the view applied it. */
export interface Writer {
  submit<R>(rid: string, decide: (state: WriterState) => Decision<R>): Promise<WriteOutcome<R>>;
  close(): Promise<void>;
}

export interface WriterView extends ViewReader {
  waitForSeq(seq: number, timeoutMs: number): Promise<boolean>;
  requestSeq(rid: string): number | undefined;
}

export interface WriterDeps {
  readonly log: EventLog;
  readonly view: WriterView;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** Most appends in flight at once. @default 256 */
  readonly maxInflight?: number;
  /** Attempts per request on conflicts before giving up with E_CONFLICT. @default 5 */
  readonly maxAttempts?: number;
  /** How long a write waits for the local view to apply its event. @default 10000 */
  readonly applyTimeoutMs?: number;
}

interface Pending {
  readonly rid: string;
  readonly decide: (state: WriterState) => Decision<unknown>;
  readonly resolve: (outcome: WriteOutcome<unknown>) => void;
  readonly reject: (err: unknown) => void;
  attempts: number;
}

const pairKey = (r: { SourceNS: string; SourceName: string; DestinationNS: string; DestinationName: string }) =>
  `${r.SourceNS}\u0000${r.SourceName}\u0000${r.DestinationNS}\u0000${r.DestinationName}`;

/** Reads through the changes of appended-but-unapplied events to the view. */
function createOverlay(view: ViewReader) {
  const rows = new Map<string, IntentionRow | null>();
  const pairs = new Map<string, string | null>();
  const get = (id: string): IntentionRow | undefined => (rows.has(id) ? (rows.get(id) ?? undefined) : view.intention(id));
  const state: WriterState = {
    intention: get,
    intentionByPair(sns, sn, dns, dn) {
      const key = pairKey({ SourceNS: sns, SourceName: sn, DestinationNS: dns, DestinationName: dn });
      if (pairs.has(key)) {
        const id = pairs.get(key);
        return id === null || id === undefined ? undefined : get(id);
      }
      const fromView = view.intentionByPair(sns, sn, dns, dn);
      if (!fromView || !rows.has(fromView.ID)) return fromView;
      const now = get(fromView.ID);
      return now && pairKey(now) === key ? now : undefined;
    },
  };
  return {
    state,
    apply(change: ViewChange) {
      const id = change.op === 'put' ? change.row.ID : change.id;
      const before = get(id);
      if (before) pairs.set(pairKey(before), null);
      if (change.op === 'put') {
        rows.set(id, change.row);
        pairs.set(pairKey(change.row), id);
      } else {
        rows.set(id, null);
      }
    },
    clear() {
      rows.clear();
      pairs.clear();
    },
  };
}

export function createWriter({ log, view, logger, registry, maxInflight = 256, maxAttempts = 5, applyTimeoutMs = 10_000 }: WriterDeps): Writer {
  const lg = logger.child({ component: 'writer' });
  const registers = registry ? [registry] : [];
  const conflicts = new Counter({ name: 'trellis_writer_conflicts_total', help: 'Appends refused for a wrong expected sequence', registers });
  const appendSeconds = new Histogram({
    name: 'trellis_writer_append_seconds',
    help: 'Time from decision to stream acknowledgement',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers,
  });
  const overlay = createOverlay(view);
  const queue: Pending[] = [];
  let nextSeq = 0; // 0: unknown, resync before the next append
  let lastAppended = 0;
  let pumping: Promise<void> | undefined;
  let closed = false;

  async function resync(): Promise<void> {
    const last = await log.lastSeq();
    if (!(await view.waitForSeq(last, applyTimeoutMs))) {
      throw new TrellisError('E_UNAVAILABLE', `the local view did not reach stream sequence ${last} within ${applyTimeoutMs} ms`);
    }
    overlay.clear();
    nextSeq = last + 1;
    lastAppended = last;
  }

  function answerWhenApplied(p: Pending, result: unknown, seq: number): void {
    view.waitForSeq(seq, applyTimeoutMs).then(
      (applied) => {
        if (applied) p.resolve({ result, index: seq });
        else p.reject(new TrellisError('E_UNAVAILABLE', `event ${seq} was appended but the local view did not apply it within ${applyTimeoutMs} ms`));
      },
      (err: unknown) => p.reject(err),
    );
  }

  async function pumpOnce(): Promise<void> {
    if (nextSeq === 0) {
      try {
        await resync();
      } catch (err) {
        for (const p of queue.splice(0)) p.reject(err);
        return;
      }
    }
    if (view.appliedSeq() >= lastAppended) overlay.clear();
    const batch = queue.splice(0, maxInflight);
    const planned: Array<{ p: Pending; event: TrellisEvent; seq: number; result: unknown }> = [];
    for (const p of batch) {
      let decision: Decision<unknown>;
      try {
        decision = p.decide(overlay.state);
      } catch (err) {
        p.reject(err);
        continue;
      }
      if (!decision.event) {
        p.resolve({ result: decision.result, index: Math.max(view.appliedSeq(), 1) });
        continue;
      }
      const seq = nextSeq++;
      for (const change of evolve(overlay.state, seq, decision.event)) overlay.apply(change);
      planned.push({ p, event: { ...decision.event, rid: p.rid }, seq, result: decision.result });
    }
    if (planned.length === 0) return;
    const started = performance.now();
    const acks = await Promise.allSettled(planned.map(({ event, seq, p }) => log.append(event, { expectedLastSeq: seq - 1, msgId: `${p.rid}:${p.attempts}` })));
    appendSeconds.observe((performance.now() - started) / 1000);
    let failedAt = -1;
    for (let i = 0; i < planned.length; i++) {
      const ack = acks[i];
      const item = planned[i];
      if (!ack || !item) continue;
      if (failedAt < 0 && ack.status === 'fulfilled' && ack.value.seq === item.seq) {
        lastAppended = item.seq;
        answerWhenApplied(item.p, item.result, item.seq);
        continue;
      }
      if (failedAt < 0) failedAt = i;
    }
    if (failedAt < 0) return;
    // Everything from the first failure on is decided again against the stream as it really is.
    const retry = planned.slice(failedAt);
    const firstFailure = acks[failedAt];
    const reason: unknown = firstFailure?.status === 'rejected' ? firstFailure.reason : new TrellisError('E_CONFLICT', 'stream sequence moved');
    if (isTrellisError(reason, 'E_CONFLICT')) conflicts.inc();
    lg.warn({ err: errorMessage(reason), retrying: retry.length }, 'append failed; resynchronising with the stream');
    nextSeq = 0;
    try {
      await resync();
    } catch (err) {
      for (const { p } of retry) p.reject(err);
      return;
    }
    const requeue: Pending[] = [];
    for (const { p, result } of retry) {
      const appliedAt = view.requestSeq(p.rid);
      if (appliedAt !== undefined) {
        answerWhenApplied(p, result, appliedAt);
        continue;
      }
      p.attempts++;
      if (p.attempts >= maxAttempts) {
        p.reject(
          isTrellisError(reason, 'E_CONFLICT') || !(reason instanceof Error)
            ? new TrellisError('E_CONFLICT', `write conflicted ${p.attempts} times with concurrent appends; try again`)
            : reason,
        );
      } else {
        requeue.push(p);
      }
    }
    queue.unshift(...requeue);
  }

  async function pump(): Promise<void> {
    while (queue.length > 0 && !closed) await pumpOnce();
    pumping = undefined;
  }

  return {
    submit<R>(rid: string, decide: (state: WriterState) => Decision<R>): Promise<WriteOutcome<R>> {
      if (closed) return Promise.reject(new TrellisError('E_UNAVAILABLE', 'the writer is shut down'));
      return new Promise<WriteOutcome<R>>((resolve, reject) => {
        queue.push({ rid, decide, resolve: resolve as (o: WriteOutcome<unknown>) => void, reject, attempts: 0 });
        pumping ??= pump();
      });
    },
    async close() {
      closed = true;
      await pumping;
      for (const p of queue.splice(0)) p.reject(new TrellisError('E_UNAVAILABLE', 'the writer is shut down'));
    },
  };
}
