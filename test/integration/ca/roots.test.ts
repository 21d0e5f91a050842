import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { createKeyStore } from '../../../src/ca/index.js';

interface RootsResponse {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: Array<{ ID: string; RootCert: string; Active: boolean; SerialNumber: number; SigningKeyID: string; PrivateKeyType: string; PrivateKeyBits: number; IntermediateCerts: unknown }>;
}

describe('Connect CA roots across datacenters', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
  });
  after(async () => {
    await cluster.stop();
  });

  it('the primary creates a root and trust domain; dc1 and dc2 report the same TrustDomain and ActiveRootID', async () => {
    const dc1 = (await http(cluster.agent('dc1').httpUrl, 'GET', '/v1/connect/ca/roots')).body as RootsResponse;
    const dc2 = await waitFor(async () => {
      const r = (await http(cluster.agent('dc2').httpUrl, 'GET', '/v1/agent/connect/ca/roots')).body as RootsResponse;
      return r.ActiveRootID ? r : undefined;
    });
    assert.match(dc1.TrustDomain, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.consul$/);
    assert.equal(dc2.TrustDomain, dc1.TrustDomain);
    assert.equal(dc2.ActiveRootID, dc1.ActiveRootID);
    assert.equal(dc1.Roots.length, 1);
    const root = dc1.Roots[0]!;
    assert.equal(root.Active, true);
    assert.equal(root.ID, dc1.ActiveRootID);
    assert.equal(typeof root.SerialNumber, 'number', 'a number, as Consul\'s uint64');
    assert.equal(root.IntermediateCerts, null);
    assert.deepEqual([root.PrivateKeyType, root.PrivateKeyBits], ['ec', 256]);
    const cert = new X509Certificate(root.RootCert);
    assert.equal(cert.ca, true);
    assert.equal(cert.subjectAltName, `URI:spiffe://${dc1.TrustDomain}`);
    assert.ok(cert.verify(cert.publicKey), 'self-signed');
    assert.equal(root.SigningKeyID.split(':').length, 20, 'a SHA-1 key identifier');
  });

  it('keeps the root key on the primary\'s disk only: encrypted, mode 0600, never in the stream', async () => {
    const caDir = join(cluster.agent('dc1').config.dataDir, 'ca');
    const keyFile = readdirSync(caDir).find((f) => f.endsWith('.key.pem'));
    assert.ok(keyFile);
    assert.equal(statSync(join(caDir, keyFile)).mode & 0o777, 0o600);
    assert.equal(statSync(caDir).mode & 0o777, 0o700);
    assert.match(readFileSync(join(caDir, keyFile), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    const passphrase = readFileSync(join(caDir, 'passphrase'), 'utf8').trim();
    const key = createKeyStore(caDir, passphrase).load(keyFile.replace(/\.key\.pem$/, ''));
    assert.ok(key);
    const scalar = Buffer.from(String(key.export({ format: 'jwk' }).d), 'base64url');
    const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
    const dc2Ca = join(cluster.agent('dc2').config.dataDir, 'ca');
    const dc2Keys = readdirSync(dc2Ca).filter((f) => f.endsWith('.key.pem'));
    assert.ok(dc2Keys.every((f) => !f.startsWith('root-')), `a secondary holds no root key (${dc2Keys.join(', ')})`);
    // Every message in the primary's stream and in the secondary's mirror.
    for (const [dc, agent] of [['dc1', cluster.agent('dc1')], ['dc2', cluster.agent('dc2')]] as const) {
      const jsm = await jetstreamManager(agent.nc, { domain: dc });
      const last = (await jsm.streams.info('TRELLIS_EVENTS')).state.last_seq;
      assert.ok(last >= 2);
      for (let seq = 1; seq <= last; seq++) {
        const m = await jsm.streams.getMessage('TRELLIS_EVENTS', { seq });
        const data = Buffer.from(m?.data ?? new Uint8Array());
        assert.equal(data.includes(scalar), false, `${dc} seq ${seq} holds the private scalar`);
        assert.equal(data.includes(pkcs8), false, `${dc} seq ${seq} holds the PKCS#8 key`);
        assert.equal(data.toString('latin1').includes('PRIVATE KEY'), false, `${dc} seq ${seq} holds a PEM private key`);
      }
    }
  });

  it('reports the effective CA configuration in Consul\'s shape at every datacenter', async () => {
    for (const dc of ['dc1', 'dc2']) {
      const res = await http(cluster.agent(dc).httpUrl, 'GET', '/v1/connect/ca/configuration');
      assert.equal(res.status, 200);
      assert.deepEqual((res.body as { Provider: string; Config: unknown }).Provider, 'consul');
      assert.deepEqual((res.body as { Config: unknown }).Config, { LeafCertTTL: '72h', IntermediateCertTTL: '8760h', RootCertTTL: '87600h', PrivateKeyType: 'ec', PrivateKeyBits: 256 });
    }
  });

  it('roots are a blocking query: a wait returns at its time with the same index', async () => {
    const first = await http(cluster.agent('dc2').httpUrl, 'GET', '/v1/connect/ca/roots');
    const index = first.headers.get('x-consul-index');
    assert.ok(Number(index) >= 2);
    const again = await http(cluster.agent('dc2').httpUrl, 'GET', `/v1/connect/ca/roots?index=${index}&wait=200ms`);
    assert.equal(again.headers.get('x-consul-index'), index);
  });
});

describe('a primary started with connect.ca_config', () => {
  it('creates an RSA-4096 root with the configured TTLs, and dc2 an RSA intermediate under it', async () => {
    const cluster = await startCluster({
      datacenters: ['dc1', 'dc2'],
      fileConfig: (dc) => (dc === 'dc1' ? { connect: { ca_config: { private_key_type: 'rsa', private_key_bits: 4096, leaf_cert_ttl: '12h', root_cert_ttl: '20000h' } } } : {}),
    });
    try {
      const roots = (await http(cluster.agent('dc2').httpUrl, 'GET', '/v1/connect/ca/roots')).body as RootsResponse;
      const root = roots.Roots[0]!;
      assert.deepEqual([root.PrivateKeyType, root.PrivateKeyBits], ['rsa', 4096]);
      const cert = new X509Certificate(root.RootCert);
      assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 4096);
      const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
      assert.ok(Math.abs(days - 20000 / 24) < 1, `root valid for ${days} days`);
      const config = (await http(cluster.agent('dc2').httpUrl, 'GET', '/v1/connect/ca/configuration')).body as { Config: Record<string, unknown> };
      assert.deepEqual(config.Config, { LeafCertTTL: '12h', IntermediateCertTTL: '8760h', RootCertTTL: '20000h', PrivateKeyType: 'rsa', PrivateKeyBits: 4096 });
      const leaf = await waitFor(async () => {
        const r = await http(cluster.agent('dc2').httpUrl, 'GET', '/v1/agent/connect/ca/leaf/web');
        return r.status === 200 ? (r.body as { CertPEM: string; ValidAfter: string; ValidBefore: string }) : undefined;
      }, { timeoutMs: 30_000 });
      assert.equal(Date.parse(leaf.ValidBefore) - Date.parse(leaf.ValidAfter), 12 * 3_600_000 + 60_000);
      const intermediate = new X509Certificate(leaf.CertPEM.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)![1]!);
      assert.equal(intermediate.publicKey.asymmetricKeyDetails?.modulusLength, 4096, "dc2's intermediate key follows the configuration");
      assert.ok(intermediate.verify(cert.publicKey));
    } finally {
      await cluster.stop();
    }
  });
});
