import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { JetStreamApiError } from '@nats-io/jetstream';
import { TimeoutError, NoRespondersError } from '@nats-io/nats-core';
import { TrellisError } from '../common/index.js';
import { encodeEvent, eventSubject, EVENTS_STREAM, type TrellisEvent } from '../events/index.js';

const WRONG_LAST_SEQUENCE = 10071;

export interface AppendOptions {
  /** The stream sequence the append expects to follow (optimistic concurrency). */
  readonly expectedLastSeq: number;
  /** Deduplicates retries of the same request within the stream's duplicate window. */
  readonly msgId?: string;
  /** @default 5000 */
  readonly timeoutMs?: number;
}

export interface AppendResult {
  readonly seq: number;
  readonly duplicate: boolean;
}

/** The primary's append-only event log. */
export interface EventLog {
  append(event: TrellisEvent, options: AppendOptions): Promise<AppendResult>;
  /** Appends raw bytes on a subject; for tools and tests that must write what the codec would refuse. */
  appendRaw(subject: string, bytes: Uint8Array, options: AppendOptions): Promise<AppendResult>;
  lastSeq(): Promise<number>;
}

export interface EventLogDeps {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** @default TRELLIS_EVENTS */
  readonly stream?: string;
}

export function createEventLog({ js, jsm, stream = EVENTS_STREAM }: EventLogDeps): EventLog {
  async function appendRaw(subject: string, bytes: Uint8Array, options: AppendOptions): Promise<AppendResult> {
    try {
      const ack = await js.publish(subject, bytes, {
        expect: { lastSequence: options.expectedLastSeq, streamName: stream },
        ...(options.msgId === undefined ? {} : { msgID: options.msgId }),
        timeout: options.timeoutMs ?? 5000,
      });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE) {
        throw new TrellisError('E_CONFLICT', `append expected last sequence ${options.expectedLastSeq}: ${err.message}`, { cause: err });
      }
      if (err instanceof TimeoutError || err instanceof NoRespondersError) {
        throw new TrellisError('E_UNAVAILABLE', `event stream ${stream} did not acknowledge the append: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }
  return {
    append: (event, options) => appendRaw(eventSubject(event), encodeEvent(event), options),
    appendRaw,
    async lastSeq() {
      const info = await jsm.streams.info(stream);
      return info.state.last_seq;
    },
  };
}
