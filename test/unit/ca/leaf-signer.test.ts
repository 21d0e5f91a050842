import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { buildCertificate, createLeafSigner, generateKeyPair, rootTemplate, type Signer } from '../../../src/ca/index.js';
import { isTrellisError } from '../../../src/common/index.js';

const TD = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee.consul';

function makeSigner(now: number, name = 'trellis CA 1'): Signer {
  const k = generateKeyPair('ec');
  const t = rootTemplate({ trustDomain: TD, publicKey: k.publicKey, now, commonName: name });
  return { privateKey: k.privateKey, publicKey: k.publicKey, certPem: buildCertificate(t, k.privateKey), commonName: name, notAfter: t.notAfter, chain: [], trustDomain: TD };
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
});
