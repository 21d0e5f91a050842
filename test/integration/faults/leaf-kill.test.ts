import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { waitForLeafnodes } from '../../../src/natsd/index.js';

/**
 * Fault "kill -9 a leaf nats-server" (found by npm run test:faults): the writer used to send
 * Nats-Expected-Last-Msg-Id with pipelined appends; a nats-server 2.9 mirror re-checks that header
 * against its own last message id, which it keeps in memory only, so after the leaf's restart the
 * mirror refused every later event ("last msgid mismatch") and the secondary never caught up.
 * Second defect, same fault: the projector's ordered consumer, lost with the killed server, failed
 * to recreate itself while JetStream was starting and waited forever; a watchdog now resubscribes.
 */
describe('fault: kill -9 a leaf nats-server while the primary pipelines appends', () => {
  let cluster: TestCluster;
  const url = (dc: string) => cluster.agent(dc).httpUrl;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
  });
  after(async () => {
    await cluster.stop();
  });

  it('the mirror resumes after the restart and the secondary converges', async () => {
    const burst = (tag: string) =>
      Promise.all(Array.from({ length: 40 }, (_, i) => http(url('dc1'), 'PUT', `/v1/connect/intentions/exact?source=${tag}-${i}&destination=db`, { Action: 'allow' })));
    assert.ok((await burst('before')).every((r) => r.status === 200));
    const leaf = cluster.nats.servers.get('dc2')!;
    leaf.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok((await burst('during')).every((r) => r.status === 200), 'the primary keeps writing');
    await leaf.restart();
    await waitForLeafnodes(cluster.nats.servers.get('dc1')!.monitorUrl, 1);
    assert.ok((await burst('after')).every((r) => r.status === 200));
    const primaryIndex = cluster.agent('dc1').view.appliedSeq();
    await waitFor(() => cluster.agent('dc2').view.appliedSeq() >= primaryIndex || undefined, {
      timeoutMs: 30_000,
      message: () => `dc2 applied ${cluster.agent('dc2').view.appliedSeq()} of ${primaryIndex}: ${JSON.stringify(cluster.agent('dc2').replication.status())}; leaf log: ${readFileSync(leaf.logPath, 'utf8').split('\n').filter((l) => /WRN|ERR/.test(l)).slice(-5).join(' | ')}`,
    });
    assert.equal((await http(url('dc2'), 'GET', '/v1/connect/intentions/exact?source=after-39&destination=db')).status, 200);
    assert.doesNotMatch(readFileSync(leaf.logPath, 'utf8'), /last msgid mismatch/);
  });
});
