import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { EVENTS_STREAM } from '../../src/events/index.js';
import { createEventLog, createWriter, ensureStream, eventsMirrorDefinition, eventsStreamDefinition } from '../../src/log/index.js';
import { openView } from '../../src/view/index.js';
import { createProjector } from '../../src/projector/index.js';
import { silentLogger } from '../../src/common/index.js';
import { createSnapshotStore, createSnapshotter, loadNewestSnapshot } from '../../src/snapshot/index.js';
import { result, type BenchContext, type BenchResult } from '../lib.js';
import { fillStream, startBenchCluster, type BenchCluster, type BenchDc } from './setup.js';

/** A new mirror at `dc` (from `startSeq`) plus a raw ordered consumer reading it to `last`: the transport alone. */
async function rawCatchUp(dc: BenchDc, last: number): Promise<number> {
  await dc.jsm.streams.delete(EVENTS_STREAM).catch(() => undefined);
  const start = performance.now();
  await ensureStream(dc.jsm, eventsMirrorDefinition('dc1'), silentLogger());
  const consumer = await dc.js.consumers.get(EVENTS_STREAM, { deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume({ max_messages: 4096 });
  for await (const m of messages) if (m.seq >= last) break;
  return (performance.now() - start) / 1000;
}

/**
 * What a brand-new secondary's agent does at first start, timed to a view caught up with `last`:
 * with `snapshot`, the primary's newest snapshot loaded and the mirror made from the sequence after
 * it; without, the mirror from sequence 1 and every event projected.
 */
async function trellisCatchUp(cluster: BenchCluster, dc: BenchDc, last: number, snapshot: boolean): Promise<{ seconds: number; from: number }> {
  await dc.jsm.streams.delete(EVENTS_STREAM).catch(() => undefined);
  const path = join(cluster.dir, `${dc.name}-view-${snapshot ? 's' : 'g'}`);
  rmSync(path, { recursive: true, force: true });
  const start = performance.now();
  const view = openView({ path, logger: silentLogger() });
  if (snapshot) await loadNewestSnapshot({ primaryJs: jetstream(dc.nc, { domain: 'dc1' }), view, logger: silentLogger() });
  const from = view.appliedSeq();
  await ensureStream(dc.jsm, eventsMirrorDefinition('dc1', from > 0 ? from + 1 : undefined), silentLogger());
  const projector = createProjector({ js: dc.js, view, logger: silentLogger() });
  projector.start();
  const reached = await view.waitForSeq(last, 900_000);
  const seconds = (performance.now() - start) / 1000;
  await projector.stop();
  await view.close();
  rmSync(path, { recursive: true, force: true });
  if (!reached) throw new Error(`bootstrap did not reach ${last}`);
  return { seconds, from };
}

/**
 * bootstrap.seconds_per_million (issue 9): a brand-new secondary joining a primary whose stream
 * holds N events, until its view has applied them all. The primary runs as an agent does: its view
 * projected, a snapshot every 10,000 events (the default), anchored in the log; the tail after the
 * newest snapshot is at most one interval. Measured at several stream lengths (the plot); the
 * figure is the longest, scaled to one million. Baselines, same run: the transport alone (a new
 * mirror + a raw ordered consumer from sequence 1), and trellis without snapshots.
 */
export async function benchBootstrap(ctx: BenchContext): Promise<BenchResult[]> {
  const lengths = ctx.quick ? [25_000, 50_000, 100_000] : [125_000, 250_000, 500_000, 1_000_000];
  const interval = 10_000;
  const cluster = await startBenchCluster(['dc1', 'dc2', 'dc3'], false);
  const points: Array<{ series: string; x: number; y: number }> = [];
  const out: BenchResult[] = [];
  try {
    const primary = cluster.dc('dc1');
    await ensureStream(primary.jsm, eventsStreamDefinition(), silentLogger());
    // The primary: a projector into its view, the writer (it appends the SnapshotTaken anchors) and the snapshotter.
    const primaryView = openView({ path: join(cluster.dir, 'dc1-view'), logger: silentLogger() });
    const projector = createProjector({ js: primary.js, view: primaryView, logger: silentLogger() });
    projector.start();
    let filled = 0;
    for (const length of lengths) {
      // Appended through the raw appender (fast set-up) while the primary's agent is not writing.
      await fillStream(primary, length - filled, filled);
      filled = length;
      if (!(await primaryView.waitForSeq(filled, 900_000))) throw new Error('the primary view did not catch up');
      const eventLog = createEventLog({ nc: primary.nc, jsm: primary.jsm });
      const writer = createWriter({ log: eventLog, view: primaryView, logger: silentLogger() });
      const snapshotter = createSnapshotter({ datacenter: 'dc1', view: primaryView, writer, store: await createSnapshotStore(primary.js), logger: silentLogger(), intervalEvents: 0, retain: 2 });
      // The newest snapshot is one interval behind the head: the worst case under the default policy.
      const snap = await snapshotter.take();
      await snapshotter.stop();
      await writer.close();
      eventLog.close();
      filled += 1; // the anchor
      await fillStream(primary, interval, filled);
      filled += interval;
      ctx.log(`stream: ${filled} events; snapshot as of ${snap?.seq} (${snap?.rows} rows, ${snap?.size} bytes)`);

      const raw = await rawCatchUp(cluster.dc('dc2'), filled);
      const genesis = await trellisCatchUp(cluster, cluster.dc('dc3'), filled, false);
      const fromSnapshot = await trellisCatchUp(cluster, cluster.dc('dc3'), filled, true);
      ctx.log(`${filled} events: raw ${raw.toFixed(2)} s, trellis from sequence 1 ${genesis.seconds.toFixed(2)} s, from the snapshot at ${fromSnapshot.from} ${fromSnapshot.seconds.toFixed(2)} s`);
      points.push(
        { series: 'trellis, from the newest snapshot', x: filled, y: fromSnapshot.seconds },
        { series: 'trellis, from sequence 1', x: filled, y: genesis.seconds },
        { series: 'raw mirror + consumer from sequence 1', x: filled, y: raw },
      );
      if (length === lengths[lengths.length - 1]) {
        const perMillion = (s: number) => (s * 1_000_000) / filled;
        const note = filled >= 1_000_000 ? `${filled} events` : `${filled} events, scaled`;
        out.push(
          result('bootstrap.seconds_per_million', perMillion(fromSnapshot.seconds), 's', perMillion(raw), { target: '<= 15', note: `${note}; snapshot + tail of ${filled - fromSnapshot.from}` }),
          result('bootstrap.no_snapshot.seconds_per_million', perMillion(genesis.seconds), 's', perMillion(raw), { note }),
        );
      }
    }
    await projector.stop();
    await primaryView.close();
  } finally {
    await cluster.stop();
  }
  ctx.series({ name: 'bootstrap-vs-length', title: 'New secondary: time to a caught-up view vs stream length', x: { label: 'events in the stream' }, y: { label: 'seconds' }, points });
  return out;
}
