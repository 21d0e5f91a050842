import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { TrellisError, type Logger } from '../common/index.js';
import { chainBreak, decodeEvent, eventHash, EVENTS_STREAM, GENESIS_PREV, type StoredEvent } from '../events/index.js';
import type { View } from '../view/index.js';

export interface ReplayProgress {
  readonly applied: number;
  readonly total: number;
}

export interface ReplayResult {
  /** The last sequence applied. */
  readonly seq: number;
  readonly events: number;
  readonly seconds: number;
}

/**
 * Rebuilds a view from sequence 1 of a datacenter's stream, verifying the hash chain, in batches,
 * up to `to` (a sequence, or the last event decided at or before a time) or the stream's end.
 */
export async function replayInto(
  { js, jsm, view, to, onProgress, batchSize = 2000 }: {
    js: JetStreamClient;
    jsm: JetStreamManager;
    view: View;
    to?: { readonly seq: number } | { readonly time: number };
    onProgress?: (p: ReplayProgress) => void;
    batchSize?: number;
    logger?: Logger;
  },
): Promise<ReplayResult> {
  if (view.appliedSeq() !== 0) throw new TrellisError('E_VALIDATION', `the target view already holds ${view.appliedSeq()} events: replay into an empty directory`);
  const last = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
  const total = to && 'seq' in to ? Math.min(to.seq, last) : last;
  const started = performance.now();
  if (total === 0) return { seq: 0, events: 0, seconds: 0 };
  const consumer = await js.consumers.get(EVENTS_STREAM, { opt_start_seq: 1 });
  const messages = await consumer.consume({ max_messages: 4096 });
  let expected = GENESIS_PREV;
  let batch: StoredEvent[] = [];
  let lastSeq = 0;
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
      batch.push({ seq: m.seq, event });
      lastSeq = m.seq;
      if (batch.length >= batchSize) await flush();
      if (m.seq >= total) break;
    }
    await flush();
  } finally {
    messages.stop();
  }
  return { seq: lastSeq, events: lastSeq, seconds: (performance.now() - started) / 1000 };
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
