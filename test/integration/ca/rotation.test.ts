import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { makeTempDir } from '../../helpers/temp.js';
import { assertStreamHoldsNoKeys, caPrivateKeys, opensslVerify, pemCertificates } from '../../helpers/ca.js';

interface Root {
  ID: string;
  Name: string;
  RootCert: string;
  Active: boolean;
  IntermediateCerts: string[] | null;
  PrivateKeyType: string;
  PrivateKeyBits: number;
}
interface Roots {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: Root[];
}
interface Leaf {
  SerialNumber: string;
  CertPEM: string;
  ServiceURI: string;
  ModifyIndex: number;
}

const HOUR = 3_600_000;

async function streamLastSeq(cluster: TestCluster): Promise<number> {
  const jsm = await jetstreamManager(cluster.agent('dc1').nc, { domain: 'dc1' });
  return (await jsm.streams.info('TRELLIS_EVENTS')).state.last_seq;
}

describe('CA configuration and root rotation across datacenters', () => {
  let cluster: TestCluster;
  let offset = 0;
  const get = async <T>(dc: string, path: string) => (await http(cluster.agent(dc).httpUrl, 'GET', path)).body as T;
  const roots = (dc: string) => get<Roots>(dc, '/v1/connect/ca/roots');
  const signingRoot = async (dc: string) => (await get<{ CA: { SigningCertRootID: string | null } }>(dc, '/v1/trellis/replication')).CA.SigningCertRootID;

  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'], caClock: () => Date.now() + offset });
    await waitFor(async () => (await signingRoot('dc2')) !== null);
  });
  after(async () => {
    await cluster.stop();
  });

  it('refuses bad configurations with Consul\'s messages and appends nothing', async () => {
    const before = await streamLastSeq(cluster);
    const cases: Array<[unknown, RegExp]> = [
      [{ Provider: 'consul', Config: { LeafCertTTL: '30m' } }, /^leaf cert TTL must be greater or equal than 1h0m0s$/],
      [{ Provider: 'consul', Config: { LeafCertTTL: '72h', IntermediateCertTTL: '100h' } }, /^Intermediate Cert TTL must be greater or equal than 3 \* LeafCertTTL \(>=216h0m0s\)\.$/],
      [{ Provider: 'consul', Config: { PrivateKeyType: 'rsa' } }, /^RSA key length must be 2048 or 4096 bits$/],
      [{ Provider: 'consul', Config: { PrivateKeyType: 'dsa', PrivateKeyBits: 2048 } }, /^private key type must be either 'ec' or 'rsa'$/],
      [{ Provider: 'consul', Config: { PrivateKeyType: 'ec', PrivateKeyBits: 255 } }, /^EC key length must be one of \(224, 256, 384, 521\) bits$/],
      [{ Provider: 'consul', Config: { RootCertTTL: '100h' } }, /^root cert TTL is set and is not greater than intermediate cert ttl/],
      [{ Provider: 'consul', Config: { LeafCertTTL: 'soon' } }, /invalid duration "soon"/],
      [{ Provider: 'vault', Config: {} }, /unknown CA provider "vault"/],
      [{ Provider: 'consul', Config: { LeafCertTL: '1h' } }, /unknown CA configuration field "LeafCertTL"/],
      [{ Provider: 'consul', Config: {}, State: { PrivateKey: 'x' } }, /^Provider State is read-only/],
      [{ Provider: 'consul', Config: { PrivateKey: '-----BEGIN EC PRIVATE KEY-----' } }, /bringing your own root/],
    ];
    for (const dc of ['dc1', 'dc2']) {
      for (const [body, message] of cases) {
        const res = await http(cluster.agent(dc).httpUrl, 'PUT', '/v1/connect/ca/configuration', body);
        assert.equal(res.status, 400, `${dc} ${JSON.stringify(body)}: ${res.text}`);
        assert.match(res.text, message);
      }
      const garbage = await http(cluster.agent(dc).httpUrl, 'PUT', '/v1/connect/ca/configuration', undefined, { raw: '{"Provider":' });
      assert.equal(garbage.status, 400);
      assert.match(garbage.text, /^Request decode failed/);
    }
    assert.equal(await streamLastSeq(cluster), before);
  });

  it('a TTL change from a secondary is forwarded, recorded as CAConfigSet and keeps the root', async () => {
    const rootBefore = (await roots('dc1')).ActiveRootID;
    const res = await http(cluster.agent('dc2').httpUrl, 'PUT', '/v1/connect/ca/configuration', {
      Provider: 'consul',
      Config: { leaf_cert_ttl: '24h', IntermediateCertTTL: '8760h', RootCertTTL: '87600h' },
    });
    assert.equal(res.status, 200, res.text);
    const config = await waitFor(async () => {
      const c = await get<{ Config: { LeafCertTTL: string }; ModifyIndex: number }>('dc2', '/v1/connect/ca/configuration');
      return c.Config.LeafCertTTL === '24h' ? c : undefined;
    });
    assert.deepEqual(config.Config, { LeafCertTTL: '24h', IntermediateCertTTL: '8760h', RootCertTTL: '87600h', PrivateKeyType: 'ec', PrivateKeyBits: 256 });
    assert.equal((await roots('dc1')).ActiveRootID, rootBefore);
    // The audit trail says who changed it and from where.
    const feed = (await http(cluster.agent('dc1').httpUrl, 'GET', '/v1/trellis/events?from=1')).body as Array<{ type: string; by: string; origin?: { dc: string } }>;
    const set = feed.filter((e) => e.type === 'CAConfigSet').pop();
    assert.deepEqual([set?.by, set?.origin?.dc], ['anonymous@dc2', 'dc2']);
    // The same configuration again is a no-op: nothing appended.
    const seq = await streamLastSeq(cluster);
    assert.equal((await http(cluster.agent('dc1').httpUrl, 'PUT', '/v1/connect/ca/configuration', { Provider: 'consul', Config: { LeafCertTTL: '24h' } })).status, 200);
    assert.equal(await streamLastSeq(cluster), seq);
    // New leaves use the new TTL.
    const leaf = await get<Leaf & { ValidAfter: string; ValidBefore: string }>('dc2', '/v1/agent/connect/ca/leaf/ttl-check');
    assert.equal(Date.parse(leaf.ValidBefore) - Date.parse(leaf.ValidAfter), 24 * HOUR + 60_000);
  });

  it('a key type change rotates to a cross-signed RSA root: old leaves keep verifying, new ones chain to either root, authorization holds', async () => {
    const before = await roots('dc1');
    const oldRoot = before.Roots.find((r) => r.Active)!;
    // Leaves and an authorization from before the rotation.
    assert.equal((await http(cluster.agent('dc1').httpUrl, 'PUT', '/v1/connect/intentions/exact?source=web&destination=db', { Action: 'allow' })).status, 200);
    const oldLeaf2 = await get<Leaf>('dc2', '/v1/agent/connect/ca/leaf/web');
    const oldLeaf1 = await get<Leaf>('dc1', '/v1/agent/connect/ca/leaf/web');
    const authorize = async (dc: string, uri: string) =>
      (await http(cluster.agent(dc).httpUrl, 'POST', '/v1/agent/connect/authorize', { Target: 'db', ClientCertURI: uri, ClientCertSerial: 'aa' })).body as { Authorized: boolean; Reason: string };
    await waitFor(async () => (await authorize('dc2', oldLeaf2.ServiceURI)).Authorized || undefined);

    // A blocking query on dc2's leaf wakes when the new intermediate re-issues it.
    const watching = get<Leaf>('dc2', `/v1/agent/connect/ca/leaf/web?index=${oldLeaf2.ModifyIndex}&wait=60s`);
    const res = await http(cluster.agent('dc2').httpUrl, 'PUT', '/v1/connect/ca/configuration', {
      Provider: 'consul',
      Config: { LeafCertTTL: '24h', PrivateKeyType: 'rsa', PrivateKeyBits: 2048 },
    });
    assert.equal(res.status, 200, res.text);

    const after = await waitFor(async () => {
      const r = await roots('dc2');
      return r.ActiveRootID !== before.ActiveRootID ? r : undefined;
    });
    assert.equal(after.TrustDomain, before.TrustDomain, 'rotation keeps the trust domain');
    assert.deepEqual(await roots('dc1'), after);
    assert.equal(after.Roots.length, 2, 'both roots are published');
    const newRoot = after.Roots.find((r) => r.Active)!;
    assert.equal(after.Roots.find((r) => r.ID === oldRoot.ID)?.Active, false);
    assert.deepEqual([newRoot.PrivateKeyType, newRoot.PrivateKeyBits], ['rsa', 2048]);
    assert.notEqual(newRoot.Name, oldRoot.Name);
    assert.equal(new X509Certificate(newRoot.RootCert).publicKey.asymmetricKeyType, 'rsa');
    const cross = newRoot.IntermediateCerts ?? [];
    assert.equal(cross.length, 1, 'the new root carries its cross-signed certificate');
    const xc = new X509Certificate(cross[0]!);
    assert.equal(xc.subject, new X509Certificate(newRoot.RootCert).subject);
    assert.equal(xc.issuer, new X509Certificate(oldRoot.RootCert).subject);
    assert.ok(xc.verify(new X509Certificate(oldRoot.RootCert).publicKey), 'signed by the old root');
    assert.ok(xc.ca);

    // dc2 obtains an intermediate under the new root; the watcher wakes with a leaf it signed.
    await waitFor(async () => (await signingRoot('dc2')) === newRoot.ID);
    const newLeaf2 = await watching;
    assert.notEqual(newLeaf2.SerialNumber, oldLeaf2.SerialNumber);
    const [leafPem, intermediatePem, ...rest] = pemCertificates(newLeaf2.CertPEM);
    assert.deepEqual(rest, cross, 'CertPEM: leaf, intermediate, then the cross-signed root');
    assert.equal(new X509Certificate(leafPem!).publicKey.asymmetricKeyType, 'rsa', 'leaf keys follow PrivateKeyType');
    assert.equal(new X509Certificate(intermediatePem!).publicKey.asymmetricKeyType, 'rsa', "dc2's new intermediate key follows PrivateKeyType");

    const vdir = makeTempDir('trellis-verify-');
    const both = [oldRoot.RootCert, newRoot.RootCert];
    // Old leaves keep verifying against the published roots.
    for (const old of [oldLeaf1, oldLeaf2]) {
      const [cert, ...chain] = pemCertificates(old.CertPEM);
      const v = opensslVerify(vdir, { ca: both, untrusted: chain, cert: cert! });
      assert.ok(v.ok, v.output);
    }
    // New leaves: to the new root directly, and to the old root through the cross-signed certificate.
    const direct = opensslVerify(vdir, { ca: [newRoot.RootCert], untrusted: [intermediatePem!], cert: leafPem! });
    assert.ok(direct.ok, direct.output);
    const viaOld = opensslVerify(vdir, { ca: [oldRoot.RootCert], untrusted: [intermediatePem!, ...cross], cert: leafPem! });
    assert.ok(viaOld.ok, viaOld.output);
    const withoutCross = opensslVerify(vdir, { ca: [oldRoot.RootCert], untrusted: [intermediatePem!], cert: leafPem! });
    assert.equal(withoutCross.ok, false, 'the cross-signed certificate is what links the new root to the old');
    const newLeaf1 = await get<Leaf>('dc1', '/v1/agent/connect/ca/leaf/web');
    const [leaf1, ...chain1] = pemCertificates(newLeaf1.CertPEM);
    assert.deepEqual(chain1, cross, "the primary's leaves carry the cross-signed root");
    const primaryViaOld = opensslVerify(vdir, { ca: [oldRoot.RootCert], untrusted: chain1, cert: leaf1! });
    assert.ok(primaryViaOld.ok, primaryViaOld.output);

    // Nothing authorized before the rotation is refused during it, at either datacenter.
    for (const dc of ['dc1', 'dc2']) {
      for (const leaf of [oldLeaf1, oldLeaf2, newLeaf1, newLeaf2]) {
        const a = await authorize(dc, leaf.ServiceURI);
        assert.equal(a.Authorized, true, `${dc} ${leaf.ServiceURI}: ${a.Reason}`);
      }
    }
    const config = await get<{ Config: Record<string, unknown> }>('dc1', '/v1/connect/ca/configuration');
    assert.deepEqual(config.Config, { LeafCertTTL: '24h', IntermediateCertTTL: '8760h', RootCertTTL: '87600h', PrivateKeyType: 'rsa', PrivateKeyBits: 2048 });
  });

  it('trellis rotate (HTTP) makes another root of the configured type; every root key stays in dc1 and out of the stream', async () => {
    const before = await roots('dc1');
    const res = await http(cluster.agent('dc2').httpUrl, 'PUT', '/v1/trellis/ca/rotate');
    assert.equal(res.status, 200, res.text);
    const { ActiveRootID } = res.body as { ActiveRootID: string };
    assert.notEqual(ActiveRootID, before.ActiveRootID);
    const after = await waitFor(async () => {
      const r = await roots('dc2');
      return r.ActiveRootID === ActiveRootID ? r : undefined;
    });
    assert.equal(after.Roots.length, 3);
    assert.equal(after.Roots.find((r) => r.Active)?.PrivateKeyType, 'rsa');
    await waitFor(async () => (await signingRoot('dc2')) === ActiveRootID);

    const dc1Keys = caPrivateKeys(cluster.agent('dc1'));
    const dc2Keys = caPrivateKeys(cluster.agent('dc2'));
    assert.equal(dc1Keys.filter((k) => k.name.startsWith('root-')).length, 3, 'one key per root, at the primary');
    assert.ok(dc2Keys.every((k) => k.name.startsWith('intermediate-')), 'a secondary holds intermediate keys only');
    assert.ok(dc2Keys.length >= 2, 'a fresh intermediate key per renewal');
    const all = [...dc1Keys, ...dc2Keys].map((k) => k.key);
    for (const dc of ['dc1', 'dc2']) assert.ok((await assertStreamHoldsNoKeys(cluster.agent(dc), all)) > 5);
  });

  it('renews an intermediate at half-life and withdraws rotated-out roots after 2 x LeafCertTTL', async () => {
    const dc2 = cluster.agent('dc2');
    const status = async () => (await get<{ CA: { SigningCertSerial: string; RenewAt: string } }>('dc2', '/v1/trellis/replication')).CA;
    const first = await status();
    // Before half-life nothing happens.
    await dc2.authority.ensureIntermediate();
    assert.equal((await status()).SigningCertSerial, first.SigningCertSerial);
    // Past half-life (8760h intermediates: 4380h), the secondary asks the primary for a new one.
    offset = Date.parse(first.RenewAt) - Date.now() + HOUR;
    await dc2.authority.ensureIntermediate();
    const renewed = await status();
    assert.notEqual(renewed.SigningCertSerial, first.SigningCertSerial);
    assert.ok(Date.parse(renewed.RenewAt) > Date.parse(first.RenewAt));

    // Rotated-out roots: 2 x 24h after rotation they are withdrawn, everywhere; the active one stays.
    const before = await roots('dc1');
    assert.equal(before.Roots.length, 3);
    // (The primary's own minute timer may get there first: either way both old roots go.)
    await cluster.agent('dc1').authority.pruneRoots();
    assert.deepEqual((await roots('dc1')).Roots.map((r) => r.ID), [before.ActiveRootID]);
    const after = await waitFor(async () => {
      const r = await roots('dc2');
      return r.Roots.length === 1 ? r : undefined;
    });
    assert.equal(after.ActiveRootID, before.ActiveRootID);
    assert.equal(after.Roots[0]?.ID, before.ActiveRootID);
    assert.equal((await cluster.agent('dc1').authority.pruneRoots()).pruned.length, 0, 'pruning is idempotent');
  });
});
