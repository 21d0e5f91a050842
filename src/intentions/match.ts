import type { IntentionRow } from '../events/index.js';
import { DEFAULT_NAMESPACE, WILDCARD } from './names.js';
import { sortIntentions } from './precedence.js';

/** A view's name index (ViewReader.intentionsNamed). */
export interface MatchIndex {
  intentionsNamed(by: 'source' | 'destination', name: string): IntentionRow[];
}

/**
 * `GET /v1/connect/intentions/match` for one name: the intentions whose source (or destination)
 * is that name or a wildcard, highest precedence first (Consul's Intention.Match).
 */
export function matchIntentions(rows: Iterable<IntentionRow> | MatchIndex, by: 'source' | 'destination', name: string, namespace = DEFAULT_NAMESPACE): IntentionRow[] {
  const out: IntentionRow[] = [];
  // With a view's name index only the rows named `name` or `*` are looked at (O(matches), not O(n)).
  const candidates = 'intentionsNamed' in rows ? [...rows.intentionsNamed(by, name), ...(name === WILDCARD ? [] : rows.intentionsNamed(by, WILDCARD))] : rows;
  for (const row of candidates) {
    const ns = by === 'source' ? row.SourceNS : row.DestinationNS;
    const n = by === 'source' ? row.SourceName : row.DestinationName;
    if ((ns === namespace || ns === WILDCARD) && (n === name || n === WILDCARD)) out.push(row);
  }
  return sortIntentions(out);
}
