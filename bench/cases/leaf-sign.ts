import { sign } from 'node:crypto';
import { buildCertificate, generateKeyPair, leafTemplate, rootTemplate } from '../../src/ca/index.js';
import { opsPerSecond, result, type BenchContext, type BenchResult } from '../lib.js';

const TD = '11111111-2222-3333-4444-555555555555.consul';

/**
 * leaf_sign.ops_per_s: a SPIFFE leaf built from its template (ASN.1 with node-forge) and signed by
 * a CA key with node:crypto, for EC P-256 and RSA-2048 issuers. Baseline: bare node:crypto signs
 * of a TBS of the same size with the same key. The leaf's own key pair is made once (a key per
 * leaf is the agent's cost, not the signer's).
 */
export async function benchLeafSign(ctx: BenchContext): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const [type, bits] of [['ec', 256], ['rsa', 2048]] as const) {
    const ca = generateKeyPair(type, bits);
    const leafKey = generateKeyPair('ec');
    const now = Date.now();
    const root = rootTemplate({ trustDomain: TD, publicKey: ca.publicKey, now, commonName: 'bench CA' });
    let n = 0;
    const rate = await opsPerSecond(ctx.seconds, () => {
      for (let i = 0; i < 20; i++) {
        buildCertificate(
          leafTemplate({ trustDomain: TD, datacenter: 'dc1', service: `svc-${n++ % 100}`, publicKey: leafKey.publicKey, issuerCommonName: 'bench CA', issuerPublicKey: ca.publicKey, issuerNotAfter: root.notAfter, now }),
          ca.privateKey,
        );
      }
      return 20;
    });
    const tbs = Buffer.alloc(type === 'ec' ? 420 : 460, 7);
    const raw = await opsPerSecond(ctx.seconds, () => {
      for (let i = 0; i < 20; i++) sign('sha256', tbs, ca.privateKey);
      return 20;
    });
    results.push(result(`leaf_sign.${type === 'ec' ? 'ec_p256' : 'rsa_2048'}.ops_per_s`, rate, 'ops/s', raw, { target: '>= 2,000' }));
  }
  return results;
}
