import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { encodeEvent, EVENTS_STREAM, type TrellisEvent } from '../../src/events/index.js';
import { createEventLog, createWriter } from '../../src/log/index.js';
import { openView } from '../../src/view/index.js';
import { createProjector } from '../../src/projector/index.js';
import { silentLogger } from '../../src/common/index.js';
import { result, type BenchContext, type BenchResult } from '../lib.js';
import { startBenchCluster } from './setup.js';

function sampleEvent(i: number): TrellisEvent {
  return {
    v: 1,
    type: 'IntentionCreated',
    at: Date.now(),
    by: 'bench',
    data: {
      intention: {
        ID: randomUUID(),
        SourceNS: 'default',
        SourceName: `web-${i}`,
        DestinationNS: 'default',
        DestinationName: `db-${i}`,
        SourceType: 'consul',
        Action: 'allow',
        Description: '',
        Meta: {},
        Precedence: 9,
        CreatedAt: Date.now(),
        UpdatedAt: Date.now(),
      },
    },
  };
}

/**
 * append.events_per_s: the primary's whole write path below HTTP (decide, append with expected
 * sequence, pipelined, answered once the primary's projector applied it), against raw JetStream
 * async publishes of the same bytes (256 in flight); the writer is driven by 1,024 concurrent
 * requests, enough to keep its pipeline full.
 */
export async function benchAppend(ctx: BenchContext): Promise<BenchResult[]> {
  const window = 256;
  const cluster = await startBenchCluster(['dc1']);
  try {
    const { js, jsm } = cluster.dc('dc1');
    // Baseline: raw JetStream publishes of the same bytes into a plain stream, `window` in flight,
    // acknowledgements collected on one inbox (the fastest way nats.js offers to publish acked).
    // On a subject and inbox the primary agent's NATS identity may use (trellis.rpc.*.*.*.dc1, _INBOX.dc1.>).
    const rawSubject = 'trellis.rpc.dc1.bench.raw.dc1';
    await jsm.streams.add({ name: 'BENCH_RAW', subjects: [rawSubject] });
    const payload = encodeEvent(sampleEvent(0));
    const { nc } = cluster.dc('dc1');
    let acked = 0;
    nc.subscribe('_INBOX.dc1.bench.raw.*', { callback: () => void acked++ });
    let sent = 0;
    const rawStart = performance.now();
    const rawDeadline = rawStart + ctx.seconds * 1000;
    while (performance.now() < rawDeadline) {
      nc.publish(rawSubject, payload, { reply: `_INBOX.dc1.bench.raw.${sent++}` });
      if (sent - acked >= window) {
        await nc.flush();
        while (sent - acked >= window) await new Promise((r) => setImmediate(r));
      }
    }
    while (acked < sent) await new Promise((r) => setImmediate(r));
    const raw = acked / ((performance.now() - rawStart) / 1000);
    ctx.log(`raw publish: ${Math.round(raw)}/s`);

    const view = openView({ path: join(cluster.dir, 'view'), logger: silentLogger() });
    const projector = createProjector({ js, view, logger: silentLogger(), stream: EVENTS_STREAM });
    projector.start();
    // The writer's capacity: enough concurrent requests to keep its pipeline full, as under load.
    const submitters = 1024;
    const writer = createWriter({ log: createEventLog({ nc: cluster.dc('dc1').nc, jsm }), view, logger: silentLogger(), maxInflight: submitters });
    let done = 0;
    let i = 0;
    const start = performance.now();
    const deadline = start + ctx.seconds * 1000;
    const worker = async () => {
      while (performance.now() < deadline) {
        const n = i++;
        await writer.submit(`bench-${n}`, () => ({ event: sampleEvent(n), result: n }));
        done++;
      }
    };
    await Promise.all(Array.from({ length: submitters }, worker));
    const rate = done / ((performance.now() - start) / 1000);
    await writer.close();
    await projector.stop();
    await view.close();
    return [result('append.events_per_s', rate, 'events/s', raw, { target: '>= 20,000' })];
  } finally {
    await cluster.stop();
  }
}
