import type { KeyObject } from 'node:crypto';
import { TrellisError } from '../common/index.js';
import { randomSerial, type CertificateTemplate } from './x509.js';

const HOUR = 3_600_000;

/** Consul's CA defaults: LeafCertTTL 72h, IntermediateCertTTL 8760h, RootCertTTL 87600h. */
export const DEFAULT_TTLS = { leafMs: 72 * HOUR, intermediateMs: 8760 * HOUR, rootMs: 87_600 * HOUR } as const;

/** Leaves are valid from a minute ago: clocks across datacenters are never quite equal. */
export const LEAF_BACKDATE_MS = 60_000;

const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** A service name as it appears in a SPIFFE ID and a certificate: a DNS label. */
export function validateServiceName(service: string): string {
  if (!SERVICE_NAME.test(service)) {
    throw new TrellisError(
      'E_VALIDATION',
      `Invalid service name ${JSON.stringify(service)}: service names used with Connect must be valid DNS labels (letters, digits and "-", at most 63, not starting or ending with "-")`,
    );
  }
  return service;
}

export interface RootTemplateInput {
  readonly trustDomain: string;
  readonly publicKey: KeyObject;
  readonly now: number;
  /** @default DEFAULT_TTLS.rootMs */
  readonly ttlMs?: number;
  /** Consul names roots "Consul CA Primary Cert"; trellis numbers them. */
  readonly commonName: string;
}

/** A self-signed root: CA, keyCertSign + cRLSign + digitalSignature, URI SAN spiffe://<trust-domain>. */
export function rootTemplate({ trustDomain, publicKey, now, ttlMs = DEFAULT_TTLS.rootMs, commonName }: RootTemplateInput): CertificateTemplate {
  return {
    serial: randomSerial(),
    subjectCommonName: commonName,
    issuerCommonName: commonName,
    notBefore: new Date(now - LEAF_BACKDATE_MS),
    notAfter: new Date(now + ttlMs),
    subjectPublicKey: publicKey,
    issuerPublicKey: publicKey,
    ca: true,
    keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
    uriSans: [`spiffe://${trustDomain}`],
  };
}

export interface CrossSignTemplateInput {
  /** The new root, as self-signed: its subject, key, validity and URI SAN are kept. */
  readonly rootCommonName: string;
  readonly rootPublicKey: KeyObject;
  readonly rootNotBefore: Date;
  readonly rootNotAfter: Date;
  readonly trustDomain: string;
  /** The previous root, which signs. */
  readonly issuerCommonName: string;
  readonly issuerPublicKey: KeyObject;
  readonly issuerNotAfter: Date;
}

/**
 * The previous root's signature over the new root (Consul's CrossSignCA): same subject, key and
 * extensions as the new root, issued by the previous one, so a chain leaf → … → new root →
 * previous root verifies for a peer that trusts only the previous root. It never outlives its issuer.
 */
export function crossSignTemplate(input: CrossSignTemplateInput): CertificateTemplate {
  return {
    serial: randomSerial(),
    subjectCommonName: input.rootCommonName,
    issuerCommonName: input.issuerCommonName,
    notBefore: input.rootNotBefore,
    notAfter: new Date(Math.min(input.rootNotAfter.getTime(), input.issuerNotAfter.getTime())),
    subjectPublicKey: input.rootPublicKey,
    issuerPublicKey: input.issuerPublicKey,
    ca: true,
    keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
    uriSans: [`spiffe://${input.trustDomain}`],
  };
}

export interface IntermediateTemplateInput {
  readonly trustDomain: string;
  readonly datacenter: string;
  /** The secondary's public key, from its verified CSR. */
  readonly publicKey: KeyObject;
  readonly issuerCommonName: string;
  readonly issuerPublicKey: KeyObject;
  /** The root's NotAfter: an intermediate never outlives it. */
  readonly rootNotAfter: Date;
  readonly now: number;
  /** @default DEFAULT_TTLS.intermediateMs */
  readonly ttlMs?: number;
}

/** The fixed intermediate template: whatever the CSR asked, CA with pathlen 0, keyCertSign + cRLSign. */
export function intermediateTemplate(input: IntermediateTemplateInput): CertificateTemplate {
  const notAfter = Math.min(input.now + (input.ttlMs ?? DEFAULT_TTLS.intermediateMs), input.rootNotAfter.getTime());
  return {
    serial: randomSerial(),
    subjectCommonName: `trellis intermediate CA ${input.datacenter}`,
    issuerCommonName: input.issuerCommonName,
    notBefore: new Date(input.now - LEAF_BACKDATE_MS),
    notAfter: new Date(notAfter),
    subjectPublicKey: input.publicKey,
    issuerPublicKey: input.issuerPublicKey,
    ca: true,
    pathLength: 0,
    keyUsage: ['keyCertSign', 'cRLSign'],
    uriSans: [`spiffe://${input.trustDomain}`],
  };
}

export interface LeafTemplateInput {
  readonly trustDomain: string;
  readonly datacenter: string;
  readonly service: string;
  readonly publicKey: KeyObject;
  readonly issuerCommonName: string;
  readonly issuerPublicKey: KeyObject;
  /** The signing certificate's NotAfter: a leaf never outlives its issuer. */
  readonly issuerNotAfter: Date;
  readonly now: number;
  /** @default DEFAULT_TTLS.leafMs */
  readonly ttlMs?: number;
}

/**
 * A SPIFFE X.509-SVID for a service: exactly one URI SAN
 * `spiffe://<trust-domain>/ns/default/dc/<dc>/svc/<service>`, not a CA, digitalSignature +
 * keyEncipherment, serverAuth + clientAuth, NotBefore a minute back.
 */
export function leafTemplate(input: LeafTemplateInput): CertificateTemplate {
  const service = validateServiceName(input.service);
  const notAfter = Math.min(input.now + (input.ttlMs ?? DEFAULT_TTLS.leafMs), input.issuerNotAfter.getTime());
  return {
    serial: randomSerial(),
    subjectCommonName: service,
    issuerCommonName: input.issuerCommonName,
    notBefore: new Date(input.now - LEAF_BACKDATE_MS),
    notAfter: new Date(notAfter),
    subjectPublicKey: input.publicKey,
    issuerPublicKey: input.issuerPublicKey,
    ca: false,
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extendedKeyUsage: ['serverAuth', 'clientAuth'],
    uriSans: [`spiffe://${input.trustDomain}/ns/default/dc/${input.datacenter}/svc/${service}`],
  };
}
