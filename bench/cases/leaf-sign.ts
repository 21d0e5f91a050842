import { sign } from 'node:crypto';
import { buildCertificateAsync, generateKeyPair, leafTemplate, rootTemplate } from '../../src/ca/index.js';
import { opsPerSecond, result, type BenchContext, type BenchResult } from '../lib.js';

const TD = '11111111-2222-3333-4444-555555555555.consul';

/** Signatures in flight at once: enough to keep every thread of libuv's pool (4 by default) busy. */
const CONCURRENCY = 8;

/** Runs `op` with CONCURRENCY calls in flight, 20 per batch per lane. */
function lanes(op: () => Promise<unknown>): () => Promise<number> {
  return async () => {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = 0; i < 20; i++) await op();
      }),
    );
    return CONCURRENCY * 20;
  };
}

/**
 * leaf_sign.ops_per_s: a SPIFFE leaf built from its template (ASN.1 with node-forge) and signed by
 * a CA key with node:crypto, for EC P-256 and RSA-2048 issuers, as the agent does it: signatures
 * on libuv's thread pool, several in flight. Baseline: bare node:crypto signs of a TBS of the same
 * size with the same key, with the same concurrency. The leaf's own key pair is made once (a key
 * per leaf is the agent's cost, not the signer's).
 */
export async function benchLeafSign(ctx: BenchContext): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const [type, bits] of [['ec', 256], ['rsa', 2048]] as const) {
    const ca = generateKeyPair(type, bits);
    const leafKey = generateKeyPair('ec');
    const now = Date.now();
    const root = rootTemplate({ trustDomain: TD, publicKey: ca.publicKey, now, commonName: 'bench CA' });
    let n = 0;
    const rate = await opsPerSecond(
      ctx.seconds,
      lanes(() =>
        buildCertificateAsync(
          leafTemplate({ trustDomain: TD, datacenter: 'dc1', service: `svc-${n++ % 100}`, publicKey: leafKey.publicKey, issuerCommonName: 'bench CA', issuerPublicKey: ca.publicKey, issuerNotAfter: root.notAfter, now }),
          ca.privateKey,
        ),
      ),
    );
    const tbs = Buffer.alloc(type === 'ec' ? 420 : 460, 7);
    const raw = await opsPerSecond(
      ctx.seconds,
      lanes(() => new Promise((resolve, reject) => sign('sha256', tbs, ca.privateKey, (err, sig) => (err ? reject(err) : resolve(sig))))),
    );
    results.push(result(`leaf_sign.${type === 'ec' ? 'ec_p256' : 'rsa_2048'}.ops_per_s`, rate, 'ops/s', raw, { target: '>= 2,000' }));
  }
  return results;
}
