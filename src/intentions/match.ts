import type { IntentionRow } from '../events/index.js';
import { DEFAULT_NAMESPACE, WILDCARD } from './names.js';
import { sortIntentions } from './precedence.js';

/**
 * `GET /v1/connect/intentions/match` for one name: the intentions whose source (or destination)
 * is that name or a wildcard, highest precedence first (Consul's Intention.Match).
 */
export function matchIntentions(rows: Iterable<IntentionRow>, by: 'source' | 'destination', name: string, namespace = DEFAULT_NAMESPACE): IntentionRow[] {
  const out: IntentionRow[] = [];
  for (const row of rows) {
    const ns = by === 'source' ? row.SourceNS : row.DestinationNS;
    const n = by === 'source' ? row.SourceName : row.DestinationName;
    if ((ns === namespace || ns === WILDCARD) && (n === name || n === WILDCARD)) out.push(row);
  }
  return sortIntentions(out);
}
