/** "3d 4h", "12m 5s", "expired 2h ago": how long until an ISO time. */
export function countdown(iso: string | null, now: number): string {
  if (!iso) return '–';
  let s = Math.round((Date.parse(iso) - now) / 1000);
  const past = s < 0;
  s = Math.abs(s);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const text = d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
  return past ? `expired ${text} ago` : text;
}

export const time = (iso: string | null): string => (iso ? new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–');

/** What an event is about, in one line. */
export function summary(type: string, data: Record<string, unknown>): string {
  const ixn = data.intention as { SourceName?: string; DestinationName?: string; Action?: string } | undefined;
  switch (type) {
    case 'IntentionCreated':
    case 'IntentionUpdated':
      return `${ixn?.Action?.toUpperCase() ?? ''} ${ixn?.SourceName ?? ''} => ${ixn?.DestinationName ?? ''}`;
    case 'LogStarted':
      return `log started; primary ${String(data.primary)}`;
    case 'IntentionDeleted':
      return `intention ${String(data.id)}`;
    case 'CARootCreated':
      return `trust domain ${String(data.trustDomain)}`;
    case 'CARootRotated':
      return `new root ${String((data.root as { ID?: string } | undefined)?.ID ?? '')}`;
    case 'IntermediateIssued':
      return `${String(data.datacenter)} serial ${String(data.serial)}`;
    case 'CSRRefused':
      return `${String(data.datacenter)}: ${String(data.reason)}`;
    case 'SnapshotTaken':
      return `view as of ${String(data.seq)} (${String(data.rows)} rows)`;
    case 'ACLPolicySet':
      return `policy ${String((data.policy as { Name?: string } | undefined)?.Name ?? '')}`;
    case 'ACLTokenSet':
      return `token ${String((data.token as { AccessorID?: string } | undefined)?.AccessorID ?? '')}`;
    default:
      return JSON.stringify(data).slice(0, 120);
  }
}
