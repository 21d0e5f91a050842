import { TrellisError } from '../common/index.js';
import { WILDCARD } from './names.js';

/** Consul's limits on opaque values (agent/structs: metaKeyMaxLength, metaValueMaxLength, metaMaxKeyPairs). */
export const META_KEY_MAX_LENGTH = 128;
export const META_VALUE_MAX_LENGTH = 512;
export const META_MAX_KEY_PAIRS = 64;

export interface IntentionFields {
  readonly SourceNS: string;
  readonly SourceName: string;
  readonly DestinationNS: string;
  readonly DestinationName: string;
  readonly SourceType: string;
  /** `allow` or `deny` once validated; anything a client sent until then. */
  readonly Action: string;
  readonly Description: string;
  readonly Meta: Readonly<Record<string, string>>;
}

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');

/** Every problem Consul's `Intention.Validate` reports, in its order and words. */
export function intentionProblems(x: IntentionFields): string[] {
  const problems: string[] = [];
  if (x.SourceNS === '') problems.push('SourceNS must be set');
  if (x.SourceName === '') problems.push('SourceName must be set');
  if (x.DestinationNS === '') problems.push('DestinationNS must be set');
  if (x.DestinationName === '') problems.push('DestinationName must be set');
  for (const [nsField, nameField] of [
    ['SourceNS', 'SourceName'],
    ['DestinationNS', 'DestinationName'],
  ] as const) {
    const ns = x[nsField];
    const name = x[nameField];
    if (ns !== WILDCARD && ns.includes(WILDCARD)) problems.push(`${nsField}: wildcard character '*' cannot be used with partial values`);
    if (name !== WILDCARD) {
      if (name.includes(WILDCARD)) problems.push(`${nameField}: wildcard character '*' cannot be used with partial values`);
      if (ns === WILDCARD) problems.push(`${nameField}: exact value cannot follow wildcard namespace`);
    }
  }
  if (byteLength(x.Description) > META_VALUE_MAX_LENGTH) problems.push(`Description exceeds maximum length ${META_VALUE_MAX_LENGTH}`);
  const meta = Object.entries(x.Meta);
  if (meta.length > META_MAX_KEY_PAIRS) problems.push(`Meta exceeds maximum element count ${META_MAX_KEY_PAIRS}`);
  for (const [k, v] of meta) {
    if (byteLength(k) > META_KEY_MAX_LENGTH) problems.push(`Meta key ${JSON.stringify(k)} exceeds maximum length ${META_KEY_MAX_LENGTH}`);
    if (byteLength(v) > META_VALUE_MAX_LENGTH) problems.push(`Meta value for key ${JSON.stringify(k)} exceeds maximum length ${META_VALUE_MAX_LENGTH}`);
  }
  if (x.Action !== 'allow' && x.Action !== 'deny') problems.push("Action must be set to 'allow' or 'deny'");
  if (x.SourceType !== 'consul') problems.push("SourceType must be set to 'consul'");
  return problems;
}

/** Formats problems the way Go's multierror prints them, as Consul's API returns them. */
export function multierrorText(problems: readonly string[]): string {
  const head = problems.length === 1 ? '1 error occurred:' : `${problems.length} errors occurred:`;
  return `${head}\n${problems.map((p) => `\t* ${p}`).join('\n')}\n\n`;
}

/** Throws E_VALIDATION with Consul's multierror text when the intention is invalid. */
export function validateIntention(x: IntentionFields): void {
  const problems = intentionProblems(x);
  if (problems.length > 0) throw new TrellisError('E_VALIDATION', multierrorText(problems));
}
