import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { waitForLeafnodes } from '../../../src/natsd/index.js';

/**
 * Fault "a leaf server loses its JetStream store" (found by npm run test:faults): the secondary's
 * nats-server came back without the mirror, and nothing made it again; the secondary served its
 * last view forever. The replication monitor now re-creates the mirror, which copies the
 * primary's stream from the start, and the projector continues from its checkpoint.
 */
describe('fault: a leaf nats-server loses its JetStream store', () => {
  let cluster: TestCluster;
  const url = (dc: string) => cluster.agent(dc).httpUrl;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
  });
  after(async () => {
    await cluster.stop();
  });

  it('the mirror is re-created and the secondary converges, its view continuing from its checkpoint', async () => {
    const burst = (tag: string) => Promise.all(Array.from({ length: 20 }, (_, i) => http(url('dc1'), 'PUT', `/v1/connect/intentions/exact?source=${tag}-${i}&destination=db`, { Action: 'deny' })));
    assert.ok((await burst('before')).every((r) => r.status === 200));
    await waitFor(() => cluster.agent('dc2').view.appliedSeq() >= cluster.agent('dc1').view.appliedSeq() || undefined);
    const leaf = cluster.nats.servers.get('dc2')!;
    leaf.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(join(dirname(leaf.configPath), 'jetstream'), { recursive: true, force: true });
    await leaf.restart();
    await waitForLeafnodes(cluster.nats.servers.get('dc1')!.monitorUrl, 1);
    assert.ok((await burst('after')).every((r) => r.status === 200));
    const primaryIndex = cluster.agent('dc1').view.appliedSeq();
    await waitFor(() => cluster.agent('dc2').view.appliedSeq() >= primaryIndex || undefined, { timeoutMs: 30_000, message: () => JSON.stringify(cluster.agent('dc2').replication.status()) });
    assert.equal((await http(url('dc2'), 'GET', '/v1/connect/intentions/exact?source=after-19&destination=db')).status, 200);
    const status = (await http(url('dc2'), 'GET', '/v1/trellis/replication')).body as { Halted: boolean; MirrorActive: boolean };
    assert.equal(status.Halted, false);
  });
});
