import { join } from 'node:path';
import { chainEvent, eventSubject, EVENTS_STREAM, GENESIS_PREV, type TrellisEvent } from '../../src/events/index.js';
import { createEventLog } from '../../src/log/index.js';
import { openView } from '../../src/view/index.js';
import { createProjector } from '../../src/projector/index.js';
import { silentLogger } from '../../src/common/index.js';
import { percentile, result, type BenchContext, type BenchResult } from '../lib.js';
import { startBenchCluster } from './setup.js';

/**
 * replication.lag_p99_ms: from the start of a primary append to the event being visible in a
 * secondary's view (across the leafnode link, mirror, projector, LMDB), at a steady 1,000 events/s.
 * Baseline: the same events' arrival at a raw ordered consumer on the secondary's mirror.
 */
export async function benchReplication(ctx: BenchContext): Promise<BenchResult[]> {
  const rate = 1000;
  const cluster = await startBenchCluster(['dc1', 'dc2']);
  try {
    const dc1 = cluster.dc('dc1');
    const dc2 = cluster.dc('dc2');
    const log = createEventLog({ nc: dc1.nc, jsm: dc1.jsm });
    const sentAt = new Map<number, number>();
    const viewAt = new Map<number, number>();
    const rawAt = new Map<number, number>();

    const view = openView({ path: join(cluster.dir, 'dc2-view'), logger: silentLogger() });
    view.onApplied((batch) => {
      const now = performance.now();
      for (let s = batch.fromSeq; s <= batch.toSeq; s++) viewAt.set(s, now);
    });
    const projector = createProjector({ js: dc2.js, view, logger: silentLogger() });
    projector.start();
    const rawConsumer = await dc2.js.consumers.get(EVENTS_STREAM, { opt_start_seq: 1 });
    const rawMessages = await rawConsumer.consume({ max_messages: 512 });
    const rawDone = (async () => {
      for await (const m of rawMessages) rawAt.set(m.seq, performance.now());
    })();

    const total = Math.round(ctx.seconds * rate);
    const start = performance.now();
    const acks: Promise<unknown>[] = [];
    let prev = GENESIS_PREV;
    for (let k = 1; k <= total; k++) {
      const due = start + (k * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const event: TrellisEvent = { v: 1, type: 'IntentionDeleted', at: Date.now(), by: 'bench', data: { id: `id-${k}` } };
      sentAt.set(k, performance.now());
      const chained = chainEvent(event, prev);
      prev = chained.hash;
      acks.push(log.appendRaw(eventSubject(event), chained.bytes, { expectedLastSeq: k - 1 }));
    }
    await Promise.all(acks);
    await view.waitForSeq(total, 30_000);
    const deadline = Date.now() + 10_000;
    while (rawAt.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    rawMessages.stop();
    await rawDone;
    await projector.stop();
    await view.close();

    // The first events include connection warm-up; measure the steady state.
    const skip = Math.min(100, Math.floor(total / 10));
    const lags = (at: Map<number, number>) =>
      [...sentAt.entries()].filter(([s]) => s > skip && at.has(s)).map(([s, t]) => (at.get(s) ?? t) - t).sort((a, b) => a - b);
    const viewLags = lags(viewAt);
    const rawLags = lags(rawAt);
    return [
      result('replication.lag_p99_ms', percentile(viewLags, 99), 'ms', percentile(rawLags, 99), { target: '<= 5' }),
      result('replication.lag_p50_ms', percentile(viewLags, 50), 'ms', percentile(rawLags, 50)),
    ];
  } finally {
    await cluster.stop();
  }
}
