import { join } from 'node:path';
import type { ConsumerMessages } from '@nats-io/jetstream';
import { chainEvent, eventSubject, EVENTS_STREAM, GENESIS_PREV, type TrellisEvent } from '../../src/events/index.js';
import { createEventLog, type EventLog } from '../../src/log/index.js';
import { openView, type View } from '../../src/view/index.js';
import { createProjector, type Projector } from '../../src/projector/index.js';
import { silentLogger } from '../../src/common/index.js';
import { percentile, result, type BenchContext, type BenchResult } from '../lib.js';
import { startBenchCluster, type BenchCluster } from './setup.js';

interface Secondary {
  readonly view: View;
  readonly projector: Projector;
  readonly raw: ConsumerMessages | undefined;
  readonly rawDone: Promise<void>;
  readonly viewAt: Map<number, number>;
  readonly rawAt: Map<number, number>;
}

/** At each secondary: a projector into a fresh view (trellis) and a raw ordered consumer on the same mirror (baseline). */
async function watchSecondaries(cluster: BenchCluster, names: readonly string[], modes: ReadonlySet<'trellis' | 'raw'> = new Set(['trellis', 'raw'])): Promise<Secondary[]> {
  const out: Secondary[] = [];
  for (const name of names) {
    const dc = cluster.dc(name);
    const viewAt = new Map<number, number>();
    const rawAt = new Map<number, number>();
    const view = openView({ path: join(cluster.dir, `${name}-view-${[...modes].join('-')}`), logger: silentLogger() });
    view.onApplied((batch) => {
      const now = performance.now();
      for (let s = batch.fromSeq; s <= batch.toSeq; s++) viewAt.set(s, now);
    });
    const projector = createProjector({ js: dc.js, view, logger: silentLogger() });
    if (modes.has('trellis')) projector.start();
    const raw = modes.has('raw') ? await (await dc.js.consumers.get(EVENTS_STREAM, { opt_start_seq: 1 })).consume({ max_messages: 512 }) : undefined;
    const rawDone = raw
      ? (async () => {
          for await (const m of raw) rawAt.set(m.seq, performance.now());
        })()
      : Promise.resolve();
    out.push({ view, projector, raw, rawDone, viewAt, rawAt });
  }
  return out;
}

async function stopSecondaries(secondaries: readonly Secondary[]): Promise<void> {
  for (const s of secondaries) {
    s.raw?.stop();
    await s.rawDone;
    await s.projector.stop();
    await s.view.close();
  }
}

/** Appends at a steady `rate` for `seconds` from sequence `from`; lags (ms) at every secondary, pooled. */
async function lagAt(
  log: EventLog,
  secondaries: readonly Secondary[],
  rate: number,
  seconds: number,
  from: { seq: number; prev: string },
  waitFor: ReadonlyArray<'view' | 'raw'> = ['view', 'raw'],
): Promise<{ view: number[]; raw: number[] }> {
  const total = Math.round(seconds * rate);
  const sentAt = new Map<number, number>();
  const start = performance.now();
  const acks: Promise<unknown>[] = [];
  const first = from.seq + 1;
  for (let k = 0; k < total; k++) {
    const due = start + (k * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const seq = first + k;
    const event: TrellisEvent = { v: 1, type: 'IntentionDeleted', at: Date.now(), by: 'bench', data: { id: `id-${seq}` } };
    sentAt.set(seq, performance.now());
    const chained = chainEvent(event, from.prev);
    from.prev = chained.hash;
    acks.push(log.appendRaw(eventSubject(event), chained.bytes, { expectedLastSeq: seq - 1 }));
  }
  await Promise.all(acks);
  from.seq = first + total - 1;
  if (waitFor.includes('view')) for (const s of secondaries) await s.view.waitForSeq(from.seq, 30_000);
  const deadline = Date.now() + 10_000;
  while (waitFor.includes('raw') && secondaries.some((s) => !s.rawAt.has(from.seq)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  // The first events of a step include the change of pace; measure the steady state.
  const skip = first + Math.min(100, Math.floor(total / 10));
  const lags = (pick: (s: Secondary) => Map<number, number>) =>
    secondaries
      .flatMap((s) => [...sentAt.entries()].filter(([seq]) => seq >= skip && pick(s).has(seq)).map(([seq, t]) => (pick(s).get(seq) ?? t) - t))
      .sort((a, b) => a - b);
  return { view: lags((s) => s.viewAt), raw: lags((s) => s.rawAt) };
}

/**
 * replication.lag_p99_ms: from the start of a primary append to the event being visible in a
 * secondary's view (across the leafnode link, mirror, projector, LMDB), at a steady 1,000 events/s;
 * the same at other rates for the plot (lag vs write rate), and with 8 secondaries on one hub (8 leaf
 * nats-servers on this machine). Baseline: the same events' arrival at a raw ordered consumer on each
 * secondary's mirror, measured at the same time.
 */
export async function benchReplication(ctx: BenchContext): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const rates = ctx.quick ? [250, 1000, 2000, 4000] : [250, 500, 1000, 2000, 4000, 8000];
  const points: Array<{ series: string; x: number; y: number }> = [];
  {
    const cluster = await startBenchCluster(['dc1', 'dc2']);
    try {
      const log = createEventLog({ nc: cluster.dc('dc1').nc, jsm: cluster.dc('dc1').jsm });
      const secondaries = await watchSecondaries(cluster, ['dc2']);
      const from = { seq: 0, prev: GENESIS_PREV };
      for (const rate of rates) {
        const lags = await lagAt(log, secondaries, rate, ctx.seconds, from);
        ctx.log(`${rate} events/s: view p50 ${percentile(lags.view, 50).toFixed(2)} p99 ${percentile(lags.view, 99).toFixed(2)} ms, raw p50 ${percentile(lags.raw, 50).toFixed(2)} p99 ${percentile(lags.raw, 99).toFixed(2)} ms`);
        points.push({ series: 'trellis view p99', x: rate, y: percentile(lags.view, 99) }, { series: 'raw mirror consumer p99', x: rate, y: percentile(lags.raw, 99) });
        points.push({ series: 'trellis view p50', x: rate, y: percentile(lags.view, 50) }, { series: 'raw mirror consumer p50', x: rate, y: percentile(lags.raw, 50) });
        if (rate === 1000) {
          out.push(
            result('replication.lag_p99_ms', percentile(lags.view, 99), 'ms', percentile(lags.raw, 99), { target: '<= 10', note: '1,000 events/s, 1 secondary' }),
            result('replication.lag_p50_ms', percentile(lags.view, 50), 'ms', percentile(lags.raw, 50), { note: '1,000 events/s, 1 secondary' }),
          );
        }
      }
      await stopSecondaries(secondaries);
      log.close();
    } finally {
      await cluster.stop();
    }
  }
  ctx.series({ name: 'lag-vs-rate', title: 'Replication lag vs write rate (1 secondary)', x: { label: 'writes per second', scale: 'log' }, y: { label: 'lag (ms)', scale: 'log' }, points });

  // Eight secondaries on one hub, all on this machine (9 nats-servers): first 8 projectors into 8
  // views, then, at the same rate on the same mirrors, 8 raw ordered consumers (the baseline), one
  // pass after the other so that neither load slows the other.
  const names = Array.from({ length: 9 }, (_, i) => `dc${i + 1}`);
  const cluster = await startBenchCluster(names);
  try {
    const log = createEventLog({ nc: cluster.dc('dc1').nc, jsm: cluster.dc('dc1').jsm });
    const from = { seq: 0, prev: GENESIS_PREV };
    const views = await watchSecondaries(cluster, names.slice(1), new Set(['trellis']));
    const trellis = (await lagAt(log, views, 1000, ctx.seconds, from, ['view'])).view;
    await stopSecondaries(views);
    const raws = await watchSecondaries(cluster, names.slice(1), new Set(['raw']));
    // The raw consumers read from sequence 1: let them reach the head before the pass.
    for (const r of raws) while (!r.rawAt.has(from.seq)) await new Promise((resolve) => setTimeout(resolve, 20));
    const raw = (await lagAt(log, raws, 1000, ctx.seconds, from, ['raw'])).raw;
    await stopSecondaries(raws);
    ctx.log(`8 secondaries at 1,000 events/s: views p50 ${percentile(trellis, 50).toFixed(2)} p99 ${percentile(trellis, 99).toFixed(2)} ms; raw consumers p50 ${percentile(raw, 50).toFixed(2)} p99 ${percentile(raw, 99).toFixed(2)} ms`);
    out.push(
      result('replication.8_secondaries.lag_p99_ms', percentile(trellis, 99), 'ms', percentile(raw, 99), { target: '<= 10', note: '1,000 events/s, 8 leaf nats-servers on one hub on this 2-core machine, views pooled; baseline a separate pass' }),
      result('replication.8_secondaries.lag_p50_ms', percentile(trellis, 50), 'ms', percentile(raw, 50)),
    );
    log.close();
  } finally {
    await cluster.stop();
  }
  return out;
}
