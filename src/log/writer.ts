import { Counter, Histogram, type Registry } from 'prom-client';
import { TrellisError, errorMessage, isTrellisError, type Logger } from '../common/index.js';
import { CA_STATE_KEY, chainEvent, eventSubject, evolve, type ACLPolicyRow, type ACLTokenRow, type CARootRow, type CAStateRow, type IntentionRow, type TrellisEvent, type ViewChange } from '../events/index.js';
import type { ViewReader } from '../view/index.js';
import type { EventLog } from './event-log.js';

/** The state a decision is made against: the view plus every event appended but not yet applied. */
export interface WriterState {
  intention(id: string): IntentionRow | undefined;
  intentionByPair(sourceNS: string, sourceName: string, destinationNS: string, destinationName: string): IntentionRow | undefined;
  caState(): CAStateRow | undefined;
  caRoot(id: string): CARootRow | undefined;
  aclPolicy(id: string): ACLPolicyRow | undefined;
  aclPolicyByName(name: string): ACLPolicyRow | undefined;
  aclToken(accessorId: string): ACLTokenRow | undefined;
  aclTokenBySecretHash(hash: string): ACLTokenRow | undefined;
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
  /** The request had been appended before (a retry): `index` is where it landed, `result` was decided afresh. */
  readonly duplicate?: boolean;
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
  let ca: CAStateRow | undefined;
  const roots = new Map<string, CARootRow | null>();
  const policies = new Map<string, ACLPolicyRow | null>();
  const tokens = new Map<string, ACLTokenRow | null>();
  const policy = (id: string) => (policies.has(id) ? (policies.get(id) ?? undefined) : view.aclPolicy(id));
  const token = (id: string) => (tokens.has(id) ? (tokens.get(id) ?? undefined) : view.aclToken(id));
  const get = (id: string): IntentionRow | undefined => (rows.has(id) ? (rows.get(id) ?? undefined) : view.intention(id));
  const state: WriterState = {
    intention: get,
    caState: () => ca ?? view.caState(),
    caRoot: (id) => (roots.has(id) ? (roots.get(id) ?? undefined) : view.caRoot(id)),
    aclPolicy: policy,
    aclToken: token,
    // ACL writes are rare: a scan of the overlay is enough, the view answers the rest.
    aclPolicyByName(name) {
      for (const row of policies.values()) if (row && row.Name === name) return row;
      const fromView = view.aclPolicyByName(name);
      return fromView && !policies.has(fromView.ID) ? fromView : undefined;
    },
    aclTokenBySecretHash(hash) {
      for (const row of tokens.values()) if (row && row.SecretHash === hash) return row;
      const fromView = view.aclTokenBySecretHash(hash);
      return fromView && !tokens.has(fromView.AccessorID) ? fromView : undefined;
    },
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
      if (change.table === 'ca_state') {
        if (change.key === CA_STATE_KEY) ca = change.row;
        return;
      }
      if (change.table === 'ca_roots') {
        roots.set(change.key, change.op === 'put' ? change.row : null);
        return;
      }
      if (change.table === 'acl_policies') {
        policies.set(change.key, change.op === 'put' ? change.row : null);
        return;
      }
      if (change.table === 'acl_tokens') {
        tokens.set(change.key, change.op === 'put' ? change.row : null);
        return;
      }
      if (change.table !== 'intentions') return; // no decision reads other tables yet
      const id = change.key;
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
      ca = undefined;
      roots.clear();
      policies.clear();
      tokens.clear();
    },
  };
}

export function createWriter({ log, view, logger, registry, maxInflight = 256, maxAttempts = 5, applyTimeoutMs = 10_000 }: WriterDeps): Writer {
  const lg = logger.child({ component: 'writer' });
  const registers = registry ? [registry] : [];
  const conflicts = new Counter({ name: 'trellis_writer_conflicts_total', help: 'Appends refused for a wrong expected sequence or last message id', registers });
  const appendSeconds = new Histogram({
    name: 'trellis_writer_append_seconds',
    help: 'Time from decision to stream acknowledgement',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers,
  });
  const overlay = createOverlay(view);
  const queue: Pending[] = [];
  /** Appends that failed since the last resync, with what they were decided as. */
  const failedAppends: Array<{ p: Pending; result: unknown; seq: number; reason: unknown }> = [];
  let nextSeq = 0; // 0: unknown, resync before the next append
  let lastAppended = 0;
  /** The hash the next append links to: of the last event issued since the resync. */
  let lastHash = '';
  let inflight = 0;
  let failed = false;
  let resyncing = false;
  let closed = false;
  let idle: (() => void) | undefined;

  async function resync(): Promise<void> {
    const last = await log.lastSeq();
    if (!(await view.waitForSeq(last, applyTimeoutMs))) {
      throw new TrellisError('E_UNAVAILABLE', `the local view did not reach stream sequence ${last} within ${applyTimeoutMs} ms`);
    }
    lastHash = await log.hashAt(last);
    overlay.clear();
    nextSeq = last + 1;
    lastAppended = last;
  }

  function answerWhenApplied(p: Pending, result: unknown, seq: number, duplicate = false): void {
    view.waitForSeq(seq, applyTimeoutMs).then(
      (applied) => {
        if (applied) p.resolve({ result, index: seq, ...(duplicate ? { duplicate } : {}) });
        else p.reject(new TrellisError('E_UNAVAILABLE', `event ${seq} was appended but the local view did not apply it within ${applyTimeoutMs} ms`));
      },
      (err: unknown) => p.reject(err),
    );
  }

  function rejectQueued(err: unknown): void {
    for (const p of queue.splice(0)) p.reject(err);
  }

  /** Decides and issues appends while there is room; never waits. */
  function pump(): void {
    if (closed || resyncing || failed) return;
    if (nextSeq === 0) {
      if (queue.length === 0) return;
      resyncing = true;
      resync().then(
        () => {
          resyncing = false;
          pump();
        },
        (err: unknown) => {
          resyncing = false;
          nextSeq = 0;
          rejectQueued(err);
        },
      );
      return;
    }
    while (queue.length > 0 && inflight < maxInflight) {
      if (inflight === 0 && view.appliedSeq() >= lastAppended) overlay.clear();
      const p = queue.shift();
      if (!p) break;
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
      // One message id per request, whatever the attempt: JetStream stores a refused append under
      // no id, and drops a second copy of a stored one (a retry whose first ack was lost).
      const msgId = p.rid;
      // Linked to the event issued before it: pipelined appends land in issue order or not at all.
      const chained = chainEvent({ ...decision.event, rid: p.rid }, lastHash);
      lastHash = chained.hash;
      const result = decision.result;
      const started = performance.now();
      // Only Nats-Expected-Last-Sequence: nats-server 2.9 mirrors re-check a stored message's
      // Nats-Expected-Last-Msg-Id against their own (in-memory) last id, so after a leaf server
      // restart every mirror stalled for good ("last msgid mismatch"). Found by the fault suite
      // (kill -9 a leaf nats-server). One writer per stream is the rule; a second appender's event
      // under a pipelined one breaks the hash chain, and every projector halts there, loudly.
      inflight++;
      // Only Nats-Expected-Last-Sequence, no Nats-Expected-Last-Msg-Id: nats-server 2.9 mirrors
      // re-check a stored message's expected last id against their own in-memory one, so after a
      // leaf server restart every mirror stalled for good ("last msgid mismatch"; found by the
      // fault suite: kill -9 a leaf nats-server). One writer per stream is the rule: a second
      // appender's event under a pipelined one breaks the hash chain, and projectors halt there.
      log.appendRaw(eventSubject(chained.event), chained.bytes, { expectedLastSeq: seq - 1, msgId }).then(
        (ack) => {
          inflight--;
          appendSeconds.observe((performance.now() - started) / 1000);
          if (ack.seq === seq && !ack.duplicate) {
            if (seq > lastAppended) lastAppended = seq;
            answerWhenApplied(p, result, seq);
          } else if (ack.duplicate) {
            // Stored before under this request id (a retry whose first answer was lost): answer
            // with where it landed; nothing was appended at `seq`, so resynchronise.
            answerWhenApplied(p, result, ack.seq, true);
            failed = true;
          } else {
            failedAppends.push({ p, result, seq, reason: new TrellisError('E_CONFLICT', `append landed at ${ack.seq}, not ${seq}`) });
            failed = true;
          }
          settled();
        },
        (reason: unknown) => {
          inflight--;
          failedAppends.push({ p, result, seq, reason });
          failed = true;
          settled();
        },
      );
    }
    if (inflight === 0 && queue.length === 0) idle?.();
  }

  function settled(): void {
    if (!failed) {
      pump();
      return;
    }
    // After a failure nothing new is issued; once everything in flight has settled, resync and
    // decide the failed requests again, in their original order, against the stream as it is.
    if (inflight === 0 && !resyncing) void recover();
  }

  async function recover(): Promise<void> {
    resyncing = true;
    const retry = failedAppends.splice(0).sort((a, b) => a.seq - b.seq);
    const first = retry[0]?.reason;
    if (isTrellisError(first, 'E_CONFLICT')) conflicts.inc();
    lg.warn({ err: errorMessage(first), retrying: retry.length }, 'append failed; resynchronising with the stream');
    try {
      await resync();
    } catch (err) {
      nextSeq = 0;
      for (const { p } of retry) p.reject(err);
      rejectQueued(err);
      resyncing = false;
      failed = false;
      return;
    }
    const requeue: Pending[] = [];
    for (const { p, result, reason } of retry) {
      const appliedAt = view.requestSeq(p.rid);
      if (appliedAt !== undefined) {
        // It was stored after all (an acknowledgement lost or late): answer with where it landed.
        answerWhenApplied(p, result, appliedAt, true);
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
    resyncing = false;
    failed = false;
    pump();
  }

  return {
    submit<R>(rid: string, decide: (state: WriterState) => Decision<R>): Promise<WriteOutcome<R>> {
      if (closed) return Promise.reject(new TrellisError('E_UNAVAILABLE', 'the writer is shut down'));
      return new Promise<WriteOutcome<R>>((resolve, reject) => {
        queue.push({ rid, decide, resolve: resolve as (o: WriteOutcome<unknown>) => void, reject, attempts: 0 });
        pump();
      });
    },
    async close() {
      if (inflight > 0 || resyncing) await new Promise<void>((resolve) => (idle = resolve));
      closed = true;
      rejectQueued(new TrellisError('E_UNAVAILABLE', 'the writer is shut down'));
    },
  };
}
