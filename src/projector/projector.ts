import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { Counter, Gauge, type Registry } from 'prom-client';
import { errorMessage, type Logger } from '../common/index.js';
import { decodeEvent, EVENTS_STREAM, type StoredEvent } from '../events/index.js';
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
  /** Most events applied in one LMDB transaction. @default 1000 */
  readonly maxBatch?: number;
  /** Delay before resubscribing after a transport error. @default 500 */
  readonly retryDelayMs?: number;
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

export function createProjector({ js, view, logger, registry, stream = EVENTS_STREAM, maxBatch = 1000, retryDelayMs = 500 }: ProjectorDeps): Projector {
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

  function halt(reason: string): void {
    halted = true;
    haltReason = reason;
    metrics.halted.set(1);
    log.error({ appliedSeq: view.appliedSeq(), reason }, 'projector halted: the view keeps serving the last consistent state');
    messages?.stop();
  }

  function flush(batch: StoredEvent[]): boolean {
    if (batch.length === 0) return true;
    try {
      view.applyBatch(batch);
    } catch (err) {
      halt(`applying events ${batch[0]?.seq}..${batch[batch.length - 1]?.seq} to the view failed: ${errorMessage(err)}`);
      return false;
    }
    metrics.applied.set(view.appliedSeq());
    metrics.events.inc(batch.length);
    metrics.batches.inc();
    batch.length = 0;
    return true;
  }

  /** Returns false when the projector halted. */
  function take(m: JsMsg, batch: StoredEvent[]): boolean {
    const expected = view.appliedSeq() + batch.length + 1;
    if (m.seq < expected) return true; // a redelivery of something already applied
    if (m.seq > expected) {
      if (!flush(batch)) return false;
      halt(`gap in stream ${stream}: expected sequence ${expected}, received ${m.seq}`);
      return false;
    }
    let stored: StoredEvent;
    try {
      stored = { seq: m.seq, event: decodeEvent(m.data) };
    } catch (err) {
      if (!flush(batch)) return false;
      halt(`event at sequence ${m.seq} (${m.subject}) cannot be applied: ${errorMessage(err)}`);
      return false;
    }
    batch.push(stored);
    if (batch.length >= maxBatch || m.info.pending === 0) return flush(batch);
    return true;
  }

  async function consumeOnce(): Promise<void> {
    const consumer = await js.consumers.get(stream, { opt_start_seq: view.appliedSeq() + 1 });
    messages = await consumer.consume({ max_messages: Math.max(maxBatch, 256) });
    const batch: StoredEvent[] = [];
    // Ordered consumers have no acks: progress is the checkpoint committed with the view rows.
    for await (const m of messages) {
      if (stopped || halted) break;
      if (!take(m, batch)) break;
    }
    if (!halted) flush(batch);
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
