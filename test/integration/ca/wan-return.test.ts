import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startNats } from '../../helpers/nats.js';
import { makeTempDir } from '../../helpers/temp.js';
import { waitFor } from '../../helpers/wait.js';
import { http } from '../../helpers/cluster.js';
import { resolveAgentConfig, startAgent, type Agent } from '../../../src/agent/index.js';
import { silentLogger } from '../../../src/common/index.js';

describe('a secondary that starts with the WAN down', () => {
  it('answers 503 for leaves until it can reach the primary, then obtains its intermediate and signs', async () => {
    const nats = await startNats({ datacenters: ['dc1', 'dc2'] });
    const dir = makeTempDir('trellis-wan-');
    const config = (dc: string) =>
      resolveAgentConfig([], { datacenter: dc, primary_datacenter: 'dc1', data_dir: join(dir, dc), ports: { http: 0, dns: 0 }, nats: { url: nats.servers.get(dc)!.url, credentials_file: nats.access.get(dc)!.agent.file } });
    const agents: Agent[] = [];
    try {
      const dc1 = await startAgent(config('dc1'), { logger: silentLogger() });
      agents.push(dc1);
      await nats.servers.get('dc1')!.stop();
      const dc2 = await startAgent(config('dc2'), { logger: silentLogger(), catchUpTimeoutMs: 500 });
      agents.push(dc2);
      const early = await http(dc2.httpUrl, 'GET', '/v1/agent/connect/ca/leaf/web');
      assert.equal(early.status, 503);
      assert.match(early.text, /cannot sign leaf certificates yet/);
      // Without the CA state, authorize cannot check trust domains: Consul's words, bad input still a 400.
      const authz = await http(dc2.httpUrl, 'POST', '/v1/agent/connect/authorize', { Target: 'db', ClientCertURI: 'spiffe://x.consul/ns/default/dc/dc2/svc/web' });
      assert.equal(authz.status, 503);
      assert.equal(authz.text, 'Connect CA not bootstrapped yet');
      assert.equal((await http(dc2.httpUrl, 'POST', '/v1/agent/connect/authorize', { ClientCertURI: 'spiffe://x.consul/ns/default/dc/dc2/svc/web' })).status, 400);
      await nats.servers.get('dc1')!.restart();
      const leaf = await waitFor(
        async () => {
          const r = await http(dc2.httpUrl, 'GET', '/v1/agent/connect/ca/leaf/web');
          return r.status === 200 ? (r.body as { ServiceURI: string }) : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, message: 'dc2 never obtained its intermediate after the WAN returned' },
      );
      assert.match(leaf.ServiceURI, /\/dc\/dc2\/svc\/web$/);
      assert.ok(dc2.view.intermediate('dc2'));
    } finally {
      // Whatever failed, nothing is left running (a leftover server would keep the test process alive).
      for (const a of agents.reverse()) await a.stop();
      await nats.stop();
    }
  });

  it('past half-life with the WAN down, keeps signing with its intermediate and reports why; renews once the WAN returns', async () => {
    let offset = 0;
    const caClock = () => Date.now() + offset;
    const nats = await startNats({ datacenters: ['dc1', 'dc2'] });
    const dir = makeTempDir('trellis-wan-renew-');
    const config = (dc: string) =>
      resolveAgentConfig([], { datacenter: dc, primary_datacenter: 'dc1', data_dir: join(dir, dc), ports: { http: 0, dns: 0 }, nats: { url: nats.servers.get(dc)!.url, credentials_file: nats.access.get(dc)!.agent.file } });
    const agents: Agent[] = [];
    type Ca = { Signing: boolean; SigningCertSerial: string; RenewAt: string; LastRenewalError: string | null };
    try {
      agents.push(await startAgent(config('dc1'), { logger: silentLogger(), caClock }));
      const dc2 = await startAgent(config('dc2'), { logger: silentLogger(), caClock, caCheckIntervalMs: 300 });
      agents.push(dc2);
      const ca = async () => ((await http(dc2.httpUrl, 'GET', '/v1/trellis/replication')).body as { CA: Ca }).CA;
      const first = await waitFor(async () => {
        const c = await ca();
        return c.Signing ? c : undefined;
      });
      await nats.servers.get('dc1')!.stop();
      offset = Date.parse(first.RenewAt) - Date.now() + 3_600_000;
      // The maintenance loop notices half-life has passed and fails to reach the primary.
      const during = await waitFor(async () => {
        const c = await ca();
        return c.LastRenewalError ? c : undefined;
      });
      assert.equal(during.Signing, true, 'the current intermediate keeps signing');
      assert.equal(during.SigningCertSerial, first.SigningCertSerial);
      assert.ok(during.LastRenewalError, 'the failed renewal is reported');
      const leaf = await http(dc2.httpUrl, 'GET', '/v1/agent/connect/ca/leaf/renewal-check');
      assert.equal(leaf.status, 200, leaf.text);
      await nats.servers.get('dc1')!.restart();
      // The maintenance loop retries every 2 s while renewal fails: no call from the test needed.
      const renewed = await waitFor(
        async () => {
          const c = await ca();
          return c.SigningCertSerial !== first.SigningCertSerial ? c : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, message: 'dc2 did not renew its intermediate after the WAN returned' },
      );
      assert.equal(renewed.LastRenewalError, null);
      assert.ok(Date.parse(renewed.RenewAt) > Date.parse(first.RenewAt));
    } finally {
      // Whatever failed, nothing is left running (a leftover server would keep the test process alive).
      for (const a of agents.reverse()) await a.stop();
      await nats.stop();
    }
  });
});
