import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCertificate, generateKeyPair, randomSerial, type KeyPair, type PrivateKeyType } from '../../../src/ca/index.js';
import { makeTempDir } from '../../helpers/temp.js';

const TRUST_DOMAIN = '11111111-2222-3333-4444-555555555555.consul';
const HOUR = 3_600_000;

function chain(type: PrivateKeyType, bits?: number) {
  const now = Date.now();
  const rootKey: KeyPair = generateKeyPair(type, bits);
  const interKey: KeyPair = generateKeyPair(type, bits);
  const leafKey: KeyPair = generateKeyPair(type, bits);
  const root = buildCertificate(
    {
      serial: randomSerial(),
      subjectCommonName: 'trellis CA 1',
      issuerCommonName: 'trellis CA 1',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 87_600 * HOUR),
      subjectPublicKey: rootKey.publicKey,
      issuerPublicKey: rootKey.publicKey,
      ca: true,
      keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
      uriSans: [`spiffe://${TRUST_DOMAIN}`],
    },
    rootKey.privateKey,
  );
  const intermediate = buildCertificate(
    {
      serial: randomSerial(),
      subjectCommonName: 'trellis CA dc2',
      issuerCommonName: 'trellis CA 1',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 8760 * HOUR),
      subjectPublicKey: interKey.publicKey,
      issuerPublicKey: rootKey.publicKey,
      ca: true,
      pathLength: 0,
      keyUsage: ['keyCertSign', 'cRLSign'],
      uriSans: [`spiffe://${TRUST_DOMAIN}`],
    },
    rootKey.privateKey,
  );
  const leaf = buildCertificate(
    {
      serial: randomSerial(),
      subjectCommonName: 'web',
      issuerCommonName: 'trellis CA dc2',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 72 * HOUR),
      subjectPublicKey: leafKey.publicKey,
      issuerPublicKey: interKey.publicKey,
      ca: false,
      keyUsage: ['digitalSignature', 'keyEncipherment'],
      extendedKeyUsage: ['serverAuth', 'clientAuth'],
      uriSans: [`spiffe://${TRUST_DOMAIN}/ns/default/dc/dc2/svc/web`],
    },
    interKey.privateKey,
  );
  return { root, intermediate, leaf, rootKey, interKey, leafKey };
}

for (const [type, bits] of [['ec', 256], ['rsa', 2048]] as const) {
  describe(`X.509 building (${type} ${bits})`, () => {
    const c = chain(type, bits);
    const root = new X509Certificate(c.root);
    const inter = new X509Certificate(c.intermediate);
    const leaf = new X509Certificate(c.leaf);

    it('builds a root, an intermediate and a leaf that chain and verify', () => {
      assert.ok(root.verify(c.rootKey.publicKey), 'root is self-signed');
      assert.ok(inter.checkIssued(root) && inter.verify(c.rootKey.publicKey));
      assert.ok(leaf.checkIssued(inter) && leaf.verify(c.interKey.publicKey));
      assert.ok(!leaf.verify(c.rootKey.publicKey));
    });

    it('marks CAs and leaves as the templates say, with the SPIFFE URI SANs', () => {
      assert.equal(root.ca, true);
      assert.equal(inter.ca, true);
      assert.equal(leaf.ca, false);
      assert.equal(root.subjectAltName, `URI:spiffe://${TRUST_DOMAIN}`);
      assert.equal(leaf.subjectAltName, `URI:spiffe://${TRUST_DOMAIN}/ns/default/dc/dc2/svc/web`);
      assert.deepEqual(leaf.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
      assert.equal(leaf.subject, 'CN=web');
      assert.equal(leaf.issuer, 'CN=trellis CA dc2');
      assert.ok(new Date(leaf.validFrom).getTime() < Date.now());
    });

    it('passes openssl verify through the intermediate, with the extensions openssl expects', () => {
      const dir = makeTempDir('trellis-x509-');
      writeFileSync(join(dir, 'root.pem'), c.root);
      writeFileSync(join(dir, 'inter.pem'), c.intermediate);
      writeFileSync(join(dir, 'leaf.pem'), c.leaf);
      const out = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'inter.pem'), join(dir, 'leaf.pem')]).toString();
      assert.match(out, /leaf\.pem: OK/);
      const text = execFileSync('openssl', ['x509', '-in', join(dir, 'inter.pem'), '-noout', '-text']).toString();
      assert.match(text, /CA:TRUE, pathlen:0/);
      assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
      const leafText = execFileSync('openssl', ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-text']).toString();
      assert.match(leafText, /CA:FALSE/);
      assert.match(leafText, /Digital Signature, Key Encipherment/);
      assert.match(leafText, /TLS Web Server Authentication, TLS Web Client Authentication/);
      assert.match(leafText, /X509v3 Authority Key Identifier/);
      // The leaf's authority key id is the intermediate's subject key id (RFC 5280 method 1).
      const ski = (t: string) => /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(t)?.[1];
      const aki = (t: string) => /Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(t)?.[1];
      assert.ok(ski(text));
      assert.equal(aki(leafText), ski(text));
    });
  });
}
