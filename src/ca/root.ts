import { createHash, randomInt, randomUUID, X509Certificate } from 'node:crypto';
import type { CAConfigRecord, CARootRecord, CAStateRow, TrellisEvent } from '../events/index.js';
import { SCHEMA_VERSION } from '../events/index.js';
import { crossSignTemplate, rootTemplate, DEFAULT_TTLS } from './templates.js';
import { buildCertificate, colonHex, generateKeyPair, keyIdentifier, type KeyPair, type PrivateKeyType } from './x509.js';
import type { KeyObject } from 'node:crypto';

/** Consul's root ID: the colon-hex SHA-1 fingerprint of the certificate's DER. */
export function certificateFingerprint(pem: string): string {
  return colonHex(createHash('sha1').update(new X509Certificate(pem).raw).digest());
}

/** A serial that is a safe JSON integer (Consul reports root serials as numbers). */
export function numericSerial(): { readonly value: number; readonly bytes: Buffer } {
  const value = randomInt(1, 2 ** 47) * 64 + randomInt(0, 64);
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(value));
  return { value, bytes };
}

export interface NewRoot {
  readonly keyPair: KeyPair;
  readonly record: CARootRecord;
  readonly trustDomain: string;
}

/** A fresh root: key pair, trust domain `<uuid>.consul`, self-signed certificate, its public record. */
export function createRoot({ now, keyType = 'ec', keyBits, ttlMs = DEFAULT_TTLS.rootMs, trustDomain = `${randomUUID()}.consul`, name = 'trellis CA 1' }: {
  now: number;
  keyType?: PrivateKeyType;
  keyBits?: number;
  ttlMs?: number;
  trustDomain?: string;
  name?: string;
}): NewRoot {
  const keyPair = generateKeyPair(keyType, keyBits);
  const serial = numericSerial();
  const template = { ...rootTemplate({ trustDomain, publicKey: keyPair.publicKey, now, ttlMs, commonName: name }), serial: serial.bytes };
  const pem = buildCertificate(template, keyPair.privateKey);
  return {
    keyPair,
    trustDomain,
    record: {
      ID: certificateFingerprint(pem),
      Name: name,
      SerialNumber: serial.value,
      SigningKeyID: colonHex(keyIdentifier(keyPair.publicKey)),
      NotBefore: template.notBefore.getTime(),
      NotAfter: template.notAfter.getTime(),
      RootCert: pem,
      IntermediateCerts: [],
      PrivateKeyType: keyPair.type,
      PrivateKeyBits: keyPair.bits,
    },
  };
}

/** The write decision: the first root, unless a root exists (then nothing, and the existing state). */
export function decideRootCreation(
  state: { caState(): CAStateRow | undefined },
  root: NewRoot,
  at: number,
  by: string,
  config?: CAConfigRecord,
): { event?: TrellisEvent; result: string } {
  const existing = state.caState();
  if (existing) return { result: existing.ActiveRootID };
  return {
    event: { v: SCHEMA_VERSION, type: 'CARootCreated', at, by, data: { trustDomain: root.trustDomain, root: root.record, ...(config ? { config } : {}) } },
    result: root.record.ID,
  };
}

/** The file name (in the CA key store) of a root's private key. */
export function rootKeyName(root: { SigningKeyID: string }): string {
  return `root-${root.SigningKeyID.replace(/:/g, '')}`;
}

/** The next root's name: roots are numbered "trellis CA <n>", so each published root has its own subject. */
export function nextRootName(published: Iterable<{ Name: string }>): string {
  let highest = 0;
  for (const r of published) {
    const n = /^trellis CA (\d+)$/.exec(r.Name)?.[1];
    if (n !== undefined) highest = Math.max(highest, Number(n));
  }
  return `trellis CA ${highest + 1}`;
}

/** The certificate in which `previous` (with its private key) cross-signs the new root. */
export function crossSignRoot(next: NewRoot, previous: { RootCert: string; NotAfter: number }, previousKey: KeyObject): string {
  const previousCert = new X509Certificate(previous.RootCert);
  return buildCertificate(
    crossSignTemplate({
      rootCommonName: next.record.Name,
      rootPublicKey: next.keyPair.publicKey,
      rootNotBefore: new Date(next.record.NotBefore),
      rootNotAfter: new Date(next.record.NotAfter),
      trustDomain: next.trustDomain,
      issuerCommonName: previousCert.subject.replace(/^CN=/, ''),
      issuerPublicKey: previousCert.publicKey,
      issuerNotAfter: new Date(previous.NotAfter),
    }),
    previousKey,
  );
}
