import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { encode } from '@msgpack/msgpack';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import fc from 'fast-check';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { makeTempDir } from '../../helpers/temp.js';
import { openView } from '../../../src/view/index.js';
import { createProjector } from '../../../src/projector/index.js';
import { createEventLog } from '../../../src/log/index.js';
import { silentLogger } from '../../../src/common/index.js';

describe('projector: checkpoint, halting, replay', () => {
  let cluster: TestCluster;
  let dc1: string;

  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
    dc1 = cluster.agent('dc1').httpUrl;
  });
  after(async () => {
    await cluster.stop();
  });

  it('an agent restarted resumes from its checkpoint without re-applying anything', async () => {
    for (let i = 0; i < 5; i++) await http(dc1, 'PUT', `/v1/connect/intentions/exact?source=r${i}&destination=db`, { Action: 'allow' });
    const seq = cluster.agent('dc1').view.appliedSeq();
    await waitFor(() => cluster.agent('dc2').view.appliedSeq() === seq);
    const digests = cluster.agent('dc2').view.tableDigests();
    const restarted = await cluster.restartAgent('dc2');
    assert.equal(restarted.view.appliedSeq(), seq, 'the checkpoint survived the restart');
    await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=r9&destination=db', { Action: 'deny' });
    await waitFor(() => restarted.view.appliedSeq() === seq + 1);
    const metrics = await http(restarted.httpUrl, 'GET', '/v1/agent/metrics?format=prometheus');
    // Only the one new event was applied by the restarted projector.
    assert.match(metrics.text, /trellis_projector_events_applied_total\{datacenter="dc2"\} 1\b/);
    assert.notDeepEqual(restarted.view.tableDigests(), digests);
  });

  it('property: replaying the stream from sequence 1 into an empty view equals the live view, byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('put', 'delete'), fc.integer({ min: 0, max: 4 }), fc.constantFrom('allow', 'deny')), { minLength: 1, maxLength: 8 }),
        async (ops) => {
          for (const [op, n, action] of ops) {
            const path = `/v1/connect/intentions/exact?source=p${n}&destination=replay`;
            const res = op === 'put' ? await http(dc1, 'PUT', path, { Action: action }) : await http(dc1, 'DELETE', path);
            assert.ok(res.status === 200 || res.status === 404, res.text);
          }
          const live = cluster.agent('dc1').view;
          const target = live.appliedSeq();
          const { js } = { js: jetstream(cluster.agent('dc1').nc, { domain: 'dc1' }) };
          const replayed = openView({ path: join(makeTempDir(), 'replay'), logger: silentLogger() });
          const projector = createProjector({ js, view: replayed, logger: silentLogger() });
          projector.start();
          assert.ok(await replayed.waitForSeq(target, 20_000));
          await projector.stop();
          assert.deepEqual(replayed.dump(), live.dump());
          // And the secondary, fed through its mirror, holds the same bytes too.
          await waitFor(() => cluster.agent('dc2').view.appliedSeq() >= target);
          assert.deepEqual(cluster.agent('dc2').view.tableDigests(), replayed.tableDigests());
          await replayed.close();
        },
      ),
      { numRuns: 5 },
    );
  });

  it('a corrupt event and a newer-schema event halt the projector, which keeps serving the last consistent view', async () => {
    const before = cluster.agent('dc2').view.appliedSeq();
    await waitFor(() => cluster.agent('dc2').view.appliedSeq() === cluster.agent('dc1').view.appliedSeq());
    const digests = cluster.agent('dc2').view.tableDigests();
    const nc = cluster.agent('dc1').nc;
    const log = createEventLog({ nc, jsm: await jetstreamManager(nc, { domain: 'dc1' }) });
    // Written around the primary's writer, as a bug or an attacker with stream access would.
    const last = await log.lastSeq();
    await log.appendRaw('trellis.events.intention.bogus', encode({ v: 99, type: 'IntentionDeleted', at: 0, by: 'x', data: { id: 'x' } }), { expectedLastSeq: last });
    const status = await waitFor(async () => {
      const s = (await http(cluster.agent('dc2').httpUrl, 'GET', '/v1/trellis/replication')).body as Record<string, unknown>;
      return s.Halted === true ? s : undefined;
    });
    assert.match(String(status.HaltReason), new RegExp(`sequence ${last + 1}.*schema version 99 is newer`));
    assert.equal(cluster.agent('dc2').view.appliedSeq(), last);
    assert.ok(last >= before);
    assert.deepEqual(cluster.agent('dc2').view.tableDigests(), digests, 'the view did not change');
    const reads = await http(cluster.agent('dc2').httpUrl, 'GET', '/v1/connect/intentions');
    assert.equal(reads.status, 200, 'reads keep being served');
    const metrics = await http(cluster.agent('dc2').httpUrl, 'GET', '/v1/agent/metrics?format=prometheus');
    assert.match(metrics.text, /trellis_projector_halted\{datacenter="dc2"\} 1/);

    // Garbage bytes halt a fresh projector the same way, at the first bad sequence.
    const fresh = openView({ path: join(makeTempDir(), 'fresh'), logger: silentLogger() });
    await log.appendRaw('trellis.events.intention.garbage', new Uint8Array([0xc1, 0xff]), { expectedLastSeq: last + 1 });
    const projector = createProjector({ js: jetstream(nc, { domain: 'dc1' }), view: fresh, logger: silentLogger() });
    projector.start();
    await waitFor(() => projector.status().halted);
    assert.equal(fresh.appliedSeq(), last, 'everything before the bad event was applied, nothing after');
    assert.match(projector.status().haltReason ?? '', new RegExp(`sequence ${last + 1}`));
    await projector.stop();
    await fresh.close();
  });
});
