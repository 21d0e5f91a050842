import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { TrellisError } from '../common/index.js';
import { OID, bin, der, extension, hashOfSignatureOid, keyBits as bitsOf, name, oid, parseDer, seq, signatureScheme, smallInteger, spkiOf, toPem } from './x509.js';

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;

/** The subject a secondary's intermediate CSR carries: it names the datacenter that asks. */
export function intermediateCommonName(datacenter: string): string {
  return `trellis intermediate CA ${datacenter}`;
}

/** PKCS#10 request for an intermediate: subject CN, one URI SAN, signed with the secondary's own key. */
export function buildCsr(commonName: string, uriSans: readonly string[], privateKey: KeyObject, publicKey: KeyObject): string {
  const extensions = seq([
    extension(OID.subjectAltName, false, seq(uriSans.map((u) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 6, false, u)))),
  ]);
  const info = seq([
    smallInteger(0),
    name(commonName),
    spkiOf(publicKey),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [seq([oid(OID.extensionRequest), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [extensions])])]),
  ]);
  const scheme = signatureScheme(privateKey);
  const signature = sign(scheme.hash, der(info), privateKey);
  const request = seq([info, scheme.algorithm, asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\u0000${bin(signature)}`)]);
  return toPem('CERTIFICATE REQUEST', der(request));
}

/** What the primary reads out of a CSR once its signature checked out. */
export interface ParsedCsr {
  readonly commonName: string | undefined;
  readonly publicKey: KeyObject;
  readonly keyType: string;
  readonly keyBits: number;
  readonly uriSans: readonly string[];
  /** Every other SAN, as `type:value` (DNS, IP, email, …): none is acceptable for an intermediate. */
  readonly otherSans: readonly string[];
  /** OIDs of requested extensions other than subjectAltName (a CA request is one of them). */
  readonly otherExtensions: readonly string[];
}

const MAX_CSR_BYTES = 16 * 1024;
const children = (node: Asn1 | undefined): Asn1[] => (node && Array.isArray(node.value) ? node.value : []);
const bytesOf = (node: Asn1 | undefined): string => (node && typeof node.value === 'string' ? node.value : '');
const SAN_TYPES: Readonly<Record<number, string>> = { 1: 'email', 2: 'DNS', 4: 'dirName', 6: 'URI', 7: 'IP', 8: 'RID' };

function refuse(message: string, cause?: unknown): never {
  throw new TrellisError('E_VALIDATION', `CSR refused: ${message}`, cause === undefined ? undefined : { cause });
}

/** Decodes a PEM CSR, checks its signature against its own key, and reads subject, key and SANs. */
export function parseCsr(pem: string): ParsedCsr {
  if (typeof pem !== 'string' || pem.length > MAX_CSR_BYTES) refuse(`not a PEM string of at most ${MAX_CSR_BYTES} bytes`);
  const m = /-----BEGIN CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE REQUEST-----/.exec(pem);
  if (!m) refuse('not a PEM "CERTIFICATE REQUEST"');
  const bytes = Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64');
  let root: Asn1;
  try {
    root = parseDer(bytes);
  } catch (err) {
    refuse('not valid DER', err);
  }
  const [info, signatureAlgorithm, signatureBits] = children(root);
  const [version, subject, spki, attributes] = children(info);
  if (!info || !subject || !spki || !signatureBits || bytesOf(version) !== '\u0000') refuse('not a PKCS#10 version 1 request');

  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: der(spki), format: 'der', type: 'spki' });
  } catch (err) {
    refuse('its public key cannot be read', err);
  }
  const sig = Buffer.from(bytesOf(signatureBits), 'binary').subarray(1);
  const hash = hashOfSignatureOid(asn1.derToOid(bytesOf(children(signatureAlgorithm)[0])));
  if (!hash) refuse('its signature algorithm is not ECDSA with SHA-256/384/512 or RSA with SHA-256');
  let valid: boolean;
  try {
    valid = verify(hash, der(info), publicKey, sig);
  } catch {
    valid = false;
  }
  if (!valid) refuse('its signature does not verify with its own public key');

  let commonName: string | undefined;
  for (const rdn of children(subject)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (asn1.derToOid(bytesOf(type)) === OID.commonName) commonName = forge.util.decodeUtf8(bytesOf(value));
    }
  }

  const uriSans: string[] = [];
  const otherSans: string[] = [];
  const otherExtensions: string[] = [];
  for (const attribute of children(attributes)) {
    const [type, values] = children(attribute);
    if (asn1.derToOid(bytesOf(type)) !== OID.extensionRequest) {
      otherExtensions.push(asn1.derToOid(bytesOf(type)));
      continue;
    }
    for (const extensions of children(values)) {
      for (const ext of children(extensions)) {
        const parts = children(ext);
        const id = asn1.derToOid(bytesOf(parts[0]));
        if (id !== OID.subjectAltName) {
          otherExtensions.push(id);
          continue;
        }
        const value = parseDer(Buffer.from(bytesOf(parts[parts.length - 1]), 'binary'));
        for (const generalName of children(value)) {
          const kind = SAN_TYPES[generalName.type] ?? `type${generalName.type}`;
          const text = typeof generalName.value === 'string' ? generalName.value : '(structured)';
          if (kind === 'URI') uriSans.push(text);
          else otherSans.push(`${kind}:${kind === 'IP' ? Buffer.from(text, 'binary').toString('hex') : text}`);
        }
      }
    }
  }
  const keyType = publicKey.asymmetricKeyType ?? 'unknown';
  const keyBits = bitsOf(publicKey);
  return { commonName, publicKey, keyType, keyBits, uriSans, otherSans, otherExtensions };
}

export interface IntermediateCsrPolicy {
  readonly trustDomain: string;
  /** The caller's datacenter as the transport authenticated it (the RPC subject's last token). */
  readonly datacenter: string;
}

/**
 * What the primary accepts before it signs an intermediate: a valid signature, the caller's own
 * datacenter in the subject, exactly one URI SAN `spiffe://<trust-domain>` and nothing else, no
 * other requested extension (the template decides CA-ness, not the request), and an allowed key.
 */
export function validateIntermediateCsr(pem: string, policy: IntermediateCsrPolicy): ParsedCsr {
  const csr = parseCsr(pem);
  const expected = intermediateCommonName(policy.datacenter);
  if (csr.commonName !== expected) refuse(`its subject CN is ${JSON.stringify(csr.commonName ?? '')}, but the caller is datacenter ${policy.datacenter} (${JSON.stringify(expected)})`);
  if (csr.otherSans.length > 0) refuse(`it asks for SANs other than the trust domain URI: ${csr.otherSans.join(', ')}`);
  const want = `spiffe://${policy.trustDomain}`;
  if (csr.uriSans.length !== 1 || csr.uriSans[0] !== want) refuse(`it must ask for exactly one URI SAN, ${want}; it asks for ${csr.uriSans.length ? csr.uriSans.join(', ') : 'none'}`);
  if (csr.otherExtensions.length > 0) refuse(`it requests extensions the template decides (${csr.otherExtensions.join(', ')}); only subjectAltName may be requested`);
  const keyOk = (csr.keyType === 'ec' && [224, 256, 384, 521].includes(csr.keyBits)) || (csr.keyType === 'rsa' && (csr.keyBits === 2048 || csr.keyBits === 4096));
  if (!keyOk) refuse(`its key (${csr.keyType} ${csr.keyBits || 'unknown size'}) is not EC P-224/256/384/521, RSA 2048 or RSA 4096`);
  return csr;
}
