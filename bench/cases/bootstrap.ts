import { join } from 'node:path';
import { DeliverPolicy } from '@nats-io/jetstream';
import { EVENTS_STREAM } from '../../src/events/index.js';
import { ensureStream, eventsMirrorDefinition, eventsStreamDefinition } from '../../src/log/index.js';
import { openView } from '../../src/view/index.js';
import { createProjector } from '../../src/projector/index.js';
import { silentLogger } from '../../src/common/index.js';
import { result, type BenchContext, type BenchResult } from '../lib.js';
import { fillStream, startBenchCluster } from './setup.js';

/**
 * bootstrap.seconds_per_million (issue 9): a brand-new secondary joining a primary whose stream
 * holds N events — its mirror created, copied across the leafnode link, and its projector folding
 * every event into a fresh view, concurrently, as an agent does at first start — scaled to one
 * million events. Baseline: another new secondary's mirror plus a raw ordered consumer reading it
 * from the start (the transport alone), in the same run.
 */
export async function benchBootstrap(ctx: BenchContext): Promise<BenchResult[]> {
  const total = ctx.quick ? 50_000 : 300_000;
  const cluster = await startBenchCluster(['dc1', 'dc2', 'dc3'], false);
  try {
    const primary = cluster.dc('dc1');
    await ensureStream(primary.jsm, eventsStreamDefinition(), silentLogger());
    await fillStream(primary, total);
    ctx.log(`primary stream filled with ${total} events`);

    // Baseline at dc2: a new mirror and a raw ordered consumer reading from sequence 1 as it fills.
    const raw = cluster.dc('dc2');
    const rawStart = performance.now();
    await ensureStream(raw.jsm, eventsMirrorDefinition('dc1'), silentLogger());
    const consumer = await raw.js.consumers.get(EVENTS_STREAM, { deliver_policy: DeliverPolicy.All });
    const messages = await consumer.consume({ max_messages: 4096 });
    let seen = 0;
    for await (const m of messages) {
      if (m.seq >= total) break;
      seen++;
    }
    const rawSeconds = (performance.now() - rawStart) / 1000;
    ctx.log(`raw: mirror + consume of ${total} (${seen + 1} messages) in ${rawSeconds.toFixed(2)} s`);

    // trellis at dc3: a new mirror and a projector into a fresh view, concurrently.
    const dc3 = cluster.dc('dc3');
    const view = openView({ path: join(cluster.dir, 'dc3-view'), logger: silentLogger() });
    const start = performance.now();
    await ensureStream(dc3.jsm, eventsMirrorDefinition('dc1'), silentLogger());
    const projector = createProjector({ js: dc3.js, view, logger: silentLogger() });
    projector.start();
    if (!(await view.waitForSeq(total, 600_000))) throw new Error(`bootstrap did not reach ${total}: ${JSON.stringify(projector.status())}`);
    const seconds = (performance.now() - start) / 1000;
    await projector.stop();
    await view.close();
    ctx.log(`trellis: mirror + projection of ${total} in ${seconds.toFixed(2)} s`);

    const perMillion = (s: number) => (s * 1_000_000) / total;
    return [
      result('bootstrap.seconds_per_million', perMillion(seconds), 's', perMillion(rawSeconds), { target: '<= 15', note: `${total} events, scaled` }),
      result('bootstrap.events_per_s', total / seconds, 'events/s', total / rawSeconds),
    ];
  } finally {
    await cluster.stop();
  }
}
