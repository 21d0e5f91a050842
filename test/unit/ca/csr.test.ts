import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCsr, generateKeyPair, intermediateCommonName, parseCsr, validateIntermediateCsr } from '../../../src/ca/index.js';
import { isTrellisError } from '../../../src/common/index.js';
import { makeTempDir } from '../../helpers/temp.js';

const TD = '11111111-2222-3333-4444-555555555555.consul';
const policy = { trustDomain: TD, datacenter: 'dc2' };

/** A CSR made by openssl, independently of trellis's encoder: what an attacker could send. */
function opensslCsr(opts: { cn: string; san?: string; ext?: string[]; keyArgs?: string[] }): string {
  const dir = makeTempDir('trellis-csr-');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['genpkey', ...(opts.keyArgs ?? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']), '-out', key], { stdio: 'pipe' });
  const args = ['req', '-new', '-key', key, '-subj', `/CN=${opts.cn}`];
  if (opts.san) args.push('-addext', `subjectAltName=${opts.san}`);
  for (const e of opts.ext ?? []) args.push('-addext', e);
  return execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

const refused = (pem: string, message: RegExp) =>
  assert.throws(() => validateIntermediateCsr(pem, policy), (err) => isTrellisError(err, 'E_VALIDATION') && /^CSR refused: /.test(err.message) && message.test(err.message));

describe('intermediate CSRs', () => {
  it('accepts what a secondary builds, for EC P-256 and RSA 2048', () => {
    for (const [type, bits] of [['ec', 256], ['rsa', 2048]] as const) {
      const k = generateKeyPair(type, bits);
      const pem = buildCsr(intermediateCommonName('dc2'), [`spiffe://${TD}`], k.privateKey, k.publicKey);
      const csr = validateIntermediateCsr(pem, policy);
      assert.equal(csr.keyType, type);
      assert.equal(csr.keyBits, bits);
      assert.deepEqual(csr.uriSans, [`spiffe://${TD}`]);
      assert.ok(csr.publicKey.equals(k.publicKey));
      // openssl reads it and agrees the signature is good.
      const dir = makeTempDir('trellis-csr-');
      writeFileSync(join(dir, 'req.pem'), pem);
      const check = spawnSync('openssl', ['req', '-in', join(dir, 'req.pem'), '-noout', '-verify'], { encoding: 'utf8' });
      assert.equal(check.status, 0, check.stderr);
      assert.match(`${check.stdout}${check.stderr}`, /verify OK/);
    }
  });

  it('accepts an equivalent CSR made by openssl', () => {
    const csr = validateIntermediateCsr(opensslCsr({ cn: intermediateCommonName('dc2'), san: `URI:spiffe://${TD}` }), policy);
    assert.equal(csr.commonName, 'trellis intermediate CA dc2');
  });

  it('refuses a CSR naming another datacenter than the caller', () => {
    refused(opensslCsr({ cn: intermediateCommonName('dc3'), san: `URI:spiffe://${TD}` }), /subject CN is "trellis intermediate CA dc3", but the caller is datacenter dc2/);
  });

  it('refuses extra URI SANs, another trust domain, DNS and IP SANs', () => {
    refused(opensslCsr({ cn: intermediateCommonName('dc2'), san: `URI:spiffe://${TD},URI:spiffe://${TD}/ns/default/dc/dc2/svc/web` }), /exactly one URI SAN/);
    refused(opensslCsr({ cn: intermediateCommonName('dc2'), san: 'URI:spiffe://other.consul' }), /exactly one URI SAN, spiffe:\/\/11111111/);
    refused(opensslCsr({ cn: intermediateCommonName('dc2'), san: `URI:spiffe://${TD},DNS:evil.example.com` }), /SANs other than the trust domain URI: DNS:evil\.example\.com/);
    refused(opensslCsr({ cn: intermediateCommonName('dc2'), san: `URI:spiffe://${TD},IP:10.0.0.1` }), /IP:0a000001/);
    refused(opensslCsr({ cn: intermediateCommonName('dc2') }), /asks for none/);
  });

  it('refuses a CSR that requests CA-ness or other extensions itself', () => {
    refused(opensslCsr({ cn: intermediateCommonName('dc2'), san: `URI:spiffe://${TD}`, ext: ['basicConstraints=critical,CA:TRUE'] }), /requests extensions the template decides \(2\.5\.29\.19\)/);
  });

  it("accepts Consul's key sizes (EC P-224/256/384/521, RSA 2048/4096) and refuses others", () => {
    const p384 = validateIntermediateCsr(opensslCsr({ cn: intermediateCommonName('dc2'), san: `URI:spiffe://${TD}`, keyArgs: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'] }), { trustDomain: TD, datacenter: 'dc2' });
    assert.equal(p384.keyBits, 384);
    const p521 = generateKeyPair('ec', 521);
    assert.equal(validateIntermediateCsr(buildCsr(intermediateCommonName('dc2'), [`spiffe://${TD}`], p521.privateKey, p521.publicKey), { trustDomain: TD, datacenter: 'dc2' }).keyBits, 521);
    refused(opensslCsr({ cn: intermediateCommonName('dc2'), san: `URI:spiffe://${TD}`, keyArgs: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1'] }), /ec unknown size/);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    refused(buildCsr(intermediateCommonName('dc2'), [`spiffe://${TD}`], small.privateKey, small.publicKey), /rsa 1024/);
  });

  it('refuses a bad signature, a key that did not sign it, and garbage', () => {
    const k = generateKeyPair('ec');
    const pem = buildCsr(intermediateCommonName('dc2'), [`spiffe://${TD}`], k.privateKey, k.publicKey);
    const body = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    // Flip a bit inside the subject's CN: the request still parses, its signature no longer matches.
    const at = body.indexOf(Buffer.from('intermediate'));
    body[at] = (body[at] ?? 0) ^ 0x01;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${body.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    refused(tampered, /signature does not verify/);
    const other = generateKeyPair('ec');
    refused(buildCsr(intermediateCommonName('dc2'), [`spiffe://${TD}`], other.privateKey, k.publicKey), /signature does not verify/);
    refused('hello', /not a PEM "CERTIFICATE REQUEST"/);
    refused('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----', /not valid DER|not a PKCS#10/);
    refused(`-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(20_000)}\n-----END CERTIFICATE REQUEST-----`, /at most 16384 bytes/);
    assert.throws(() => parseCsr(42 as unknown as string), (err) => isTrellisError(err, 'E_VALIDATION'));
  });
});
