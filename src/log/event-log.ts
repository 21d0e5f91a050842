import { headers as natsHeaders, nuid, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import type { JetStreamManager } from '@nats-io/jetstream';
import { TrellisError } from '../common/index.js';
import { chainEvent, encodeEvent, eventHash, eventSubject, EVENTS_STREAM, GENESIS_PREV, type TrellisEvent } from '../events/index.js';

const WRONG_LAST_SEQUENCE = 10071;
const WRONG_LAST_MSG_ID = 10070;

export interface AppendOptions {
  /** The stream sequence the append expects to follow (optimistic concurrency). */
  readonly expectedLastSeq: number;
  /** Deduplicates retries of the same request within the stream's duplicate window. */
  readonly msgId?: string;
  /**
   * The message id the stream's last message must carry. A pipelined append sets the previous
   * append's id: the expected sequence alone would accept a foreign event at that sequence.
   */
  readonly expectedLastMsgId?: string;
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
  /** The hash the event after `seq` must link to (GENESIS_PREV for seq 0), from the stored bytes. */
  hashAt(seq: number): Promise<string>;
  /** Appends one event linked to the stream's last one (not pipelined): for genesis, tools and tests. */
  appendChained(event: TrellisEvent, options?: { msgId?: string }): Promise<AppendResult>;
  close(): void;
}

export interface EventLogDeps {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  /** @default TRELLIS_EVENTS */
  readonly stream?: string;
}

interface PendingAppend {
  readonly resolve: (r: AppendResult) => void;
  readonly reject: (e: unknown) => void;
  readonly deadline: number;
  readonly expectedLastSeq: number;
}

interface PubAckBody {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code?: number; err_code?: number; description?: string };
}

/**
 * Appends are plain publishes with JetStream's expectation headers and a reply subject under one
 * inbox subscription: many can be in flight without a request (and a timer) per message, which is
 * what lets one writer pipeline at several times the rate of `js.publish`. JetStream checks
 * `Nats-Expected-Last-Sequence` in order, so a pipelined append succeeds only if all before it did.
 */
export function createEventLog({ nc, jsm, stream = EVENTS_STREAM }: EventLogDeps): EventLog {
  // Under the connection's inbox prefix: the only inbox its credentials may subscribe to.
  // (nats.js keeps it on the implementation, as @nats-io/jetstream reads it, not on the interface.)
  const inboxPrefix = (nc as unknown as { options?: { inboxPrefix?: string } }).options?.inboxPrefix ?? '_INBOX';
  const prefix = `${inboxPrefix}.trellis.append.${nuid.next()}`;
  const pending = new Map<string, PendingAppend>();
  let counter = 0;
  let sub: Subscription | undefined;
  let sweeper: NodeJS.Timeout | undefined;

  function settle(msg: Msg): void {
    const id = msg.subject.slice(prefix.length + 1);
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (msg.headers?.code === 503 || msg.data.length === 0) {
      p.reject(new TrellisError('E_UNAVAILABLE', `event stream ${stream} is not reachable (no responders)`));
      return;
    }
    let ack: PubAckBody;
    try {
      ack = JSON.parse(new TextDecoder().decode(msg.data)) as PubAckBody;
    } catch (err) {
      p.reject(new TrellisError('E_INTERNAL', `unreadable acknowledgement from ${stream}`, { cause: err }));
      return;
    }
    if (ack.error) {
      const description = ack.error.description ?? 'append refused';
      p.reject(
        ack.error.err_code === WRONG_LAST_SEQUENCE || ack.error.err_code === WRONG_LAST_MSG_ID
          ? new TrellisError('E_CONFLICT', `append expected last sequence ${p.expectedLastSeq}: ${description}`)
          : new TrellisError('E_UNAVAILABLE', `event stream ${stream} refused the append: ${description}`),
      );
      return;
    }
    if (ack.stream !== stream || typeof ack.seq !== 'number') {
      p.reject(new TrellisError('E_INTERNAL', `append acknowledged by ${ack.stream ?? 'nothing'}, not ${stream}`));
      return;
    }
    p.resolve({ seq: ack.seq, duplicate: ack.duplicate === true });
  }

  function ensureSubscribed(): void {
    if (sub) return;
    sub = nc.subscribe(`${prefix}.*`, { callback: (_err, msg) => settle(msg) });
    sweeper = setInterval(() => {
      const now = Date.now();
      for (const [id, p] of pending) {
        if (p.deadline <= now) {
          pending.delete(id);
          p.reject(new TrellisError('E_UNAVAILABLE', `event stream ${stream} did not acknowledge the append in time`));
        }
      }
    }, 100);
    sweeper.unref();
  }

  function appendRaw(subject: string, bytes: Uint8Array, options: AppendOptions): Promise<AppendResult> {
    ensureSubscribed();
    const id = String(++counter);
    const h = natsHeaders();
    h.set('Nats-Expected-Stream', stream);
    h.set('Nats-Expected-Last-Sequence', String(options.expectedLastSeq));
    if (options.msgId !== undefined) h.set('Nats-Msg-Id', options.msgId);
    if (options.expectedLastMsgId !== undefined) h.set('Nats-Expected-Last-Msg-Id', options.expectedLastMsgId);
    return new Promise<AppendResult>((resolve, reject) => {
      pending.set(id, { resolve, reject, deadline: Date.now() + (options.timeoutMs ?? 5000), expectedLastSeq: options.expectedLastSeq });
      try {
        nc.publish(subject, bytes, { reply: `${prefix}.${id}`, headers: h });
      } catch (err) {
        pending.delete(id);
        reject(new TrellisError('E_UNAVAILABLE', `cannot publish to ${stream}: ${(err as Error).message}`, { cause: err }));
      }
    });
  }

  async function hashAt(seq: number): Promise<string> {
    if (seq === 0) return GENESIS_PREV;
    const m = await jsm.streams.getMessage(stream, { seq });
    if (!m) throw new TrellisError('E_INTERNAL', `event ${seq} of ${stream} cannot be read to continue the hash chain`);
    return eventHash(m.data);
  }
  const lastSeq = async () => (await jsm.streams.info(stream)).state.last_seq;

  return {
    append: (event, options) => appendRaw(eventSubject(event), encodeEvent(event), options),
    appendRaw,
    lastSeq,
    hashAt,
    async appendChained(event, options = {}) {
      const last = await lastSeq();
      const { bytes } = chainEvent(event, await hashAt(last));
      return appendRaw(eventSubject(event), bytes, { expectedLastSeq: last, ...(options.msgId ? { msgId: options.msgId } : {}) });
    },
    close() {
      if (sweeper) clearInterval(sweeper);
      sub?.unsubscribe();
      for (const p of pending.values()) p.reject(new TrellisError('E_UNAVAILABLE', 'the event log is closed'));
      pending.clear();
    },
  };
}
