import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

describe('a WAN outage between dc1 and dc2', () => {
  let cluster: TestCluster;
  let dc1: string;
  let dc2: string;

  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
    dc1 = cluster.agent('dc1').httpUrl;
    dc2 = cluster.agent('dc2').httpUrl;
    await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=web&destination=db', { Action: 'deny' });
    await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=api&destination=db', { Action: 'allow' });
    await waitFor(async () => (await http(dc2, 'GET', '/v1/connect/intentions')).body instanceof Array && ((await http(dc2, 'GET', '/v1/connect/intentions')).body as unknown[]).length === 2);
  });
  after(async () => {
    await cluster.stop();
  });

  it('dc2 keeps answering reads, check and authorize, and writes fail fast with 503 naming the primary', async () => {
    await cluster.nats.servers.get('dc1')!.stop();
    const list = await http(dc2, 'GET', '/v1/connect/intentions');
    assert.equal(list.status, 200);
    assert.equal((list.body as unknown[]).length, 2);
    assert.deepEqual((await http(dc2, 'GET', '/v1/connect/intentions/check?source=web&destination=db')).body, { Allowed: false });
    assert.deepEqual((await http(dc2, 'GET', '/v1/connect/intentions/check?source=api&destination=db')).body, { Allowed: true });
    const trustDomain = cluster.agent('dc2').view.caState()?.TrustDomain;
    assert.ok(trustDomain, 'the CA replicated before the outage');
    const auth = await http(dc2, 'POST', '/v1/agent/connect/authorize', {
      Target: 'db',
      ClientCertURI: `spiffe://${trustDomain}/ns/default/dc/dc2/svc/api`,
    });
    assert.equal((auth.body as { Authorized: boolean }).Authorized, true);

    const started = performance.now();
    const write = await http(dc2, 'PUT', '/v1/connect/intentions/exact?source=new&destination=db', { Action: 'allow' });
    const took = performance.now() - started;
    assert.equal(write.status, 503, write.text);
    assert.match(write.text, /primary datacenter dc1 is unreachable/);
    assert.ok(took < 2000, `the write failed after ${Math.round(took)} ms`);
    const status = await waitFor(async () => {
      await cluster.agent('dc2').replication.refresh();
      const s = (await http(dc2, 'GET', '/v1/trellis/replication')).body as Record<string, unknown>;
      return s;
    });
    assert.equal(status.Halted, false);
  });

  it('when the WAN returns, replication resumes with nothing lost or duplicated', async () => {
    await cluster.nats.servers.get('dc1')!.restart();
    // The primary agent reconnects to its restarted server and accepts writes again.
    const res = await waitFor(
      async () => {
        const r = await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=after&destination=db', { Action: 'allow' });
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 20_000 },
    );
    assert.equal(res.body, true);
    const primaryList = (await http(dc1, 'GET', '/v1/connect/intentions')).body as Array<{ ID: string; ModifyIndex: number }>;
    const secondaryList = await waitFor(
      async () => {
        const l = (await http(dc2, 'GET', '/v1/connect/intentions')).body as Array<{ ID: string; ModifyIndex: number }>;
        return l.length === primaryList.length ? l : undefined;
      },
      { timeoutMs: 20_000 },
    );
    assert.deepEqual(secondaryList, primaryList);
    assert.equal(new Set(secondaryList.map((i) => i.ID)).size, secondaryList.length, 'no duplicates');
    assert.equal(cluster.agent('dc2').view.appliedSeq(), cluster.agent('dc1').view.appliedSeq());
    // Writes through dc2 work again.
    const fwd = await waitFor(async () => {
      const r = await http(dc2, 'PUT', '/v1/connect/intentions/exact?source=again&destination=db', { Action: 'deny' });
      return r.status === 200 ? r : undefined;
    }, { timeoutMs: 20_000 });
    assert.equal(fwd.body, true);
  });
});
