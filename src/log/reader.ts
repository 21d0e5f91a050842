import type { JetStreamClient } from '@nats-io/jetstream';
import { EVENTS_STREAM, decodeEvent, type StoredEvent } from '../events/index.js';

/** An event as the HTTP feed shows it: its stream sequence, when it was decided, and the envelope. */
export interface FeedEvent extends StoredEvent {
  /** ISO time the primary decided the event (the envelope's `at`). */
  readonly time: string;
}

/**
 * Reads up to `max` events of the local stream (the primary's, or a secondary's mirror) from
 * `fromSeq` through `toSeq`, decoded, in order. An ordered consumer per read: no state on the
 * server outlives it.
 */
export async function readEvents(js: JetStreamClient, fromSeq: number, toSeq: number, max: number): Promise<FeedEvent[]> {
  const count = Math.min(max, toSeq - fromSeq + 1);
  if (count <= 0) return [];
  const consumer = await js.consumers.get(EVENTS_STREAM, { opt_start_seq: fromSeq });
  const out: FeedEvent[] = [];
  const messages = await consumer.fetch({ max_messages: count, expires: 5000 });
  for await (const m of messages) {
    const event = decodeEvent(m.data);
    out.push({ seq: m.seq, event, time: new Date(event.at).toISOString() });
    if (out.length >= count) break;
  }
  return out;
}
