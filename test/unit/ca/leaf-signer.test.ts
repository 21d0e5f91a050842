import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { buildCertificate, createLeafSigner, generateKeyPair, rootTemplate, type Signer } from '../../../src/ca/index.js';
import { isTrellisError } from '../../../src/common/index.js';

const TD = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee.consul';

function makeSigner(now: number, name = 'trellis CA 1'): Signer {
  const k = generateKeyPair('ec');
  const t = rootTemplate({ trustDomain: TD, publicKey: k.publicKey, now, commonName: name });
  return { privateKey: k.privateKey, publicKey: k.publicKey, certPem: buildCertificate(t, k.privateKey), commonName: name, notAfter: t.notAfter, chain: [], trustDomain: TD, leafTtlMs: 72 * 3_600_000, leafKeyType: 'ec', leafKeyBits: 256 };
}

describe('leaf signer', () => {
  it('refuses with 503 and the reason until the datacenter can sign', async () => {
    const signer = createLeafSigner({ datacenter: 'dc2', signer: () => ({ missing: 'datacenter dc2 has no intermediate certificate from the primary yet' }) });
    await assert.rejects(signer.leaf('web', 0, 0), (err) => isTrellisError(err, 'E_UNAVAILABLE') && /cannot sign leaf certificates yet: datacenter dc2 has no intermediate/.test(err.message));
    signer.close();
  });

  it('caches per service, re-issues when the signer changes (waking a blocked watcher) and past half-life', async () => {
    let clock = Date.now();
    let current = makeSigner(clock);
    const signer = createLeafSigner({ datacenter: 'dc1', signer: () => current, now: () => clock });
    const first = await signer.leaf('web', 0, 0);
    assert.equal((await signer.leaf('web', 0, 0)).SerialNumber, first.SerialNumber);
    const other = await signer.leaf('api', 0, 0);
    assert.notEqual(other.SerialNumber, first.SerialNumber);

    const watching = signer.leaf('web', first.ModifyIndex, 10_000);
    current = makeSigner(clock, 'trellis CA 2');
    // The next request sees the new signer, re-issues, and the watcher wakes with the new leaf.
    const fresh = await signer.leaf('web', 0, 0);
    const woken = await watching;
    assert.notEqual(fresh.SerialNumber, first.SerialNumber);
    assert.equal(woken.SerialNumber, fresh.SerialNumber);
    assert.equal(fresh.CreateIndex, first.CreateIndex);
    assert.ok(fresh.ModifyIndex > first.ModifyIndex);
    assert.ok(new X509Certificate(fresh.CertPEM).verify(current.publicKey));

    clock += 37 * 3_600_000; // past half of 72h
    const renewed = await signer.leaf('web', 0, 0);
    assert.notEqual(renewed.SerialNumber, fresh.SerialNumber);
    signer.close();
  });

  it('refresh() re-issues cached leaves under a new signer and wakes their watchers without any request', async () => {
    let current = makeSigner(Date.now());
    const signer = createLeafSigner({ datacenter: 'dc1', signer: () => current });
    const first = await signer.leaf('web', 0, 0);
    const watching = signer.leaf('web', first.ModifyIndex, 10_000);
    signer.refresh(); // same signer: nothing to do
    current = makeSigner(Date.now(), 'trellis CA 2');
    signer.refresh();
    const woken = await watching;
    assert.notEqual(woken.SerialNumber, first.SerialNumber);
    assert.ok(new X509Certificate(woken.CertPEM).verify(current.publicKey));
    signer.close();
  });

  it('keeps answering with a still-valid cached leaf while no signer is available, and refuses once it expired', async () => {
    let clock = Date.now();
    let current: Signer | { missing: string } = makeSigner(clock);
    const signer = createLeafSigner({ datacenter: 'dc2', signer: () => current, now: () => clock });
    const first = await signer.leaf('web', 0, 0);
    current = { missing: 'datacenter dc2 has no intermediate certificate from the primary yet' };
    clock += 40 * 3_600_000; // past half-life, not yet expired
    assert.equal((await signer.leaf('web', 0, 0)).SerialNumber, first.SerialNumber);
    clock += 40 * 3_600_000; // expired
    await assert.rejects(signer.leaf('web', 0, 0), (err) => isTrellisError(err, 'E_UNAVAILABLE'));
    signer.close();
  });

  it("signs with the configured LeafCertTTL and the configured key type (RSA keys as PKCS#1, as Consul)", async () => {
    const base = makeSigner(Date.now());
    const signer = createLeafSigner({ datacenter: 'dc1', signer: () => ({ ...base, leafTtlMs: 2 * 3_600_000, leafKeyType: 'rsa', leafKeyBits: 2048 }) });
    const leaf = await signer.leaf('web', 0, 0);
    const cert = new X509Certificate(leaf.CertPEM);
    assert.equal(cert.publicKey.asymmetricKeyType, 'rsa');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.match(leaf.PrivateKeyPEM, /^-----BEGIN RSA PRIVATE KEY-----/);
    assert.equal(Date.parse(leaf.ValidBefore) - Date.parse(leaf.ValidAfter), 2 * 3_600_000 + 60_000);
    signer.close();
  });
});
