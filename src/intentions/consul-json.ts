import type { IntentionRow } from '../events/index.js';

/** Go's RFC3339Nano: fractional seconds without trailing zeros, none when whole. */
export function goTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.replace(/\.(\d+)Z$/, (_m, frac: string) => {
    const trimmed = frac.replace(/0+$/, '');
    return trimmed ? `.${trimmed}Z` : 'Z';
  });
}

/** An intention as Consul's API returns it (field order as Consul's struct). */
export function toConsulIntention(row: IntentionRow): Record<string, unknown> {
  return {
    ID: row.ID,
    Description: row.Description,
    SourceNS: row.SourceNS,
    SourceName: row.SourceName,
    DestinationNS: row.DestinationNS,
    DestinationName: row.DestinationName,
    SourceType: row.SourceType,
    Action: row.Action,
    Meta: row.Meta,
    Precedence: row.Precedence,
    CreatedAt: goTime(row.CreatedAt),
    UpdatedAt: goTime(row.UpdatedAt),
    CreateIndex: row.CreateIndex,
    ModifyIndex: row.ModifyIndex,
  };
}
