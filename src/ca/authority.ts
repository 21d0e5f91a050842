import { createHash, randomUUID } from 'node:crypto';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { TrellisError, errorMessage, type Logger } from '../common/index.js';
import { DEFAULT_CA_CONFIG, SCHEMA_VERSION, type CAConfigRecord, type CARootRow, type CAStateRow, type IntermediateRow, type Origin } from '../events/index.js';
import type { Writer } from '../log/index.js';
import { caTtls, needsRotation, sameConfig, type CaConfigurationRequest } from './config.js';
import { buildCsr, intermediateCommonName, validateIntermediateCsr } from './csr.js';
import type { KeyStore } from './key-store.js';
import { createRoot, crossSignRoot, nextRootName, rootKeyName } from './root.js';
import { intermediateTemplate } from './templates.js';
import { buildCertificate, generateKeyPair, keyIdentifier, randomSerial, type KeyPair, type PrivateKeyType } from './x509.js';

/** The key and certificate this datacenter signs leaves with, and how leaves are made. */
export interface Signer {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly certPem: string;
  readonly commonName: string;
  readonly notAfter: Date;
  /** Certificates to send after the leaf: the intermediate (at a secondary), then the root's cross-signed certificates. */
  readonly chain: readonly string[];
  readonly trustDomain: string;
  readonly leafTtlMs: number;
  readonly leafKeyType: PrivateKeyType;
  readonly leafKeyBits: number;
}

/** What this datacenter's CA reports in `/v1/trellis/replication`. */
export interface CaStatus {
  readonly Role: 'primary' | 'secondary';
  readonly ActiveRootID: string | null;
  /** False while this datacenter cannot sign leaves; `Reason` says why. */
  readonly Signing: boolean;
  readonly Reason: string | null;
  /** The certificate leaves are signed with: the root at the primary, the intermediate at a secondary. */
  readonly SigningCertSerial: string | null;
  readonly SigningCertRootID: string | null;
  readonly SigningCertNotAfter: string | null;
  /** When a secondary asks for its next intermediate (half-life), null at the primary. */
  readonly RenewAt: string | null;
  readonly LastRenewalError: string | null;
  /** Leaves this datacenter issued since its agent started (filled in by the agent from its leaf signer). */
  readonly LeavesIssued?: number;
}

export interface CertificateAuthority {
  /** Primary: sign a secondary's intermediate CSR; `caller` is the RPC subject's last token. */
  signIntermediate(csrPem: string, caller: string): Promise<{ certificate: string; index: number }>;
  /** Primary: records a refused CSR (CSRRefused) — what signIntermediate does for the refusals it makes. */
  recordCsrRefusal(caller: string, reason: string, csrText: string): Promise<void>;
  /** Secondary: make sure this datacenter holds a current intermediate (asks the primary when not). */
  ensureIntermediate(): Promise<void>;
  /** Primary: apply a validated configuration (a new key type or size rotates the root). */
  setConfiguration(request: CaConfigurationRequest, actor: string, origin?: Origin): Promise<{ index: number; rotated: boolean }>;
  /** Primary: a new root of the configured type, cross-signed by the current one. */
  rotate(actor: string, origin?: Origin): Promise<{ index: number; rootId: string }>;
  /** Primary: withdraw roots rotated out more than 2 × LeafCertTTL ago. */
  pruneRoots(): Promise<{ pruned: readonly string[] }>;
  /** The signer for leaves, or why there is none yet. */
  signer(): Signer | { readonly missing: string };
  status(): CaStatus;
}

export interface CaView {
  caState(): CAStateRow | undefined;
  caRoots(): IterableIterator<CARootRow>;
  caRoot(id: string): CARootRow | undefined;
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
  /** The agent's csr_max_per_second, used unless the CA configuration sets CSRMaxPerSecond. @default 50 */
  readonly csrMaxPerSecond?: number;
}

const intermediateKeyName = (publicKey: KeyObject) => `intermediate-${keyIdentifier(publicKey).toString('hex')}`;
const commonNameOf = (cert: X509Certificate) => cert.subject.replace(/^CN=/, '');
const colonSerial = (cert: X509Certificate) => cert.serialNumber.toLowerCase().replace(/(..)(?!$)/g, '$1:');

export function createCertificateAuthority(deps: CertificateAuthorityDeps): CertificateAuthority {
  const { datacenter, primary, view, keys, writer, logger } = deps;
  const now = deps.now ?? Date.now;
  const isPrimary = datacenter === primary;
  const log = logger.child({ component: 'ca' });
  /** A token bucket per calling datacenter: one noisy (or compromised) secondary cannot starve the others. */
  const buckets = new Map<string, { tokens: number; refilledAt: number }>();
  const rootKeys = new Map<string, KeyObject>();
  /** Intermediate certificates parsed once, with their private key when it is on this disk. */
  const parsed = new Map<string, { cert: X509Certificate; key: KeyObject | undefined }>();
  /** A secondary's key for its next intermediate: reused across retries while the WAN is down. */
  let pendingKey: KeyPair | undefined;
  let lastRenewalError: string | null = null;

  const config = (): CAConfigRecord => view.caState()?.Config ?? DEFAULT_CA_CONFIG;

  function activeRoot(): { state: CAStateRow; root: CARootRow } | undefined {
    const state = view.caState();
    const root = state ? view.caRoot(state.ActiveRootID) : undefined;
    return state && root ? { state, root } : undefined;
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

  const rateRefusals = new Map<string, { count: number; recordedAt: number }>();
  /** Every refused CSR leaves an audit record in the log (a failure to record it is logged, the refusal stands). */
  async function recordRefusal(caller: string, reason: string, csrText: string, count: number): Promise<void> {
    const w = deps.writer;
    if (!w) return;
    const csr = csrText === '' ? '' : createHash('sha256').update(csrText).digest('hex');
    try {
      await w.submit(`csr-refused-${caller}-${randomUUID()}`, () => ({
        event: { v: SCHEMA_VERSION, type: 'CSRRefused', at: now(), by: `agent:${caller}`, data: { datacenter: caller, reason: reason.slice(0, 512), csr, count } },
        result: undefined,
      }));
    } catch (err) {
      log.warn({ err: errorMessage(err), datacenter: caller }, 'could not record a refused CSR');
    }
    log.warn({ datacenter: caller, reason, count }, 'CSR refused');
  }

  function takeToken(caller: string): void {
    const perSecond = config().CSRMaxPerSecond || (deps.csrMaxPerSecond ?? 50);
    const t = now();
    const bucket = buckets.get(caller) ?? { tokens: perSecond, refilledAt: t };
    bucket.tokens = Math.min(perSecond, bucket.tokens + ((t - bucket.refilledAt) / 1000) * perSecond);
    bucket.refilledAt = t;
    buckets.set(caller, bucket);
    if (bucket.tokens < 1) throw new TrellisError('E_UNAVAILABLE', `CSR rate limit reached for datacenter ${caller} (CSRMaxPerSecond ${perSecond}): try again shortly`);
    bucket.tokens -= 1;
  }

  function intermediateOf(row: IntermediateRow): { cert: X509Certificate; key: KeyObject | undefined } {
    let entry = parsed.get(row.CertPEM);
    if (!entry) {
      const cert = new X509Certificate(row.CertPEM);
      entry = { cert, key: keys.load(intermediateKeyName(cert.publicKey)) };
      // A key may be saved later (a CSR in flight): only remember positive answers.
      if (entry.key) parsed.set(row.CertPEM, entry);
    }
    return entry;
  }

  function renewAt(cert: X509Certificate): number {
    const from = new Date(cert.validFrom).getTime();
    return from + (new Date(cert.validTo).getTime() - from) / 2;
  }

  /** The intermediate in the view is ours (its key is on this disk), under the active root, and before half-life. */
  function currentIntermediate(): IntermediateRow | undefined {
    const active = activeRoot();
    const row = view.intermediate(datacenter);
    if (!active || !row || row.RootID !== active.root.ID) return undefined;
    const { cert, key } = intermediateOf(row);
    if (!key || now() >= renewAt(cert)) return undefined;
    return row;
  }

  function keyForNextIntermediate(): KeyPair {
    const { PrivateKeyType: type, PrivateKeyBits: bits } = config();
    if (pendingKey && pendingKey.type === type && pendingKey.bits === bits) return pendingKey;
    const pair = generateKeyPair(type, bits);
    // Saved before the CSR leaves: an intermediate issued for it is never without its key.
    keys.save(intermediateKeyName(pair.publicKey), pair.privateKey);
    pendingKey = pair;
    return pair;
  }

  function requirePrimary(what: string): Writer {
    if (!isPrimary || !writer) throw new TrellisError('E_INTERNAL', `only the primary datacenter ${primary} ${what}`);
    return writer;
  }

  async function rotateTo(nextConfig: CAConfigRecord | undefined, crossSign: boolean, actor: string, origin: Origin | undefined): Promise<{ index: number; rootId: string }> {
    const w = requirePrimary('rotates the CA root');
    const active = activeRoot();
    if (!active) throw new TrellisError('E_UNAVAILABLE', 'the CA is not initialised yet');
    const target = nextConfig ?? active.state.Config;
    const next = createRoot({
      now: now(),
      keyType: target.PrivateKeyType,
      keyBits: target.PrivateKeyBits,
      ttlMs: caTtls(target).rootMs,
      trustDomain: active.state.TrustDomain,
      name: nextRootName(view.caRoots()),
    });
    const root = crossSign ? { ...next.record, IntermediateCerts: [crossSignRoot(next, active.root, rootPrivateKey(active.root))] } : next.record;
    // The key is on disk before the root is in the log: a published root always has its key here.
    keys.save(rootKeyName(root), next.keyPair.privateKey);
    const { index } = await w.submit(`ca-rotate-${root.ID}`, (state) => {
      if (state.caState()?.ActiveRootID !== active.root.ID) throw new TrellisError('E_CONFLICT', 'the CA root changed while this rotation was prepared: try again');
      return {
        event: {
          v: SCHEMA_VERSION,
          type: 'CARootRotated',
          at: now(),
          by: actor,
          ...(origin ? { origin } : {}),
          data: { root, previousRootId: active.root.ID, ...(nextConfig ? { config: nextConfig } : {}) },
        },
        result: root.ID,
      };
    });
    log.info({ rootId: root.ID, previousRootId: active.root.ID, keyType: root.PrivateKeyType, keyBits: root.PrivateKeyBits, crossSigned: crossSign }, 'CA root rotated');
    return { index, rootId: root.ID };
  }

  function secondarySigner(active: { state: CAStateRow; root: CARootRow }): Signer | { readonly missing: string } {
    const row = view.intermediate(datacenter);
    if (!row) return { missing: `datacenter ${datacenter} has no intermediate certificate from the primary yet` };
    // During a rotation the previous intermediate keeps signing until the new one arrives: its root is still published.
    const root = view.caRoot(row.RootID);
    if (!root) return { missing: `datacenter ${datacenter}'s intermediate is under a withdrawn root; a new one has not arrived yet` };
    const { cert, key } = intermediateOf(row);
    if (!key) return { missing: `datacenter ${datacenter}'s intermediate does not match a key on this disk yet` };
    if (new Date(cert.validTo).getTime() <= now()) return { missing: `datacenter ${datacenter}'s intermediate expired at ${cert.validTo}; renewal needs the primary` };
    const c = config();
    return {
      privateKey: key,
      publicKey: cert.publicKey,
      certPem: row.CertPEM,
      commonName: commonNameOf(cert),
      notAfter: new Date(row.NotAfter),
      chain: [row.CertPEM, ...root.IntermediateCerts],
      trustDomain: active.state.TrustDomain,
      leafTtlMs: caTtls(c).leafMs,
      leafKeyType: c.PrivateKeyType,
      leafKeyBits: c.PrivateKeyBits,
    };
  }

  const authority: CertificateAuthority = {
    recordCsrRefusal: (caller, reason, csrText) => recordRefusal(caller, reason, csrText, 1),

    async signIntermediate(csrPem, caller) {
      const w = requirePrimary('signs intermediates');
      try {
        takeToken(caller);
      } catch (err) {
        // Rate-limited refusals are summed into at most one record per datacenter every 10 s.
        const pending = rateRefusals.get(caller) ?? { count: 0, recordedAt: 0 };
        pending.count++;
        rateRefusals.set(caller, pending);
        if (now() - pending.recordedAt >= 10_000) {
          const count = pending.count;
          pending.count = 0;
          pending.recordedAt = now();
          await recordRefusal(caller, (err as Error).message, '', count);
        }
        throw err;
      }
      const active = activeRoot();
      if (!active) throw new TrellisError('E_UNAVAILABLE', 'the CA is not initialised yet');
      let csr: ReturnType<typeof validateIntermediateCsr>;
      try {
        csr = validateIntermediateCsr(csrPem, { trustDomain: active.state.TrustDomain, datacenter: caller });
      } catch (err) {
        await recordRefusal(caller, (err as Error).message, csrPem, 1);
        throw err;
      }
      const rootCert = new X509Certificate(active.root.RootCert);
      const template = intermediateTemplate({
        trustDomain: active.state.TrustDomain,
        datacenter: caller,
        publicKey: csr.publicKey,
        issuerCommonName: commonNameOf(rootCert),
        issuerPublicKey: rootCert.publicKey,
        rootNotAfter: new Date(active.root.NotAfter),
        now: now(),
        ttlMs: caTtls(active.state.Config).intermediateMs,
      });
      const certificate = buildCertificate({ ...template, serial: randomSerial() }, rootPrivateKey(active.root));
      const serial = colonSerial(new X509Certificate(certificate));
      const { index } = await w.submit(`ca-sign-${caller}-${serial}`, () => ({
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
      try {
        const active = activeRoot();
        if (!active) throw new TrellisError('E_UNAVAILABLE', 'no CA root has replicated to this datacenter yet');
        if (currentIntermediate()) return;
        const key = keyForNextIntermediate();
        const csr = buildCsr(intermediateCommonName(datacenter), [`spiffe://${active.state.TrustDomain}`], key.privateKey, key.publicKey);
        const { index } = await deps.requestSignature(csr);
        await view.waitForSeq(index, 10_000);
        if (!currentIntermediate()) throw new TrellisError('E_UNAVAILABLE', `the intermediate issued at index ${index} has not replicated here yet`);
        pendingKey = undefined;
        lastRenewalError = null;
        log.info({ serial: view.intermediate(datacenter)?.SerialNumber, rootId: active.root.ID }, 'intermediate obtained');
      } catch (err) {
        lastRenewalError = errorMessage(err);
        throw err;
      }
    },

    async setConfiguration({ config: next, forceWithoutCrossSigning }, actor, origin) {
      const w = requirePrimary('changes the CA configuration');
      const active = activeRoot();
      if (!active) throw new TrellisError('E_UNAVAILABLE', 'the CA is not initialised yet');
      const before = active.state.Config;
      if (sameConfig(before, next)) return { index: active.state.ModifyIndex, rotated: false };
      if (needsRotation(before, next)) {
        const { index } = await rotateTo(next, !forceWithoutCrossSigning, actor, origin);
        return { index, rotated: true };
      }
      const { index } = await w.submit(`ca-config-${active.state.ModifyIndex}-${JSON.stringify(next)}`, (state) => {
        if (state.caState()?.ActiveRootID !== active.root.ID) throw new TrellisError('E_CONFLICT', 'the CA root changed while the configuration was being set: try again');
        return { event: { v: SCHEMA_VERSION, type: 'CAConfigSet', at: now(), by: actor, ...(origin ? { origin } : {}), data: { config: next } }, result: true };
      });
      log.info({ config: next }, 'CA configuration updated');
      return { index, rotated: false };
    },

    rotate: (actor, origin) => rotateTo(undefined, true, actor, origin),

    async pruneRoots() {
      const w = requirePrimary('prunes CA roots');
      const state = view.caState();
      if (!state) return { pruned: [] };
      const keep = 2 * caTtls(state.Config).leafMs;
      const expired = [...view.caRoots()].filter((r) => r.ID !== state.ActiveRootID && r.RotatedOutAt > 0 && r.RotatedOutAt + keep <= now()).map((r) => r.ID);
      if (expired.length === 0) return { pruned: [] };
      await w.submit(`ca-prune-${expired.join(',')}`, (s) => {
        const still = expired.filter((id) => s.caRoot(id) && s.caState()?.ActiveRootID !== id);
        if (still.length === 0) return { result: true };
        return { event: { v: SCHEMA_VERSION, type: 'CARootsPruned', at: now(), by: `agent:${datacenter}`, data: { rootIds: still } }, result: true };
      });
      log.info({ rootIds: expired }, 'rotated-out CA roots withdrawn (2 × LeafCertTTL passed)');
      return { pruned: expired };
    },

    signer() {
      const active = activeRoot();
      if (!active) return { missing: 'the CA is not initialised yet' };
      if (!isPrimary) return secondarySigner(active);
      try {
        const privateKey = rootPrivateKey(active.root);
        const cert = new X509Certificate(active.root.RootCert);
        const c = active.state.Config;
        return {
          privateKey,
          publicKey: cert.publicKey,
          certPem: active.root.RootCert,
          commonName: commonNameOf(cert),
          notAfter: new Date(active.root.NotAfter),
          chain: active.root.IntermediateCerts,
          trustDomain: active.state.TrustDomain,
          leafTtlMs: caTtls(c).leafMs,
          leafKeyType: c.PrivateKeyType,
          leafKeyBits: c.PrivateKeyBits,
        };
      } catch (err) {
        return { missing: errorMessage(err) };
      }
    },

    status() {
      const s = authority.signer();
      const active = view.caState()?.ActiveRootID ?? null;
      const base = { Role: isPrimary ? ('primary' as const) : ('secondary' as const), ActiveRootID: active, LastRenewalError: isPrimary ? null : lastRenewalError };
      if (!('privateKey' in s)) {
        return { ...base, Signing: false, Reason: s.missing, SigningCertSerial: null, SigningCertRootID: null, SigningCertNotAfter: null, RenewAt: null };
      }
      const cert = new X509Certificate(s.certPem);
      const row = isPrimary ? undefined : view.intermediate(datacenter);
      return {
        ...base,
        Signing: true,
        Reason: null,
        SigningCertSerial: colonSerial(cert),
        SigningCertRootID: isPrimary ? active : (row?.RootID ?? null),
        SigningCertNotAfter: new Date(cert.validTo).toISOString(),
        RenewAt: isPrimary ? null : new Date(renewAt(cert)).toISOString(),
      };
    },
  };
  return authority;
}
