import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';

/**
 * Fault "an agent restarted right after it started" (found by the model-based test): stop() came
 * while the projector was still creating its consumer, saw no subscription to end, and then waited
 * for a subscription that started afterwards and never ended. The agent never stopped.
 */
describe('fault: an agent stopped right after it started', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
  });
  after(async () => {
    await cluster.stop();
  });

  it('stops, every time, and serves again', async () => {
    for (let i = 0; i < 5; i++) {
      const dc = i % 2 ? 'dc1' : 'dc2';
      const stopped = Promise.race([cluster.stopAgent(dc).then(() => 'stopped'), new Promise((r) => setTimeout(() => r('hung'), 10_000))]);
      assert.equal(await stopped, 'stopped', `restart ${i} of ${dc}`);
      await cluster.startAgentFor(dc);
    }
    assert.equal((await http(cluster.agent('dc2').httpUrl, 'PUT', '/v1/connect/intentions/exact?source=after&destination=db', { Action: 'allow' })).status, 200);
  });
});
