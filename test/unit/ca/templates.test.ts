import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { buildCertificate, DEFAULT_TTLS, generateKeyPair, intermediateTemplate, leafTemplate, rootTemplate, validateServiceName } from '../../../src/ca/index.js';
import { isTrellisError } from '../../../src/common/index.js';

const TD = '11111111-2222-3333-4444-555555555555.consul';
const HOUR = 3_600_000;

describe('certificate templates', () => {
  const now = Date.now();
  const rootKey = generateKeyPair('ec');
  const root = new X509Certificate(buildCertificate(rootTemplate({ trustDomain: TD, publicKey: rootKey.publicKey, now, commonName: 'trellis CA 1' }), rootKey.privateKey));
  const interKey = generateKeyPair('ec');
  const inter = new X509Certificate(
    buildCertificate(
      intermediateTemplate({ trustDomain: TD, datacenter: 'dc2', publicKey: interKey.publicKey, issuerCommonName: 'trellis CA 1', issuerPublicKey: rootKey.publicKey, rootNotAfter: new Date(root.validTo), now }),
      rootKey.privateKey,
    ),
  );
  const leafKey = generateKeyPair('ec');
  const leaf = new X509Certificate(
    buildCertificate(
      leafTemplate({ trustDomain: TD, datacenter: 'dc2', service: 'web', publicKey: leafKey.publicKey, issuerCommonName: inter.subject.slice(3), issuerPublicKey: interKey.publicKey, issuerNotAfter: new Date(inter.validTo), now }),
      interKey.privateKey,
    ),
  );

  it('uses Consul\'s default lifetimes, leaves and roots backdated a minute', () => {
    const life = (c: X509Certificate) => new Date(c.validTo).getTime() - now;
    const starts = (c: X509Certificate) => now - new Date(c.validFrom).getTime();
    assert.ok(Math.abs(life(root) - DEFAULT_TTLS.rootMs) < 2000);
    assert.ok(Math.abs(life(inter) - DEFAULT_TTLS.intermediateMs) < 2000);
    assert.ok(Math.abs(life(leaf) - 72 * HOUR) < 2000);
    for (const c of [root, inter, leaf]) assert.ok(starts(c) >= 59_000 && starts(c) <= 61_000, 'NotBefore is one minute back');
  });

  it('makes the leaf a SPIFFE X.509-SVID: one URI SAN with namespace, datacenter and service, not a CA', () => {
    assert.equal(leaf.subjectAltName, `URI:spiffe://${TD}/ns/default/dc/dc2/svc/web`);
    assert.equal(leaf.ca, false);
    assert.ok(leaf.checkIssued(inter) && leaf.verify(interKey.publicKey));
    assert.equal(inter.subject, 'CN=trellis intermediate CA dc2');
  });

  it('never lets an intermediate outlive its root, nor a leaf its issuer', () => {
    const shortRoot = new Date(now + 10 * HOUR);
    const t = intermediateTemplate({ trustDomain: TD, datacenter: 'dc2', publicKey: interKey.publicKey, issuerCommonName: 'x', issuerPublicKey: rootKey.publicKey, rootNotAfter: shortRoot, now });
    assert.equal(t.notAfter.getTime(), shortRoot.getTime());
    const l = leafTemplate({ trustDomain: TD, datacenter: 'dc2', service: 'web', publicKey: leafKey.publicKey, issuerCommonName: 'x', issuerPublicKey: interKey.publicKey, issuerNotAfter: new Date(now + HOUR), now });
    assert.equal(l.notAfter.getTime(), now + HOUR);
  });

  it('accepts DNS-label service names and refuses the rest with a clear 400', () => {
    for (const ok of ['web', 'db-1', 'A9', 'x'.repeat(63)]) assert.equal(validateServiceName(ok), ok);
    for (const bad of ['', '-web', 'web-', 'we b', 'web/x', 'web.db', 'x'.repeat(64), '../etc']) {
      assert.throws(() => validateServiceName(bad), (err) => isTrellisError(err, 'E_VALIDATION') && /must be valid DNS labels/.test(err.message), bad);
    }
  });
});
