import { createHash, generateKeyPair as generateKeyPairCb, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { TrellisError } from '../common/index.js';

// Certificates are built as ASN.1 with node-forge (whose certificate API knows only RSA) and signed
// with node:crypto (forge's pure-JS RSA is ~60× slower, and it has no ECDSA at all).

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;
const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;

export const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  extensionRequest: '1.2.840.113549.1.9.14',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

export type PrivateKeyType = 'ec' | 'rsa';

export interface KeyPair {
  readonly type: PrivateKeyType;
  readonly bits: number;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** Consul's EC key sizes and the NIST curves they name. */
export const EC_CURVES: Readonly<Record<number, string>> = { 224: 'P-224', 256: 'P-256', 384: 'P-384', 521: 'P-521' };
/** OpenSSL's names for those curves, as `asymmetricKeyDetails.namedCurve` reports them. */
const CURVE_BITS: Readonly<Record<string, number>> = { secp224r1: 224, prime256v1: 256, secp384r1: 384, secp521r1: 521 };

/** A key's size as Consul counts it: the curve's bits for EC, the modulus length for RSA (0 when unknown). */
export function keyBits(key: KeyObject): number {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') return CURVE_BITS[details?.namedCurve ?? ''] ?? 0;
  return details?.modulusLength ?? 0;
}

/** EC (Consul's default, P-256) or RSA 2048/4096, as Consul's PrivateKeyType/PrivateKeyBits. */
export function generateKeyPair(type: PrivateKeyType = 'ec', bits = type === 'ec' ? 256 : 2048): KeyPair {
  if (type === 'ec') {
    const namedCurve = EC_CURVES[bits];
    if (!namedCurve) throw new TrellisError('E_VALIDATION', 'EC key length must be one of (224, 256, 384, 521) bits');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
    return { type, bits, privateKey, publicKey };
  }
  if (bits !== 2048 && bits !== 4096) throw new TrellisError('E_VALIDATION', 'RSA key length must be 2048 or 4096 bits');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { type, bits, privateKey, publicKey };
}

export const bin = (b: Uint8Array) => Buffer.from(b).toString('binary');
export const seq = (items: Asn1[]) => asn1.create(U, T.SEQUENCE, true, items);
export const oid = (id: string) => asn1.create(U, T.OID, false, asn1.oidToDer(id).getBytes());
const octets = (b: Uint8Array) => asn1.create(U, T.OCTETSTRING, false, bin(b));
export const bool = (v: boolean) => asn1.create(U, T.BOOLEAN, false, String.fromCharCode(v ? 0xff : 0));
export const der = (node: Asn1) => Buffer.from(asn1.toDer(node).getBytes(), 'binary');

/**
 * Parses DER keeping BIT STRINGs opaque: by default forge decodes a BIT STRING that looks like DER
 * (an RSA public key does) into children, and its bytes are then no longer the key's bits.
 */
export function parseDer(bytes: Buffer): Asn1 {
  const fromDer = asn1.fromDer as unknown as (input: string, options: { strict: boolean; decodeBitStrings: boolean }) => Asn1;
  return fromDer(bytes.toString('binary'), { strict: true, decodeBitStrings: false });
}

const spkiDers = new WeakMap<KeyObject, Buffer>();

/** A key's SubjectPublicKeyInfo DER, exported once per key (the export is the costly part). */
function spkiDer(publicKey: KeyObject): Buffer {
  let spki = spkiDers.get(publicKey);
  if (!spki) {
    spki = publicKey.export({ type: 'spki', format: 'der' });
    spkiDers.set(publicKey, spki);
  }
  return spki;
}

/** The subject's SubjectPublicKeyInfo, exactly as node:crypto encodes it. */
export function spkiOf(publicKey: KeyObject): Asn1 {
  return parseDer(spkiDer(publicKey));
}

/** A positive INTEGER from big-endian bytes (a leading 0x00 when the high bit is set). */
function positiveInteger(bytes: Uint8Array): Asn1 {
  let b = Buffer.from(bytes);
  while (b.length > 1 && b[0] === 0 && (b[1] ?? 0) < 0x80) b = b.subarray(1);
  if ((b[0] ?? 0) >= 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return asn1.create(U, T.INTEGER, false, bin(b));
}

export function smallInteger(n: number): Asn1 {
  return asn1.create(U, T.INTEGER, false, asn1.integerToDer(n).getBytes());
}

/** BIT STRING with DER's rule for named bits: trailing zero bits dropped, their count in the first byte. */
function namedBits(bits: readonly number[]): Asn1 {
  const top = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(top / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  const unused = 7 - (top & 7);
  return asn1.create(U, T.BITSTRING, false, String.fromCharCode(unused) + bin(bytes));
}

export function name(commonName: string): Asn1 {
  return seq([asn1.create(U, T.SET, true, [seq([oid(OID.commonName), asn1.create(U, T.UTF8, false, forge.util.encodeUtf8(commonName))])])]);
}

function time(date: Date): Asn1 {
  return date.getUTCFullYear() < 2050
    ? asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(U, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

export function extension(id: string, critical: boolean, value: Asn1): Asn1 {
  return seq([oid(id), ...(critical ? [bool(true)] : []), octets(der(value))]);
}

const keyIds = new WeakMap<KeyObject, Buffer>();

/** RFC 5280 key identifier, method 1: SHA-1 of the subjectPublicKey BIT STRING's bits (memoized per key). */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const known = keyIds.get(publicKey);
  if (known) return known;
  const id = computeKeyIdentifier(publicKey);
  keyIds.set(publicKey, id);
  return id;
}

function computeKeyIdentifier(publicKey: KeyObject): Buffer {
  const bitString = (spkiOf(publicKey).value as Asn1[])[1]?.value;
  if (typeof bitString !== 'string') throw new TrellisError('E_INTERNAL', 'unexpected SubjectPublicKeyInfo encoding');
  const bits = Buffer.from(bitString, 'binary').subarray(1);
  return createHash('sha1').update(bits).digest();
}

/**
 * How a key signs, as Go's crypto/x509 (and so Consul) chooses by default: ECDSA with SHA-256 for
 * P-224/P-256, SHA-384 for P-384, SHA-512 for P-521; RSA PKCS#1 v1.5 with SHA-256.
 */
export function signatureScheme(key: KeyObject): { readonly hash: string; readonly algorithm: Asn1 } {
  if (key.asymmetricKeyType === 'ec') {
    const bits = keyBits(key);
    if (bits === 384) return { hash: 'sha384', algorithm: seq([oid(OID.ecdsaWithSha384)]) };
    if (bits === 521) return { hash: 'sha512', algorithm: seq([oid(OID.ecdsaWithSha512)]) };
    return { hash: 'sha256', algorithm: seq([oid(OID.ecdsaWithSha256)]) };
  }
  if (key.asymmetricKeyType === 'rsa') return { hash: 'sha256', algorithm: seq([oid(OID.sha256WithRsa), asn1.create(U, T.NULL, false, '')]) };
  throw new TrellisError('E_VALIDATION', `unsupported signing key type ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** The digest a signature algorithm OID names (undefined: not one trellis accepts). */
export function hashOfSignatureOid(id: string): string | undefined {
  return { [OID.ecdsaWithSha256]: 'sha256', [OID.ecdsaWithSha384]: 'sha384', [OID.ecdsaWithSha512]: 'sha512', [OID.sha256WithRsa]: 'sha256' }[id];
}

export type KeyUsage = 'digitalSignature' | 'keyEncipherment' | 'keyCertSign' | 'cRLSign';
const KEY_USAGE_BIT: Readonly<Record<KeyUsage, number>> = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 };

/** Everything a trellis certificate template decides; `buildCertificate` only encodes and signs it. */
export interface CertificateTemplate {
  /** Big-endian serial bytes (random, positive). */
  readonly serial: Uint8Array;
  readonly subjectCommonName: string;
  readonly issuerCommonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subjectPublicKey: KeyObject;
  /** The issuer's public key, for the authority key identifier (the subject's own when self-signed). */
  readonly issuerPublicKey: KeyObject;
  readonly ca: boolean;
  /** With `ca`: the path length constraint (absent: none). */
  readonly pathLength?: number;
  readonly keyUsage: readonly KeyUsage[];
  readonly extendedKeyUsage?: readonly ('serverAuth' | 'clientAuth')[];
  readonly uriSans: readonly string[];
  /** DNS names (a TLS server certificate, such as the dev NATS servers'). */
  readonly dnsSans?: readonly string[];
  /** IPv4 addresses in dotted form. */
  readonly ipSans?: readonly string[];
}

/** Encodes a template as a DER TBSCertificate for the issuer's key. */
function encodeTbs(template: CertificateTemplate, issuerPrivateKey: KeyObject): { tbs: Asn1; tbsDer: Buffer; scheme: ReturnType<typeof signatureScheme> } {
  const spki = spkiOf(template.subjectPublicKey);
  const scheme = signatureScheme(issuerPrivateKey);
  const extensions: Asn1[] = [
    extension(OID.basicConstraints, true, seq(template.ca ? [bool(true), ...(template.pathLength === undefined ? [] : [smallInteger(template.pathLength)])] : [])),
    extension(OID.keyUsage, true, namedBits(template.keyUsage.map((u) => KEY_USAGE_BIT[u]))),
  ];
  if (template.extendedKeyUsage && template.extendedKeyUsage.length > 0) {
    extensions.push(extension(OID.extKeyUsage, false, seq(template.extendedKeyUsage.map((u) => oid(OID[u])))));
  }
  // GeneralName: dNSName [2] and uniformResourceIdentifier [6] IMPLICIT IA5String, iPAddress [7]
  // IMPLICIT OCTET STRING. Critical when the subject is empty (SPIFFE X.509-SVID leaves may have
  // one); trellis always sets a CN, so non-critical.
  const sans = [
    ...(template.dnsSans ?? []).map((d) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 2, false, d)),
    ...(template.ipSans ?? []).map((ip) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 7, false, bin(Uint8Array.from(ip.split('.').map(Number))))),
    ...template.uriSans.map((u) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 6, false, u)),
  ];
  if (sans.length > 0) extensions.push(extension(OID.subjectAltName, false, seq(sans)));
  extensions.push(extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(template.subjectPublicKey))));
  extensions.push(extension(OID.authorityKeyIdentifier, false, seq([asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, bin(keyIdentifier(template.issuerPublicKey)))])));

  const tbs = seq([
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [smallInteger(2)]),
    positiveInteger(template.serial),
    scheme.algorithm,
    name(template.issuerCommonName),
    seq([time(template.notBefore), time(template.notAfter)]),
    name(template.subjectCommonName),
    spki,
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 3, true, [seq(extensions)]),
  ]);
  return { tbs, tbsDer: der(tbs), scheme };
}

function assemble(tbs: Asn1, issuerPrivateKey: KeyObject, signature: Buffer): string {
  const certificate = seq([tbs, signatureScheme(issuerPrivateKey).algorithm, asn1.create(U, T.BITSTRING, false, `\u0000${bin(signature)}`)]);
  return toPem('CERTIFICATE', der(certificate));
}

/** PEM armour: base64 in lines of 64 characters. */
export function toPem(label: string, bytes: Buffer): string {
  const b64 = bytes.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Encodes a template as a TBSCertificate, signs it with the issuer's key (see signatureScheme), returns PEM. */
export function buildCertificate(template: CertificateTemplate, issuerPrivateKey: KeyObject): string {
  const { tbs, tbsDer, scheme } = encodeTbs(template, issuerPrivateKey);
  return assemble(tbs, issuerPrivateKey, sign(scheme.hash, tbsDer, issuerPrivateKey));
}

/**
 * As buildCertificate, with the signature computed on libuv's thread pool: the event loop stays
 * free during an RSA signature (about 0.7 ms), and concurrent signatures use every core.
 */
export function buildCertificateAsync(template: CertificateTemplate, issuerPrivateKey: KeyObject): Promise<string> {
  const { tbs, tbsDer, scheme } = encodeTbs(template, issuerPrivateKey);
  return new Promise((resolve, reject) => {
    sign(scheme.hash, tbsDer, issuerPrivateKey, (err, signature) => (err ? reject(err) : resolve(assemble(tbs, issuerPrivateKey, signature))));
  });
}

/** As generateKeyPair, on libuv's thread pool (an RSA-2048 key takes tens of milliseconds). */
export function generateKeyPairAsync(type: PrivateKeyType = 'ec', bits = type === 'ec' ? 256 : 2048): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) => (err ? reject(err) : resolve({ type, bits, privateKey, publicKey }));
    if (type === 'ec') {
      const namedCurve = EC_CURVES[bits];
      if (!namedCurve) throw new TrellisError('E_VALIDATION', 'EC key length must be one of (224, 256, 384, 521) bits');
      generateKeyPairCb('ec', { namedCurve }, done);
      return;
    }
    if (bits !== 2048 && bits !== 4096) throw new TrellisError('E_VALIDATION', 'RSA key length must be 2048 or 4096 bits');
    generateKeyPairCb('rsa', { modulusLength: bits }, done);
  });
}

/** Random bytes drawn 4 KiB at a time: one call into OpenSSL's CSPRNG per 256 serials. */
let randomPool = Buffer.alloc(0);
let randomPoolAt = 0;

/** 128 random bits as a positive serial. */
export function randomSerial(): Buffer {
  if (randomPoolAt + 16 > randomPool.length) {
    randomPool = randomBytes(4096);
    randomPoolAt = 0;
  }
  const b = Buffer.from(randomPool.subarray(randomPoolAt, randomPoolAt + 16));
  randomPool.fill(0, randomPoolAt, randomPoolAt + 16);
  randomPoolAt += 16;
  b[0] = (b[0] ?? 0) & 0x7f;
  return b;
}

/** Colon-separated lowercase hex, the way Consul prints serials and key ids. */
export function colonHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1:');
}
