import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

interface ConsulIntention {
  ID: string;
  SourceName: string;
  DestinationName: string;
  Action: string;
  Precedence: number;
  Description: string;
  CreateIndex: number;
  ModifyIndex: number;
}

describe('intentions replicate from the primary to a secondary', () => {
  let cluster: TestCluster;
  let dc1: string;
  let dc2: string;

  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
    dc1 = cluster.agent('dc1').httpUrl;
    dc2 = cluster.agent('dc2').httpUrl;
  });
  after(async () => {
    await cluster.stop();
  });

  it('a create at dc1 wakes a blocking query at dc2 with the new intention', async () => {
    const first = await http(dc2, 'GET', '/v1/connect/intentions');
    assert.equal(first.status, 200);
    const index = Number(first.headers.get('x-consul-index'));
    assert.ok(index >= 1, 'X-Consul-Index is never 0');
    const blocked = http(dc2, 'GET', `/v1/connect/intentions?index=${index}&wait=20s`);
    await new Promise((r) => setTimeout(r, 100));
    const created = await http(dc1, 'POST', '/v1/connect/intentions', { SourceName: 'web', DestinationName: 'db', Action: 'allow' });
    assert.equal(created.status, 200, created.text);
    const id = (created.body as { ID: string }).ID;
    const woke = await blocked;
    assert.equal(woke.status, 200);
    assert.ok(Number(woke.headers.get('x-consul-index')) > index);
    const list = woke.body as ConsulIntention[];
    const found = list.find((i) => i.ID === id);
    assert.ok(found, 'the new intention is in the woken answer');
    assert.equal(found.Action, 'allow');
    assert.equal(found.Precedence, 9);
  });

  it('the primary answers a write only once its own view has it (read-your-writes)', async () => {
    const res = await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=ryw&destination=db', { Action: 'deny' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body, true);
    const read = await http(dc1, 'GET', '/v1/connect/intentions/exact?source=ryw&destination=db');
    assert.equal(read.status, 200);
    assert.equal((read.body as ConsulIntention).Action, 'deny');
  });

  it('updates and deletes replicate, with ModifyIndex moving and CreateIndex kept', async () => {
    const created = await http(dc1, 'POST', '/v1/connect/intentions', { SourceName: 'api', DestinationName: 'cache', Action: 'allow' });
    const id = (created.body as { ID: string }).ID;
    const v1 = await waitFor(async () => {
      const r = await http(dc2, 'GET', `/v1/connect/intentions/${id}`);
      return r.status === 200 ? (r.body as ConsulIntention) : undefined;
    });
    const upd = await http(dc1, 'PUT', `/v1/connect/intentions/${id}`, { SourceName: 'api', DestinationName: 'cache', Action: 'deny', Description: 'closed' });
    assert.equal(upd.status, 200, upd.text);
    assert.deepEqual(upd.body, { ID: id });
    const v2 = await waitFor(async () => {
      const r = await http(dc2, 'GET', `/v1/connect/intentions/${id}`);
      const body = r.body as ConsulIntention;
      return body.Action === 'deny' ? body : undefined;
    });
    assert.equal(v2.Description, 'closed');
    assert.equal(v2.CreateIndex, v1.CreateIndex);
    assert.ok(v2.ModifyIndex > v1.ModifyIndex);

    const del = await http(dc1, 'DELETE', `/v1/connect/intentions/${id}`);
    assert.equal(del.status, 200);
    assert.equal(del.body, true);
    await waitFor(async () => (await http(dc2, 'GET', `/v1/connect/intentions/${id}`)).status === 404);
  });

  it('a write sent to dc2 is forwarded to the primary and answered with its result', async () => {
    const res = await http(dc2, 'PUT', '/v1/connect/intentions/exact?source=fwd&destination=db', { Action: 'allow', Description: 'via dc2' });
    assert.equal(res.status, 200, res.text);
    const atPrimary = await http(dc1, 'GET', '/v1/connect/intentions/exact?source=fwd&destination=db');
    assert.equal(atPrimary.status, 200);
    assert.equal((atPrimary.body as ConsulIntention).Description, 'via dc2');
    // dc2 waited for its own view, so it reads its write back at once.
    const atSecondary = await http(dc2, 'GET', '/v1/connect/intentions/exact?source=fwd&destination=db');
    assert.equal(atSecondary.status, 200);
    // A forwarded write with bad input is refused, and nothing is written anywhere.
    const before = (await http(dc1, 'GET', '/v1/connect/intentions')).headers.get('x-consul-index');
    const bad = await http(dc2, 'PUT', '/v1/connect/intentions/exact?source=fwd2&destination=db', { Action: 'maybe' });
    assert.equal(bad.status, 400);
    assert.equal((await http(dc1, 'GET', '/v1/connect/intentions')).headers.get('x-consul-index'), before);
  });

  it('a duplicate pair is refused with Consul\'s message, forwarded or not', async () => {
    await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=dup&destination=db', { Action: 'allow' });
    for (const base of [dc1, dc2]) {
      const res = await http(base, 'POST', '/v1/connect/intentions', { SourceName: 'dup', DestinationName: 'db', Action: 'deny' });
      assert.ok(res.status >= 400, `status ${res.status}`);
      assert.match(res.text, /duplicate intention found/);
    }
  });

  it('check and authorize at dc2 follow the replicated intentions and the default policy', async () => {
    await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=*&destination=vault', { Action: 'deny' });
    await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=ops&destination=vault', { Action: 'allow' });
    await waitFor(async () => (await http(dc2, 'GET', '/v1/connect/intentions/exact?source=ops&destination=vault')).status === 200);
    const allowed = await http(dc2, 'GET', '/v1/connect/intentions/check?source=ops&destination=vault');
    assert.deepEqual(allowed.body, { Allowed: true });
    const denied = await http(dc2, 'GET', '/v1/connect/intentions/check?source=web&destination=vault');
    assert.deepEqual(denied.body, { Allowed: false });
    const trustDomain = await waitFor(() => cluster.agent('dc2').view.caState()?.TrustDomain);
    const uri = `spiffe://${trustDomain}/ns/default/dc/dc1/svc/web`;
    const auth = await http(dc2, 'POST', '/v1/agent/connect/authorize', { Target: 'vault', ClientCertURI: uri });
    assert.equal(auth.status, 200, auth.text);
    assert.equal((auth.body as { Authorized: boolean }).Authorized, false);
    assert.match((auth.body as { Reason: string }).Reason, /^Matched L4 intention: DENY default\/\* => default\/vault/);
    // An identity from another trust domain is refused whatever the intentions say.
    const foreign = await http(dc2, 'POST', '/v1/agent/connect/authorize', { Target: 'vault', ClientCertURI: 'spiffe://other.consul/ns/default/dc/dc1/svc/ops' });
    assert.deepEqual(foreign.body, { Authorized: false, Reason: 'Identity from an external trust domain: other.consul' });
    const ops = await http(dc2, 'POST', '/v1/agent/connect/authorize', { Target: 'vault', ClientCertURI: `spiffe://${trustDomain}/ns/default/dc/dc1/svc/ops` });
    assert.equal((ops.body as { Authorized: boolean }).Authorized, true);
    // No intention for this pair: the agent's default policy (deny for `trellis agent`).
    const none = await http(dc2, 'GET', '/v1/connect/intentions/check?source=x&destination=y');
    assert.deepEqual(none.body, { Allowed: false });
  });

  it('reports replication status at both datacenters', async () => {
    const s1 = (await http(dc1, 'GET', '/v1/trellis/replication')).body as Record<string, unknown>;
    assert.equal(s1.Datacenter, 'dc1');
    assert.equal(s1.Primary, 'dc1');
    assert.equal(s1.Halted, false);
    await cluster.agent('dc2').replication.refresh();
    const s2 = await waitFor(async () => {
      await cluster.agent('dc2').replication.refresh();
      const s = (await http(dc2, 'GET', '/v1/trellis/replication')).body as Record<string, unknown>;
      return s.AppliedIndex === s1.AppliedIndex ? s : undefined;
    });
    assert.equal(s2.Primary, 'dc1');
    assert.equal(s2.LagEvents, 0);
    assert.equal(s2.MirrorActive, true);
    assert.equal(s2.HaltReason, null);
    // The status is a blocking query on the applied index.
    const head = await http(dc2, 'GET', '/v1/trellis/replication');
    const idx = Number(head.headers.get('x-consul-index'));
    assert.equal(idx, s2.AppliedIndex);
    const woken = http(dc2, 'GET', `/v1/trellis/replication?index=${idx}&wait=20s`);
    await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=status&destination=db', { Action: 'allow' });
    const after = await woken;
    assert.ok(Number(after.headers.get('x-consul-index')) > idx);
    assert.ok((after.body as { AppliedIndex: number }).AppliedIndex > idx);
    const self = (await http(dc2, 'GET', '/v1/agent/self')).body as { Config: Record<string, unknown> };
    assert.equal(self.Config.Datacenter, 'dc2');
    assert.equal(self.Config.PrimaryDatacenter, 'dc1');
    const metrics = await http(dc2, 'GET', '/v1/agent/metrics?format=prometheus');
    assert.match(metrics.text, /trellis_projector_applied_seq\{datacenter="dc2"\} \d+/);
    assert.match(metrics.text, /trellis_projector_halted\{datacenter="dc2"\} 0/);
  });

  it('?dc= on a read is answered by that datacenter', async () => {
    const viaDc1 = await http(dc1, 'GET', '/v1/agent/self?dc=dc2');
    assert.equal(viaDc1.status, 200);
    assert.equal((viaDc1.body as { Config: { Datacenter: string } }).Config.Datacenter, 'dc2');
    const intentions = await http(dc2, 'GET', '/v1/connect/intentions/exact?source=ryw&destination=db&dc=dc1');
    assert.equal(intentions.status, 200);
    assert.ok(Number(intentions.headers.get('x-consul-index')) >= 2, 'query meta headers cross too');
    const unknown = await http(dc1, 'GET', '/v1/connect/intentions?dc=dc9');
    assert.equal(unknown.status, 500);
    assert.equal(unknown.text, 'No path to datacenter');
  });
});
