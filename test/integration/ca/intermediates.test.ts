import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { buildCsr, generateKeyPair, intermediateCommonName } from '../../../src/ca/index.js';
import { createRpcClient } from '../../../src/rpc/index.js';
import { isTrellisError, silentLogger } from '../../../src/common/index.js';

describe('intermediates: a secondary\'s CSR signed by the primary over request/reply', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
  });
  after(async () => {
    await cluster.stop();
  });

  it('dc2 obtains an intermediate that chains to the root; its key never left dc2', async () => {
    const dc2 = cluster.agent('dc2');
    const row = await waitFor(() => dc2.view.intermediate('dc2'), { timeoutMs: 15_000, message: 'dc2 has no intermediate' });
    const state = dc2.view.caState()!;
    const root = new X509Certificate([...dc2.view.caRoots()][0]!.RootCert);
    const inter = new X509Certificate(row.CertPEM);
    assert.ok(inter.checkIssued(root) && inter.verify(root.publicKey));
    assert.equal(inter.ca, true);
    assert.equal(inter.subject, 'CN=trellis intermediate CA dc2');
    assert.equal(inter.subjectAltName, `URI:spiffe://${state.TrustDomain}`);
    assert.equal(row.RootID, state.ActiveRootID);
    const signer = dc2.authority.signer();
    assert.ok('privateKey' in signer, 'dc2 can sign leaves');
    assert.ok(inter.publicKey.equals(signer.publicKey), 'the certificate is for dc2\'s own key');
    const dc1Signer = cluster.agent('dc1').authority.signer();
    assert.ok('certPem' in dc1Signer);
    assert.notEqual(dc1Signer.certPem, row.CertPEM, 'dc2\'s intermediate differs from dc1\'s signing certificate');
  });

  it('the primary refuses a CSR for another datacenter than the caller, and records each refusal (CSRRefused) without changing the CA', async () => {
    const dc2 = cluster.agent('dc2');
    const before = cluster.agent('dc1').view.appliedSeq();
    const key = generateKeyPair('ec');
    const td = dc2.view.caState()!.TrustDomain;
    const rpc = createRpcClient({ nc: dc2.nc, datacenter: 'dc2', logger: silentLogger() });
    await assert.rejects(
      rpc.call('dc1', 'ca', 'sign', { csr: buildCsr(intermediateCommonName('dc3'), [`spiffe://${td}`], key.privateKey, key.publicKey) }),
      (err) => isTrellisError(err, 'E_VALIDATION') && /but the caller is datacenter dc2/.test(err.message),
    );
    await assert.rejects(rpc.call('dc1', 'ca', 'sign', { csr: 'garbage' }), (err) => isTrellisError(err, 'E_VALIDATION') && /CSR refused/.test(err.message));
    await assert.rejects(rpc.call('dc1', 'ca', 'sign', { pem: 1 }), (err) => isTrellisError(err, 'E_VALIDATION'));
    // Three refusals, three audit records (issue 7); nothing else was appended, the CA is unchanged.
    const all = (await http(cluster.agent('dc1').httpUrl, 'GET', `/v1/trellis/events?from=${before + 1}`)).body as Array<{ type: string; data: { datacenter: string; reason: string; csr: string } }>;
    // (an IntermediateIssued of dc2's own start-up may land in between)
    const feed = all.filter((e) => e.type !== 'IntermediateIssued');
    assert.deepEqual(feed.map((e) => e.type), ['CSRRefused', 'CSRRefused', 'CSRRefused']);
    assert.ok(feed.every((e) => e.data.datacenter === 'dc2'));
    assert.match(feed[0]!.data.reason, /but the caller is datacenter dc2/);
    assert.match(feed[0]!.data.csr, /^[0-9a-f]{64}$/, 'a hash of what was sent, not the CSR');
    assert.equal(cluster.agent('dc1').view.intermediate('dc3'), undefined);
  });

  it('rate limits CSRs per calling datacenter (CSRMaxPerSecond): one noisy secondary does not starve another', async () => {
    const set = await http(cluster.agent('dc1').httpUrl, 'PUT', '/v1/connect/ca/configuration', { Provider: 'consul', Config: { CSRMaxPerSecond: 2 } });
    assert.equal(set.status, 200, set.text);
    // Each caller on its own connection: NATS lets a datacenter publish requests only under its own name.
    const call = (caller: string) => createRpcClient({ nc: cluster.agent(caller).nc, datacenter: caller, logger: silentLogger() }).call('dc1', 'ca', 'sign', { csr: 'garbage' }).then(
      () => 'signed',
      (err: unknown) => (isTrellisError(err, 'E_UNAVAILABLE') && /CSR rate limit reached for datacenter/.test(err.message) ? 'limited' : isTrellisError(err, 'E_VALIDATION') ? 'refused' : String(err)),
    );
    const before = cluster.agent('dc1').view.appliedSeq();
    const burst = await Promise.all(Array.from({ length: 10 }, () => call('dc2')));
    assert.ok(burst.filter((r) => r === 'limited').length >= 6, burst.join(','));
    assert.ok(burst.every((r) => r === 'limited' || r === 'refused'), burst.join(','));
    assert.equal(await call('dc1'), 'refused', "another datacenter's bucket is untouched: its CSR reaches validation");
    // Each validation refusal is recorded; the rate-limited ones are summed into one record, not one each.
    const feed = (await http(cluster.agent('dc1').httpUrl, 'GET', `/v1/trellis/events?from=${before + 1}&limit=100`)).body as Array<{ type: string; data: { datacenter: string; reason: string; count: number } }>;
    const limited = feed.filter((e) => e.type === 'CSRRefused' && /rate limit/.test(e.data.reason));
    assert.equal(limited.length, 1, JSON.stringify(feed.map((e) => e.data)));
    assert.equal(limited[0]!.data.datacenter, 'dc2');
    assert.equal(feed.filter((e) => e.type === 'CSRRefused' && !/rate limit/.test(e.data.reason)).length, burst.filter((r) => r === 'refused').length + 1);
    await http(cluster.agent('dc1').httpUrl, 'PUT', '/v1/connect/ca/configuration', { Provider: 'consul', Config: {} });
  });
});
