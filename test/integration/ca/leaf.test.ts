import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { makeTempDir } from '../../helpers/temp.js';

interface Leaf {
  SerialNumber: string;
  CertPEM: string;
  PrivateKeyPEM: string;
  Service: string;
  ServiceURI: string;
  ValidAfter: string;
  ValidBefore: string;
  CreateIndex: number;
  ModifyIndex: number;
}

const split = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];

describe('leaf certificates, signed locally in each datacenter', () => {
  let cluster: TestCluster;
  let dc1: string;
  let dc2: string;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
    dc1 = cluster.agent('dc1').httpUrl;
    dc2 = cluster.agent('dc2').httpUrl;
    await waitFor(() => cluster.agent('dc2').view.intermediate('dc2'), { timeoutMs: 15_000 });
  });
  after(async () => {
    await cluster.stop();
  });

  it('a leaf from dc2 is a SPIFFE SVID that openssl verifies through dc2\'s intermediate to the root', async () => {
    const res = await waitFor(async () => {
      const r = await http(dc2, 'GET', '/v1/agent/connect/ca/leaf/web');
      return r.status === 200 ? r : undefined;
    });
    const leaf = res.body as Leaf;
    const roots = (await http(dc2, 'GET', '/v1/connect/ca/roots')).body as { TrustDomain: string; Roots: Array<{ RootCert: string }> };
    assert.equal(leaf.Service, 'web');
    assert.equal(leaf.ServiceURI, `spiffe://${roots.TrustDomain}/ns/default/dc/dc2/svc/web`);
    assert.equal(res.headers.get('x-consul-index'), String(leaf.ModifyIndex));
    const [leafPem, interPem] = split(leaf.CertPEM);
    assert.ok(leafPem && interPem, 'CertPEM carries the leaf followed by the intermediate');
    const cert = new X509Certificate(leafPem);
    assert.equal(cert.subjectAltName, `URI:${leaf.ServiceURI}`);
    assert.equal(cert.ca, false);
    assert.ok(cert.checkPrivateKey(createPrivateKey(leaf.PrivateKeyPEM)), 'the key matches the certificate');
    assert.ok(Date.now() - new Date(leaf.ValidAfter).getTime() >= 59_000, 'backdated a minute');
    assert.ok(Math.abs(new Date(leaf.ValidBefore).getTime() - new Date(leaf.ValidAfter).getTime() - (72 * 3600_000 + 60_000)) < 5000, '72h');
    const dir = makeTempDir('trellis-leaf-');
    writeFileSync(join(dir, 'root.pem'), roots.Roots[0]!.RootCert);
    writeFileSync(join(dir, 'dc2-intermediate.pem'), interPem);
    writeFileSync(join(dir, 'leaf.pem'), leafPem);
    const out = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'dc2-intermediate.pem'), join(dir, 'leaf.pem')]).toString();
    assert.match(out, /leaf\.pem: OK/);
  });

  it('answers the cached leaf until it must be re-issued, and refuses bad service names', async () => {
    const a = (await http(dc2, 'GET', '/v1/agent/connect/ca/leaf/api')).body as Leaf;
    const b = (await http(dc2, 'GET', '/v1/agent/connect/ca/leaf/api')).body as Leaf;
    assert.equal(b.SerialNumber, a.SerialNumber);
    const started = Date.now();
    const blocked = await http(dc2, 'GET', `/v1/agent/connect/ca/leaf/api?index=${a.ModifyIndex}&wait=200ms`);
    assert.equal((blocked.body as Leaf).SerialNumber, a.SerialNumber);
    assert.ok(Date.now() - started >= 190);
    for (const bad of ['we%20b', '-web', 'a.b']) {
      const r = await http(dc2, 'GET', `/v1/agent/connect/ca/leaf/${bad}`);
      assert.equal(r.status, 400, bad);
      assert.match(r.text, /must be valid DNS labels/);
    }
  });

  it('the primary signs leaves with its root', async () => {
    const leaf = (await http(dc1, 'GET', '/v1/agent/connect/ca/leaf/db')).body as Leaf;
    const root = new X509Certificate(((await http(dc1, 'GET', '/v1/connect/ca/roots')).body as { Roots: Array<{ RootCert: string }> }).Roots[0]!.RootCert);
    const [leafPem] = split(leaf.CertPEM);
    assert.ok(new X509Certificate(leafPem!).verify(root.publicKey));
    assert.match(leaf.ServiceURI, /\/dc\/dc1\/svc\/db$/);
  });

  it('with dc1\'s nats-server stopped, dc2 still issues new leaves and answers authorize', async () => {
    await cluster.nats.servers.get('dc1')!.stop();
    try {
      const res = await http(dc2, 'GET', '/v1/agent/connect/ca/leaf/billing');
      assert.equal(res.status, 200, res.text);
      assert.match((res.body as Leaf).ServiceURI, /\/dc\/dc2\/svc\/billing$/);
      const auth = await http(dc2, 'POST', '/v1/agent/connect/authorize', { Target: 'db', ClientCertURI: (res.body as Leaf).ServiceURI });
      assert.equal(auth.status, 200, auth.text);
    } finally {
      await cluster.nats.servers.get('dc1')!.restart();
    }
  });
});
