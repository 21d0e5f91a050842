import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerConfig, type ConsumerMessages } from '@nats-io/jetstream';
import { z } from 'zod';
import { natsConnectionOptions, readCredentialsFile } from '../natsd/credentials.js';
import { TrellisError, errorMessage } from '../common/index.js';
import { EVENT_TYPES, EVENTS_STREAM, decodeEvent, type EventType, type TrellisEvent } from '../events/index.js';

/** An event as a subscriber receives it. */
export interface SubscribedEvent<T extends TrellisEvent = TrellisEvent> {
  /** The stream sequence: the same in every datacenter. */
  readonly seq: number;
  /** When the primary decided it. */
  readonly time: Date;
  readonly type: T['type'];
  readonly data: T['data'];
  /** The whole envelope (actor, request id, schema version). */
  readonly event: T;
}

const optionsSchema = z.strictObject({
  /** NATS URL(s) of the datacenter's nats-server. */
  servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** A NATS credentials file (`trellis dev` writes `<data-dir>/nats/<dc>/credentials/reader.json`; dev.json names it). */
  credentials: z.string().min(1).optional(),
  /** The datacenter whose stream (the primary's, or a secondary's mirror) is read: its JetStream domain. */
  datacenter: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/),
  /** Durable name: a subscriber with the same name resumes where it left off, across restarts. */
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "-" and "_" (at most 64)'),
  /** Where a new subscriber starts (an existing one resumes). @default 'new' */
  from: z.union([z.literal('start'), z.literal('new'), z.number().int().min(1), z.date()]).default('new'),
  /** Only these event types reach the handler (the others are acknowledged and skipped). */
  types: z.array(z.enum(EVENT_TYPES as [EventType, ...EventType[]])).optional(),
  /** Events handed out but not yet acknowledged: backpressure on a slow handler. @default 64 */
  maxInFlight: z.number().int().min(1).max(10_000).default(64),
  /** How long a handler may take before the event is delivered again. @default 30000 */
  ackWaitMs: z.number().int().min(1000).default(30_000),
});

export type SubscribeOptions = z.input<typeof optionsSchema>;

export interface Subscription {
  /** Resolves when the subscription is stopped; rejects with the error that ended it (an undecodable event, a lost connection it could not recover). */
  readonly done: Promise<void>;
  /** Stops consuming, lets the handler in flight finish, closes the connection. */
  stop(): Promise<void>;
}

/**
 * Subscribes to a datacenter's event log with a durable JetStream consumer: typed, decoded
 * events in order, at least once (acknowledged after the handler resolves; a handler that throws
 * gets the same event again after a back-off, before any later one), at most `maxInFlight`
 * fetched ahead. An event that
 * cannot be decoded ends the subscription with a clear error instead of being skipped.
 * Consumers are read-only on the stream: they never slow the projector or the primary's writes.
 */
export async function subscribe(options: SubscribeOptions, handler: (event: SubscribedEvent) => Promise<void> | void): Promise<Subscription> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new TrellisError('E_VALIDATION', `invalid subscribe options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const o = parsed.data;
  const credentials = o.credentials ? readCredentialsFile(o.credentials) : undefined;
  const nc: NatsConnection = await connect({ ...natsConnectionOptions(o.servers, credentials), name: `trellis-subscriber-${o.name}` });
  const durable = `sub-${o.name}`;
  const types = o.types ? new Set<string>(o.types) : undefined;
  let messages: ConsumerMessages | undefined;
  try {
    const jsm = await jetstreamManager(nc, { domain: o.datacenter });
    const existing = await jsm.consumers.info(EVENTS_STREAM, durable).catch(() => undefined);
    if (!existing) {
      const start: Partial<ConsumerConfig> =
        o.from === 'start'
          ? { deliver_policy: DeliverPolicy.All }
          : o.from === 'new'
            ? { deliver_policy: DeliverPolicy.New }
            : typeof o.from === 'number'
              ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: o.from }
              : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: o.from.toISOString() };
      await jsm.consumers.add(EVENTS_STREAM, { durable_name: durable, ack_policy: AckPolicy.Explicit, max_ack_pending: o.maxInFlight, ack_wait: o.ackWaitMs * 1_000_000, ...start });
    }
    const consumer = await jetstream(nc, { domain: o.datacenter }).consumers.get(EVENTS_STREAM, durable);
    messages = await consumer.consume({ max_messages: o.maxInFlight });
  } catch (err) {
    await nc.close();
    throw new TrellisError('E_UNAVAILABLE', `cannot subscribe to ${EVENTS_STREAM} in datacenter ${o.datacenter}: ${errorMessage(err)}`, { cause: err });
  }
  const iterator = messages;
  let stopping = false;

  const done = (async () => {
    try {
      for await (const m of iterator) {
        let event: TrellisEvent;
        try {
          event = decodeEvent(m.data);
        } catch (err) {
          // Not skipped: the subscriber stops here, the event unacknowledged, and says why.
          m.nak();
          throw new TrellisError('E_DECODE', `event ${m.seq} of ${EVENTS_STREAM} cannot be decoded (${errorMessage(err)}): the subscription stopped before it; upgrade the subscriber or inspect the event`, { cause: err });
        }
        if (types && !types.has(event.type)) {
          m.ack();
          continue;
        }
        // A failing handler gets the same event again, in place and in order (later events wait),
        // after a back-off; the server is told the event is still being worked on meanwhile.
        const delivered: SubscribedEvent = { seq: m.seq, time: new Date(event.at), type: event.type, data: event.data, event };
        for (let attempt = 0; ; attempt++) {
          try {
            await handler(delivered);
            m.ack();
            break;
          } catch {
            if (stopping) {
              m.nak();
              break;
            }
            m.working();
            await new Promise((r) => setTimeout(r, Math.min(30_000, 250 * 2 ** Math.min(7, attempt))));
          }
        }
        if (stopping) break;
      }
    } finally {
      await nc.close().catch(() => undefined);
    }
  })();
  done.catch(() => undefined);

  return {
    done,
    async stop() {
      stopping = true;
      iterator.stop();
      await done.catch(() => undefined);
    },
  };
}
