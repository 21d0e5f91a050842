import type { ConsulIntention } from './api-client.js';

/** Consul's api.Intention String(): `web => db (allow)`. */
export function intentionLine(ixn: ConsulIntention): string {
  return `${ixn.SourceName} => ${ixn.DestinationName} (${ixn.Action})`;
}

/** Aligns columns the way Consul's columnize does (two spaces between columns). */
export function columnize(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** `consul intention get` prints a key/value table. */
export function intentionDetails(ixn: ConsulIntention): string {
  const rows: string[][] = [
    ['Source:', ixn.SourceName],
    ['Destination:', ixn.DestinationName],
    ['Action:', ixn.Action],
    ['ID:', ixn.ID],
  ];
  if (ixn.Description) rows.push(['Description:', ixn.Description]);
  for (const key of Object.keys(ixn.Meta ?? {}).sort()) rows.push([`Meta[${key}]:`, ixn.Meta?.[key] ?? '']);
  if (ixn.CreatedAt) rows.push(['Created At:', new Date(ixn.CreatedAt).toUTCString()]);
  return columnize(rows);
}
