import type { IntentionRow } from '../events/index.js';

/** Go's RFC3339Nano: fractional seconds without trailing zeros, none when whole. */
export function goTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  // The common shape, YYYY-MM-DDTHH:MM:SS.mmmZ, by slicing (this runs per intention per answer).
  if (iso.length !== 24) return iso.replace(/\.(\d+)Z$/, (_m, frac: string) => (frac.replace(/0+$/, '') ? `.${frac.replace(/0+$/, '')}Z` : 'Z'));
  const frac = iso.slice(20, 23);
  if (frac === '000') return `${iso.slice(0, 19)}Z`;
  const trimmed = frac[2] !== '0' ? frac : frac[1] !== '0' ? frac.slice(0, 2) : frac.slice(0, 1);
  return `${iso.slice(0, 20)}${trimmed}Z`;
}

// Rows are immutable (a change is a new row object), so each one's Consul form is built once:
// a blocking query woken at 10,000 sidecars would otherwise format the same dates 10,000 times.
const consulForms = new WeakMap<IntentionRow, Readonly<Record<string, unknown>>>();

/** An intention as Consul's API returns it (field order as Consul's struct). Callers must not modify it. */
export function toConsulIntention(row: IntentionRow): Readonly<Record<string, unknown>> {
  let form = consulForms.get(row);
  if (!form) consulForms.set(row, (form = Object.freeze(consulForm(row))));
  return form;
}

function consulForm(row: IntentionRow): Record<string, unknown> {
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
