import { join } from 'node:path';
import { decodeEvent, EVENTS_STREAM } from '../../src/events/index.js';
import { openView } from '../../src/view/index.js';
import { createProjector } from '../../src/projector/index.js';
import { replayInto, verifyChain } from '../../src/audit/index.js';
import { subscribe } from '../../src/subscribe/index.js';
import { silentLogger } from '../../src/common/index.js';
import { result, type BenchContext, type BenchResult } from '../lib.js';
import { fillStream, startBenchCluster } from './setup.js';

/**
 * projection.events_per_s: a fresh view catching up a stream of N events through the projector
 * (decode, chain check, evolve, LMDB batch + checkpoint), against a raw ordered consume + decode of
 * the same stream; then replay.events_per_s, audit_verify.events_per_s and subscribe.events_per_s
 * (durable consumer, one ack per event) over the same stream and baseline.
 */
export async function benchProjection(ctx: BenchContext): Promise<BenchResult[]> {
  const total = ctx.quick ? 30_000 : 200_000;
  const cluster = await startBenchCluster(['dc1']);
  try {
    const { js, jsm } = cluster.dc('dc1');
    await fillStream(cluster.dc('dc1'), total);
    ctx.log(`stream filled with ${total} events`);

    // Baseline: raw ordered consumer + decode.
    const rawStart = performance.now();
    {
      const consumer = await js.consumers.get(EVENTS_STREAM, { opt_start_seq: 1 });
      const messages = await consumer.consume({ max_messages: 1000 });
      let n = 0;
      for await (const m of messages) {
        decodeEvent(m.data);
        if (++n >= total) break;
      }
      messages.stop();
    }
    const raw = total / ((performance.now() - rawStart) / 1000);

    const view = openView({ path: join(cluster.dir, 'view'), logger: silentLogger() });
    const projector = createProjector({ js, view, logger: silentLogger() });
    const start = performance.now();
    projector.start();
    await view.waitForSeq(total, 600_000);
    const rate = total / ((performance.now() - start) / 1000);
    await projector.stop();
    await view.close();

    // The same stream, replayed into a fresh view by `trellis replay` (hash chain checked).
    const replayView = openView({ path: join(cluster.dir, 'replay'), logger: silentLogger() });
    const replayed = await replayInto({ js, jsm, view: replayView });
    await replayView.close();

    // `trellis audit verify`: decode and check every link.
    let t = performance.now();
    const verified = await verifyChain(js, jsm);
    const verifyRate = total / ((performance.now() - t) / 1000);
    if (!verified.ok) throw new Error(`bench stream failed verification: ${verified.reason}`);

    // A durable subscriber acknowledging every event after its (empty) handler.
    let received = 0;
    let done: () => void = () => undefined;
    const all = new Promise<void>((r) => (done = r));
    t = performance.now();
    const sub = await subscribe({ servers: cluster.dc('dc1').url, credentials: cluster.dc('dc1').readerCreds, datacenter: 'dc1', name: 'bench', from: 'start', maxInFlight: 1024 }, () => {
      if (++received >= total) done();
    });
    await all;
    const subscribeRate = total / ((performance.now() - t) / 1000);
    await sub.stop();
    return [
      result('projection.events_per_s', rate, 'events/s', raw, { target: '>= 100,000' }),
      result('replay.events_per_s', replayed.events / replayed.seconds, 'events/s', raw, { target: '>= 100,000' }),
      result('audit_verify.events_per_s', verifyRate, 'events/s', raw),
      result('subscribe.events_per_s', subscribeRate, 'events/s', raw, { note: 'with an ack per event' }),
    ];
  } finally {
    await cluster.stop();
  }
}
