import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText, get } from './api.js';
import { useNow, usePoll, useWatch } from './hooks.js';
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

function useSigners(dcs: readonly string[], ms: number): Signer[] {
  const [out, setOut] = useState<Signer[]>([]);
  const last = useRef(new Map<string, { at: number; count: number }>());
  const key = dcs.join(',');
  useEffect(() => {
    let stopped = false;
    const tick = async () => {
      const next = await Promise.all(
        dcs.map(async (dc): Promise<Signer> => {
          try {
            const status = (await get<Replication>(`/v1/trellis/replication?dc=${encodeURIComponent(dc)}`)).body;
            const count = status.CA?.LeavesIssued;
            const before = last.current.get(dc);
            const at = Date.now();
            let perMinute: number | null = null;
            if (count !== undefined) {
              if (before && at > before.at) perMinute = ((count - before.count) * 60_000) / (at - before.at);
              last.current.set(dc, { at, count });
            }
            return { dc, status, error: null, perMinute };
          } catch (err) {
            return { dc, status: null, error: errorText(err), perMinute: null };
          }
        }),
      );
      if (!stopped) setOut(next);
    };
    void tick();
    const t = setInterval(() => void tick(), ms);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, [key, ms]);
  return out;
}
