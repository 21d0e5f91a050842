import { WILDCARD } from './names.js';

export interface IntentionPair {
  readonly SourceNS: string;
  readonly SourceName: string;
  readonly DestinationNS: string;
  readonly DestinationName: string;
}

/** Consul's countExact: a wildcard can only follow an exact value. */
function countExact(ns: string, name: string): number {
  if (ns === WILDCARD) return 0;
  if (name === WILDCARD) return 1;
  return 2;
}

/** Consul's UpdatePrecedence: 9 (exact → exact) down to 1 (any → any), destination weighs most. */
export function intentionPrecedence(x: IntentionPair): number {
  const max = [3, 6, 9][countExact(x.DestinationNS, x.DestinationName)] ?? 0;
  return max - (2 - countExact(x.SourceNS, x.SourceName));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Consul's IntentionPrecedenceSorter: precedence descending, then the (SourceNS, SourceName,
 * DestinationNS, DestinationName) tuple ascending. Total over distinct pairs, since a pair has one intention.
 */
export function compareIntentions(a: IntentionPair & { readonly Precedence: number }, b: IntentionPair & { readonly Precedence: number }): number {
  if (a.Precedence !== b.Precedence) return b.Precedence - a.Precedence;
  return cmp(a.SourceNS, b.SourceNS) || cmp(a.SourceName, b.SourceName) || cmp(a.DestinationNS, b.DestinationNS) || cmp(a.DestinationName, b.DestinationName);
}

export function sortIntentions<T extends IntentionPair & { readonly Precedence: number }>(rows: Iterable<T>): T[] {
  return [...rows].sort(compareIntentions);
}
