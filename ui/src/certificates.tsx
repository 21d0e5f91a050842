import { useRef } from 'preact/hooks';
import { useDatacenterStatuses, useNow, usePoll, useWatch } from './hooks.js';
import { countdown, time } from './format.js';
import type { Replication, Roots } from './types.js';

interface Signer {
  readonly dc: string;
  readonly status: Replication | null;
  readonly error: string | null;
  /** Leaves issued per minute, from the change in the counter between polls. */
  readonly perMinute: number | null;
}

/** Roots (live through a blocking query) and every datacenter's signing certificate, with countdowns. */
export function Certificates({ primary }: { primary: string }) {
  const roots = useWatch<Roots>('/v1/connect/ca/roots');
  const known = usePoll<string[]>('/v1/catalog/datacenters', 5000);
  const signers = useSigners(known.value ?? [primary], 2000);
  const now = useNow();
  const published = roots.value?.Roots ?? [];
  return (
    <section>
      <h2>Certificates</h2>
      {roots.error ? <p class="error">{roots.error}</p> : null}
      <p>
        Trust domain <code>{roots.value?.TrustDomain ?? '…'}</code>.{' '}
        {published.length > 1 ? <strong class="warn">Rotation in progress: {published.length} roots published; leaves from the old root stay valid until they expire.</strong> : 'One root published.'}
      </p>
      <h3>Roots</h3>
      <table id="roots">
        <thead>
          <tr>
            <th>Name</th>
            <th>ID</th>
            <th>Key</th>
            <th>Not after</th>
            <th>Expires in</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {published.map((r) => (
            <tr key={r.ID}>
              <td>{r.Name}</td>
              <td>
                <code>{r.ID.slice(0, 23)}…</code>
              </td>
              <td>
                {r.PrivateKeyType} {r.PrivateKeyBits}
              </td>
              <td>{time(r.NotAfter)}</td>
              <td>{countdown(r.NotAfter, now)}</td>
              <td>{r.Active ? 'active' : 'rotated out'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Signing certificates per datacenter</h3>
      <table id="signers">
        <thead>
          <tr>
            <th>Datacenter</th>
            <th>Signs with</th>
            <th>Serial</th>
            <th>Expires in</th>
            <th>Renews in</th>
            <th>Leaves / min</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {signers.map((s) => {
            const ca = s.status?.CA;
            return (
              <tr key={s.dc} class={ca && !ca.Signing ? 'halted' : ''}>
                <td>{s.dc}</td>
                <td>{ca ? (ca.Role === 'primary' ? 'root' : 'intermediate') : '–'}</td>
                <td>
                  <code>{ca?.SigningCertSerial?.slice(0, 17) ?? '–'}</code>
                </td>
                <td>{countdown(ca?.SigningCertNotAfter ?? null, now)}</td>
                <td>{ca?.RenewAt ? countdown(ca.RenewAt, now) : '–'}</td>
                <td>{s.perMinute === null ? '…' : s.perMinute.toFixed(1)}</td>
                <td>{s.error ? <span class="error">{s.error}</span> : ca?.Signing ? 'signing' : <span class="error">{ca?.Reason ?? 'not signing'}</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/** Each datacenter's status, with its leaf issuance rate from the counter's change between two polls. */
function useSigners(dcs: readonly string[], ms: number): Signer[] {
  const statuses = useDatacenterStatuses(dcs, ms);
  const last = useRef(new Map<string, { status: Replication; at: number; count: number; perMinute: number | null }>());
  return statuses.map(({ name, status, error }) => {
    const count = status?.CA?.LeavesIssued;
    const before = last.current.get(name);
    let perMinute = before?.perMinute ?? null;
    // Once per poll (each answer is a new object), not on every render of the countdowns.
    if (status && count !== undefined && before?.status !== status) {
      const at = Date.now();
      if (before && at > before.at) perMinute = ((count - before.count) * 60_000) / (at - before.at);
      last.current.set(name, { status, at, count, perMinute });
    }
    return { dc: name, status, error, perMinute };
  });
}
