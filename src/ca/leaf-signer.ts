import { TrellisError } from '../common/index.js';
import { createWaiters } from '../view/index.js';
import type { Signer } from './authority.js';
import { leafTemplate, validateServiceName } from './templates.js';
import { buildCertificateAsync, colonHex, generateKeyPairAsync } from './x509.js';

/** `GET /v1/agent/connect/ca/leaf/:service`, as Consul answers it. */
export interface LeafCertificate {
  readonly SerialNumber: string;
  /** The leaf, then the certificates that chain it to a root. */
  readonly CertPEM: string;
  readonly PrivateKeyPEM: string;
  readonly Service: string;
  readonly ServiceURI: string;
  readonly ValidAfter: string;
  readonly ValidBefore: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface LeafSigner {
  /** The service's current leaf, issued now if there is none or it passed half-life; blocks per `minIndex`. */
  leaf(service: string, minIndex: number, waitMs: number, signal?: AbortSignal): Promise<LeafCertificate>;
  /** The CA changed (a new root or intermediate): re-issue cached leaves whose signer is no longer current. */
  refresh(): void;
  /** Leaves issued since this signer started (the UI shows the rate). */
  issued(): number;
  close(): void;
}

interface Cached {
  readonly leaf: LeafCertificate;
  readonly signerCert: string;
  readonly renewAt: number;
}

/**
 * Leaves are signed locally with this datacenter's signer: no WAN round trip. One cached leaf per
 * service, re-issued at half-life or when the signer changed (a new intermediate or root), which
 * wakes blocking queries on that service.
 */
export function createLeafSigner({ datacenter, signer, now = Date.now }: { datacenter: string; signer: () => Signer | { readonly missing: string }; now?: () => number }): LeafSigner {
  const cache = new Map<string, Cached>();
  /** Issuance in progress per service: concurrent requests share one key and one signature. */
  const issuing = new Map<string, Promise<Cached>>();
  const waiters = createWaiters<string>();
  const timers = new Map<string, NodeJS.Timeout>();
  let counter = 0;
  let closed = false;

  async function issue(service: string, s: Signer): Promise<Cached> {
    // Key generation and signing run on libuv's thread pool: the event loop keeps serving meanwhile.
    const key = await generateKeyPairAsync(s.leafKeyType, s.leafKeyBits);
    const t = now();
    const template = leafTemplate({
      trustDomain: s.trustDomain,
      datacenter,
      service,
      publicKey: key.publicKey,
      issuerCommonName: s.commonName,
      issuerPublicKey: s.publicKey,
      issuerNotAfter: s.notAfter,
      now: t,
      ttlMs: s.leafTtlMs,
    });
    const pem = await buildCertificateAsync(template, s.privateKey);
    const index = ++counter + 1; // never 0 or 1: an index a client can block on
    const previous = cache.get(service);
    const leaf: LeafCertificate = {
      SerialNumber: colonHex(template.serial),
      CertPEM: [pem, ...s.chain].join(''),
      // As Consul: "EC PRIVATE KEY" (SEC 1) for EC keys, "RSA PRIVATE KEY" (PKCS#1) for RSA keys.
      PrivateKeyPEM: key.privateKey.export({ type: key.type === 'ec' ? 'sec1' : 'pkcs1', format: 'pem' }).toString(),
      Service: service,
      ServiceURI: template.uriSans[0] ?? '',
      ValidAfter: template.notBefore.toISOString(),
      ValidBefore: template.notAfter.toISOString(),
      CreateIndex: previous?.leaf.CreateIndex ?? index,
      ModifyIndex: index,
    };
    const from = template.notBefore.getTime();
    const cached = { leaf, signerCert: s.certPem, renewAt: from + (template.notAfter.getTime() - from) / 2 };
    if (closed) return cached;
    cache.set(service, cached);
    if (previous) waiters.notify(service, index);
    // Re-issue at half-life even if nobody asks, so blocking watchers get the new one.
    clearTimeout(timers.get(service));
    const timer = setTimeout(() => {
      const current = signer();
      if ('privateKey' in current) void reissue(service, current);
    }, Math.max(1000, Math.min(cached.renewAt - now(), 2 ** 31 - 1)));
    timer.unref();
    timers.set(service, timer);
    return cached;
  }

  /** One issuance per service at a time; a failure is logged by the caller that awaits it, or dropped for background re-issues. */
  function reissue(service: string, s: Signer): Promise<Cached> {
    let p = issuing.get(service);
    if (!p) {
      p = issue(service, s).finally(() => issuing.delete(service));
      issuing.set(service, p);
      // The signer may have changed while this one was signing: the leaf it made is then stale already.
      p.then(
        (made) => {
          const latest = signer();
          if (!closed && 'privateKey' in latest && latest.certPem !== made.signerCert) void reissue(service, latest);
        },
        () => undefined,
      );
    }
    return p;
  }

  async function current(service: string): Promise<LeafCertificate> {
    const s = signer();
    const cached = cache.get(service);
    if (!('privateKey' in s)) {
      // No signer now (say, a secondary between intermediates with the WAN down): a leaf that is still valid is still good.
      if (cached && now() < Date.parse(cached.leaf.ValidBefore)) return cached.leaf;
      throw new TrellisError('E_UNAVAILABLE', `cannot sign leaf certificates yet: ${s.missing}`);
    }
    if (cached && cached.signerCert === s.certPem && now() < cached.renewAt) return cached.leaf;
    return (await reissue(service, s)).leaf;
  }

  return {
    async leaf(service, minIndex, waitMs, signal) {
      validateServiceName(service);
      const now1 = await current(service);
      if (minIndex <= 0 || now1.ModifyIndex > minIndex) return now1;
      await waiters.wait(service, () => cache.get(service)?.leaf.ModifyIndex ?? 0, minIndex, waitMs, signal);
      return current(service);
    },
    issued: () => counter,
    refresh() {
      const s = signer();
      if (!('privateKey' in s)) return;
      for (const [service, cached] of cache) if (cached.signerCert !== s.certPem) void reissue(service, s);
    },
    close() {
      closed = true;
      for (const t of timers.values()) clearTimeout(t);
      waiters.closeAll();
    },
  };
}
