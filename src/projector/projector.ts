import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { Counter, Gauge, type Registry } from 'prom-client';
import { TrellisError, errorMessage, isTrellisError, type Logger } from '../common/index.js';
import { chainBreak, decodeEvent, eventHash, EVENTS_STREAM, GENESIS_PREV, type StoredEvent, type TrellisEvent } from '../events/index.js';
import type { View } from '../view/index.js';

export interface ProjectorStatus {
  readonly appliedSeq: number;
  readonly halted: boolean;
  readonly haltReason: string | undefined;
  readonly running: boolean;
}

/** Folds the local stream (the primary's stream or a secondary's mirror) into the view. */
export interface Projector {
  start(): void;
  stop(): Promise<void>;
  status(): ProjectorStatus;
}

export interface ProjectorDeps {
  /** A JetStream client for the agent's own domain: it reads the local stream or mirror, never across the WAN. */
  readonly js: JetStreamClient;
  readonly view: View;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** @default TRELLIS_EVENTS */
  readonly stream?: string;
  /** Most events applied in one LMDB transaction. @default 2000 */
  readonly maxBatch?: number;
  /** Delay before resubscribing after a transport error. @default 500 */
  readonly retryDelayMs?: number;
  /** How often an idle projector checks that the stream has nothing it has not taken. @default 2000 */
  readonly stallCheckMs?: number;
}

function projectorMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  return {
    applied: new Gauge({ name: 'trellis_projector_applied_seq', help: 'Last stream sequence applied to the view', registers }),
    halted: new Gauge({ name: 'trellis_projector_halted', help: '1 when the projector halted on a gap, undecodable or too-new event', registers }),
    events: new Counter({ name: 'trellis_projector_events_applied_total', help: 'Events applied to the view', registers }),
    batches: new Counter({ name: 'trellis_projector_batches_total', help: 'LMDB transactions committed by the projector', registers }),
  };
}

/**
 * Messages arrive by callback; those of one I/O turn are committed together, and while a commit
 * runs the next batch gathers (group commit): one transaction per event when traffic is light,
 * large batches when it is heavy, never waiting on a timer. Ordered consumers have no acks:
 * progress is the checkpoint committed with the view rows.
 */
export function createProjector({ js, view, logger, registry, stream = EVENTS_STREAM, maxBatch = 2000, retryDelayMs = 500, stallCheckMs = 2000 }: ProjectorDeps): Projector {
  const log = logger.child({ component: 'projector' });
  const metrics = projectorMetrics(registry);
  metrics.applied.set(view.appliedSeq());
  metrics.halted.set(0);
  let running = false;
  let stopped = false;
  let halted = false;
  let haltReason: string | undefined;
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let wakeRetry: (() => void) | undefined;
  let lastStorageWarning = 0;

  function halt(reason: string): void {
    if (halted) return;
    halted = true;
    haltReason = reason;
    metrics.halted.set(1);
    log.error({ appliedSeq: view.appliedSeq(), reason }, 'projector halted: the view keeps serving the last consistent state');
    messages?.stop();
  }

  /** One subscription's worth of consuming; resolves when it ends (stop, halt or transport error). */
  async function consumeOnce(): Promise<void> {
    const consumer = await js.consumers.get(stream, { opt_start_seq: view.appliedSeq() + 1 });
    // One manager per subscription (making one asks the server for account info): the chain's
    // starting point and the watchdog's stream checks both use it.
    const jsm = await js.jetstreamManager();
    // The hash chain continues from the last applied event: its hash as the view recorded it (a
    // view started from a snapshot has no earlier events in its stream), else its stored bytes.
    let lastHash = view.chainHash() ?? GENESIS_PREV;
    if (view.appliedSeq() > 0 && view.chainHash() === undefined) {
      const m = await jsm.streams.getMessage(stream, { seq: view.appliedSeq() });
      if (!m) throw new TrellisError('E_INTERNAL', `event ${view.appliedSeq()} is not in ${stream}: cannot continue the hash chain`);
      lastHash = eventHash(m.data);
    }
    const batch: StoredEvent[] = [];
    let storageFailed = false;
    let nextSeq = view.appliedSeq() + 1;
    let committing = false;
    let scheduled = false;
    let haltAfterCommit: string | undefined;

    async function commit(): Promise<void> {
      scheduled = false;
      if (committing) return;
      while (batch.length > 0 && !halted) {
        committing = true;
        const events = batch.splice(0, maxBatch);
        try {
          await view.applyBatch(events);
          metrics.applied.set(view.appliedSeq());
          metrics.events.inc(events.length);
          metrics.batches.inc();
        } catch (err) {
          const what = `applying events ${events[0]?.seq}..${events[events.length - 1]?.seq} to the view failed: ${errorMessage(err)}`;
          if (isTrellisError(err)) {
            halt(what);
          } else {
            // The disk refused the write (full, read-only, I/O error; found by the fault suite's
            // full-disk round once commits became synchronous): nothing was applied, memory
            // included. The subscription is dropped and made again from the checkpoint after the
            // retry delay, until the disk takes the write.
            storageFailed = true;
            batch.length = 0;
            if (Date.now() - lastStorageWarning > 10_000) {
              lastStorageWarning = Date.now();
              log.error({ err: errorMessage(err), appliedSeq: view.appliedSeq(), retryDelayMs }, `${what}; retrying from the checkpoint`);
            }
            messages?.stop();
          }
        } finally {
          committing = false;
        }
        if (storageFailed) return;
      }
      if (haltAfterCommit !== undefined && batch.length === 0) halt(haltAfterCommit);
    }

    function schedule(): void {
      if (scheduled || committing) return;
      scheduled = true;
      setImmediate(() => void commit());
    }

    function refuse(reason: string): void {
      // Everything before the bad message is applied first; then the projector halts.
      haltAfterCommit = reason;
      if (batch.length === 0 && !committing) halt(reason);
      else schedule();
    }

    function take(m: JsMsg): void {
      if (stopped || halted || storageFailed || haltAfterCommit !== undefined) return;
      if (m.seq < nextSeq) return; // a redelivery of something already taken
      if (m.seq > nextSeq) {
        refuse(`gap in stream ${stream}: expected sequence ${nextSeq}, received ${m.seq}`);
        return;
      }
      let event: TrellisEvent;
      try {
        event = decodeEvent(m.data);
      } catch (err) {
        refuse(`event at sequence ${m.seq} (${m.subject}) cannot be applied: ${errorMessage(err)}`);
        return;
      }
      const broken = chainBreak(m.seq, event, lastHash);
      if (broken) {
        refuse(broken);
        return;
      }
      // A view started from a snapshot meets the event that anchored it: the digest must be the
      // one the primary recorded in the log, or the view is not what the log says (halt, rebuild).
      if (event.type === 'SnapshotTaken') {
        const origin = view.snapshotOrigin();
        if (origin?.seq === event.data.seq && origin.digest !== event.data.digest) {
          refuse(`the snapshot this view started from (as of ${origin.seq}) has digest ${origin.digest.slice(0, 16)}…, but the log records ${event.data.digest.slice(0, 16)}… at ${m.seq}: restart the agent with -rebuild`);
          return;
        }
      }
      lastHash = eventHash(m.data);
      batch.push({ seq: m.seq, event, hash: lastHash });
      nextSeq++;
      schedule();
    }

    messages = await consumer.consume({ max_messages: Math.max(maxBatch, 512), callback: take });
    // stop() may have come while the consumer was being set up (an agent stopped right after it
    // started: found by the model-based test, restart twice in a row hung): it saw no subscription.
    if (stopped) messages.stop();
    // The watchdog: an ordered consumer whose server was killed and restarted (kill -9 of a leaf
    // nats-server) may fail to recreate itself while JetStream is still starting, and then wait
    // forever, silently (found by the fault suite). When nothing arrived for a while but the stream
    // holds more than was taken, the subscription is dropped and made again from the checkpoint.
    const current = messages;
    let seenAt = nextSeq;
    const watchdog = setInterval(() => {
      if (nextSeq !== seenAt || committing) {
        seenAt = nextSeq;
        return;
      }
      jsm.streams
        .info(stream)
        .then((info) => {
          if (nextSeq === seenAt && info.state.last_seq >= nextSeq && !stopped && !halted) {
            log.warn({ appliedSeq: view.appliedSeq(), streamSeq: info.state.last_seq }, 'projector received nothing while the stream has more; resubscribing');
            current.stop();
          }
        })
        .catch(() => undefined); // the stream unreachable: the consumer's own errors say so
    }, stallCheckMs);
    watchdog.unref();
    try {
      await messages.closed();
    } finally {
      clearInterval(watchdog);
    }
    while (committing || scheduled) await new Promise((r) => setImmediate(r));
    await commit();
  }

  async function run(): Promise<void> {
    while (!stopped && !halted) {
      try {
        await consumeOnce();
      } catch (err) {
        if (stopped || halted) break;
        log.warn({ err: errorMessage(err), retryDelayMs }, 'projector subscription failed; retrying');
      }
      if (stopped || halted) break;
      await new Promise<void>((resolve) => {
        wakeRetry = resolve;
        retryTimer = setTimeout(resolve, retryDelayMs);
      });
    }
    running = false;
  }

  return {
    start() {
      if (running || halted) return;
      stopped = false;
      running = true;
      loop = run();
    },
    async stop() {
      stopped = true;
      messages?.stop();
      if (retryTimer) clearTimeout(retryTimer);
      wakeRetry?.();
      await loop;
    },
    status: () => ({ appliedSeq: view.appliedSeq(), halted, haltReason, running }),
  };
}
