import { errorMessage, type Logger } from '../common/index.js';
import type { CertificateAuthority, LeafSigner } from '../ca/index.js';
import type { View } from '../view/index.js';

export interface CaMaintenanceDeps {
  readonly isPrimary: boolean;
  readonly authority: CertificateAuthority;
  readonly leafSigner: LeafSigner;
  readonly view: Pick<View, 'onApplied'>;
  readonly logger: Logger;
  /** How often a secondary checks its intermediate's half-life and the primary prunes old roots. @default 60000 */
  readonly intervalMs?: number;
  /** Retry delay while a secondary has no current intermediate (WAN down, primary busy). @default 2000 */
  readonly retryMs?: number;
}

/**
 * The CA's background work in one datacenter:
 * - a secondary obtains its intermediate, renews it at half-life and asks for a new one as soon as
 *   the active root changes (retrying every `retryMs` while the primary is unreachable);
 * - the primary withdraws rotated-out roots once 2 × LeafCertTTL passed;
 * - everywhere, cached leaves are re-issued (waking blocking queries) when the signer changed.
 */
export function startCaMaintenance({ isPrimary, authority, leafSigner, view, logger, intervalMs = 60_000, retryMs = 2_000 }: CaMaintenanceDeps): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;

  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(tick, ms);
    timer.unref();
  };

  function tick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    const work = isPrimary ? authority.pruneRoots() : authority.ensureIntermediate();
    work.then(
      () => {
        leafSigner.refresh();
        schedule(intervalMs);
      },
      (err: unknown) => {
        logger.debug({ err: errorMessage(err) }, isPrimary ? 'pruning CA roots failed; retrying' : 'no current intermediate yet; retrying');
        schedule(isPrimary ? intervalMs : retryMs);
      },
    ).finally(() => {
      running = false;
      if (again) {
        again = false;
        schedule(0);
      }
    });
  }

  const unsubscribe = view.onApplied((batch) => {
    if (!batch.tables.has('ca_roots') && !batch.tables.has('ca_state') && !batch.tables.has('ca_intermediates')) return;
    leafSigner.refresh();
    // A new root (or a new configuration) may need a new intermediate here: check now, not in a minute.
    if (!isPrimary) schedule(0);
  });
  schedule(0);
  return () => {
    stopped = true;
    unsubscribe();
    if (timer) clearTimeout(timer);
  };
}
