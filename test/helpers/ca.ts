import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { createKeyStore } from '../../src/ca/index.js';
import type { Agent } from '../../src/agent/index.js';

/** Every private key in an agent's CA key store, decrypted with its passphrase file. */
export function caPrivateKeys(agent: Agent): Array<{ name: string; key: KeyObject }> {
  const dir = join(agent.config.dataDir, 'ca');
  const store = createKeyStore(dir, readFileSync(join(dir, 'passphrase'), 'utf8').trim());
  return readdirSync(dir)
    .filter((f) => f.endsWith('.key.pem'))
    .map((f) => f.replace(/\.key\.pem$/, ''))
    .map((name) => {
      const key = store.load(name);
      assert.ok(key, name);
      return { name, key };
    });
}

/** The bytes of a private key that must never appear anywhere else: its PKCS#8 DER and its secret scalar or exponent. */
function secretBytes(key: KeyObject): Buffer[] {
  const jwk = key.export({ format: 'jwk' });
  return [key.export({ type: 'pkcs8', format: 'der' }), Buffer.from(String(jwk.d), 'base64url')];
}

/** Asserts no message of a datacenter's TRELLIS_EVENTS (stream or mirror) holds any of the keys, or any PEM private key. */
export async function assertStreamHoldsNoKeys(agent: Agent, keys: readonly KeyObject[]): Promise<number> {
  const dc = agent.config.datacenter;
  const jsm = await jetstreamManager(agent.nc, { domain: dc });
  const last = (await jsm.streams.info('TRELLIS_EVENTS')).state.last_seq;
  const secrets = keys.flatMap(secretBytes);
  for (let seq = 1; seq <= last; seq++) {
    const data = Buffer.from((await jsm.streams.getMessage('TRELLIS_EVENTS', { seq }))?.data ?? new Uint8Array());
    for (const secret of secrets) assert.equal(data.includes(secret), false, `${dc} seq ${seq} holds private key material`);
    assert.equal(data.toString('latin1').includes('PRIVATE KEY'), false, `${dc} seq ${seq} holds a PEM private key`);
  }
  return last;
}

/** `openssl verify` of a certificate; returns its exit status and output instead of throwing. */
export function opensslVerify(dir: string, { ca, untrusted, cert }: { ca: readonly string[]; untrusted: readonly string[]; cert: string }): { ok: boolean; output: string } {
  const write = (name: string, pems: readonly string[]) => {
    const path = join(dir, name);
    writeFileSync(path, pems.join(''));
    return path;
  };
  const args = ['verify', '-CAfile', write('ca.pem', ca)];
  if (untrusted.length > 0) args.push('-untrusted', write('untrusted.pem', untrusted));
  args.push(write('cert.pem', [cert]));
  try {
    return { ok: true, output: execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Splits a PEM bundle into its certificates. */
export function pemCertificates(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}
