import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { TrellisError, errorMessage, type Logger } from '../common/index.js';
import { SCHEMA_VERSION, type CAStateRow, type CARootRow, type IntermediateRow } from '../events/index.js';
import type { Writer } from '../log/index.js';
import { buildCsr, intermediateCommonName, validateIntermediateCsr } from './csr.js';
import type { KeyStore } from './key-store.js';
import { intermediateTemplate } from './templates.js';
import { buildCertificate, generateKeyPair, randomSerial } from './x509.js';

/** The key and certificate this datacenter signs leaves with. */
export interface Signer {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly certPem: string;
  readonly commonName: string;
  readonly notAfter: Date;
  /** Certificates to send after the leaf (the intermediate at a secondary; none at the primary). */
  readonly chain: readonly string[];
  readonly trustDomain: string;
}

export interface CertificateAuthority {
  /** Primary: sign a secondary's intermediate CSR; `caller` is the RPC subject's last token. */
  signIntermediate(csrPem: string, caller: string): Promise<{ certificate: string; index: number }>;
  /** Secondary: make sure this datacenter holds a current intermediate (asks the primary when not). */
  ensureIntermediate(): Promise<void>;
  /** The signer for leaves, or why there is none yet. */
  signer(): Signer | { readonly missing: string };
}

export interface CaView {
  caState(): CAStateRow | undefined;
  caRoots(): IterableIterator<CARootRow>;
  intermediate(datacenter: string): IntermediateRow | undefined;
  waitForSeq(seq: number, timeoutMs: number): Promise<boolean>;
}

export interface CertificateAuthorityDeps {
  readonly datacenter: string;
  readonly primary: string;
  readonly view: CaView;
  readonly keys: KeyStore;
  /** Present at the primary. */
  readonly writer: Writer | undefined;
  /** A secondary's request to the primary (`trellis.rpc.<primary>.ca.sign.<dc>`). */
  readonly requestSignature: (csrPem: string) => Promise<{ certificate: string; index: number }>;
  readonly logger: Logger;
  readonly now?: () => number;
  /** @default 50 */
  readonly csrMaxPerSecond?: number;
}

const rootKeyName = (root: CARootRow) => `root-${root.SigningKeyID.replace(/:/g, '')}`;
const samePublicKey = (a: KeyObject, b: KeyObject) => a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));

export function createCertificateAuthority(deps: CertificateAuthorityDeps): CertificateAuthority {
  const { datacenter, primary, view, keys, writer, logger } = deps;
  const now = deps.now ?? Date.now;
  const isPrimary = datacenter === primary;
  const log = logger.child({ component: 'ca' });
  const perSecond = deps.csrMaxPerSecond ?? 50;
  let tokens = perSecond;
  let refilledAt = now();
  const rootKeys = new Map<string, KeyObject>();
  let intermediateKey: { privateKey: KeyObject; publicKey: KeyObject } | undefined;

  function activeRoot(): { state: CAStateRow; root: CARootRow } | undefined {
    const state = view.caState();
    if (!state) return undefined;
    for (const root of view.caRoots()) if (root.ID === state.ActiveRootID) return { state, root };
    return undefined;
  }

  function rootPrivateKey(root: CARootRow): KeyObject {
    let key = rootKeys.get(root.ID);
    if (!key) {
      key = keys.load(rootKeyName(root));
      if (!key) throw new TrellisError('E_UNAVAILABLE', `the key of root ${root.ID} is not on this primary's disk`);
      rootKeys.set(root.ID, key);
    }
    return key;
  }

  function takeToken(): void {
    const t = now();
    tokens = Math.min(perSecond, tokens + ((t - refilledAt) / 1000) * perSecond);
    refilledAt = t;
    if (tokens < 1) throw new TrellisError('E_UNAVAILABLE', `CSR rate limit reached (csr_max_per_second ${perSecond}): try again shortly`);
    tokens -= 1;
  }

  function localIntermediateKey(): { privateKey: KeyObject; publicKey: KeyObject } {
    if (intermediateKey) return intermediateKey;
    const name = `intermediate-${datacenter}`;
    const stored = keys.load(name);
    if (stored) intermediateKey = { privateKey: stored, publicKey: createPublicKey(stored) };
    else {
      const pair = generateKeyPair('ec');
      keys.save(name, pair.privateKey);
      intermediateKey = { privateKey: pair.privateKey, publicKey: pair.publicKey };
    }
    return intermediateKey;
  }

  /** The intermediate in the view is ours (our key), under the active root, and before half-life. */
  function currentIntermediate(): IntermediateRow | undefined {
    const active = activeRoot();
    const row = view.intermediate(datacenter);
    if (!active || !row || row.RootID !== active.root.ID) return undefined;
    const cert = new X509Certificate(row.CertPEM);
    if (!samePublicKey(cert.publicKey, localIntermediateKey().publicKey)) return undefined;
    const from = new Date(cert.validFrom).getTime();
    if (now() > from + (row.NotAfter - from) / 2) return undefined;
    return row;
  }

  return {
    async signIntermediate(csrPem, caller) {
      if (!isPrimary || !writer) throw new TrellisError('E_INTERNAL', 'only the primary signs intermediates');
      takeToken();
      const active = activeRoot();
      if (!active) throw new TrellisError('E_UNAVAILABLE', 'the CA is not initialised yet');
      const csr = validateIntermediateCsr(csrPem, { trustDomain: active.state.TrustDomain, datacenter: caller });
      const rootCert = new X509Certificate(active.root.RootCert);
      const template = intermediateTemplate({
        trustDomain: active.state.TrustDomain,
        datacenter: caller,
        publicKey: csr.publicKey,
        issuerCommonName: rootCert.subject.replace(/^CN=/, ''),
        issuerPublicKey: rootCert.publicKey,
        rootNotAfter: new Date(active.root.NotAfter),
        now: now(),
      });
      const certificate = buildCertificate({ ...template, serial: randomSerial() }, rootPrivateKey(active.root));
      const serial = new X509Certificate(certificate).serialNumber.toLowerCase().replace(/(..)(?!$)/g, '$1:');
      const { index } = await writer.submit(`ca-sign-${caller}-${serial}`, () => ({
        event: {
          v: SCHEMA_VERSION,
          type: 'IntermediateIssued',
          at: now(),
          by: `agent:${caller}`,
          data: { datacenter: caller, certificate, serial, rootId: active.root.ID, notAfter: template.notAfter.getTime() },
        },
        result: serial,
      }));
      log.info({ datacenter: caller, serial }, 'intermediate issued');
      return { certificate, index };
    },

    async ensureIntermediate() {
      if (isPrimary) return;
      const active = activeRoot();
      if (!active) throw new TrellisError('E_UNAVAILABLE', 'no CA root has replicated to this datacenter yet');
      if (currentIntermediate()) return;
      const key = localIntermediateKey();
      const csr = buildCsr(intermediateCommonName(datacenter), [`spiffe://${active.state.TrustDomain}`], key.privateKey, key.publicKey);
      const { index } = await deps.requestSignature(csr);
      await view.waitForSeq(index, 10_000);
      if (!currentIntermediate()) throw new TrellisError('E_UNAVAILABLE', `the intermediate issued at index ${index} has not replicated here yet`);
      log.info({ serial: view.intermediate(datacenter)?.SerialNumber }, 'intermediate obtained');
    },

    signer() {
      const active = activeRoot();
      if (!active) return { missing: 'the CA is not initialised yet' };
      if (isPrimary) {
        try {
          const privateKey = rootPrivateKey(active.root);
          const cert = new X509Certificate(active.root.RootCert);
          return { privateKey, publicKey: cert.publicKey, certPem: active.root.RootCert, commonName: cert.subject.replace(/^CN=/, ''), notAfter: new Date(active.root.NotAfter), chain: [], trustDomain: active.state.TrustDomain };
        } catch (err) {
          return { missing: errorMessage(err) };
        }
      }
      const row = view.intermediate(datacenter);
      const key = intermediateKey;
      if (!row || !key || row.RootID !== active.root.ID) return { missing: `datacenter ${datacenter} has no intermediate certificate from the primary yet` };
      const cert = new X509Certificate(row.CertPEM);
      if (!samePublicKey(cert.publicKey, key.publicKey)) return { missing: `datacenter ${datacenter}'s intermediate does not match its key yet` };
      return { privateKey: key.privateKey, publicKey: key.publicKey, certPem: row.CertPEM, commonName: cert.subject.replace(/^CN=/, ''), notAfter: new Date(row.NotAfter), chain: [row.CertPEM], trustDomain: active.state.TrustDomain };
    },
  };
}
