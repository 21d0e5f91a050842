import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { TrellisError, packageRoot } from '../common/index.js';


const definitionSchema = z.looseObject({
  name: z.string().min(1),
  subjects: z.array(z.string()).optional(),
  mirror: z
    .object({ name: z.string(), opt_start_seq: z.number().int().positive().optional(), external: z.object({ api: z.string(), deliver: z.string() }).optional() })
    .optional(),
  retention: z.enum(['limits', 'interest', 'workqueue']),
  storage: z.enum(['file', 'memory']),
  num_replicas: z.number().int().positive(),
  max_msgs: z.number().int(),
  max_bytes: z.number().int(),
  max_age: z.number().int(),
  discard: z.enum(['old', 'new']),
});

/** A stream configuration as JetStream's API takes it, loaded from `streams/`. */
export type StreamDefinition = z.infer<typeof definitionSchema>;

/** Loads `streams/<file>.json`, fills `{{name}}` placeholders, drops `$comment` keys, validates. */
export function loadStreamDefinition(file: string, vars: Readonly<Record<string, string>> = {}, dir = join(packageRoot(), 'streams')): StreamDefinition {
  let text: string;
  try {
    text = readFileSync(join(dir, file), 'utf8');
  } catch (err) {
    throw new TrellisError('E_CONFIG', `stream definition ${file} cannot be read from ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const filled = text.replace(/\{\{(\w+)\}\}/g, (_m, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new TrellisError('E_CONFIG', `stream definition ${file} needs a value for {{${key}}}`);
    return value;
  });
  const raw = JSON.parse(filled, (key, value: unknown) => (key === '$comment' ? undefined : value)) as unknown;
  const parsed = definitionSchema.safeParse(raw);
  if (!parsed.success) {
    throw new TrellisError('E_CONFIG', `stream definition ${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** The primary's event stream definition. */
export function eventsStreamDefinition(): StreamDefinition {
  return loadStreamDefinition('trellis-events.json');
}

/**
 * A secondary's mirror definition, pointing at the primary's JetStream domain. With `startSeq`
 * (a view started from a snapshot) the mirror copies from there on, keeping the primary's sequence
 * numbers; the events before it stay at the primary.
 */
export function eventsMirrorDefinition(primary: string, startSeq?: number): StreamDefinition {
  const definition = loadStreamDefinition('trellis-events-mirror.json', { primary });
  if (startSeq === undefined || startSeq <= 1 || !definition.mirror) return definition;
  return { ...definition, mirror: { ...definition.mirror, opt_start_seq: startSeq } };
}

/** The fields that must match between a definition and an existing stream; anything else may differ. */
const COMPARED_FIELDS = [
  'subjects',
  'mirror',
  'retention',
  'storage',
  'num_replicas',
  'max_msgs',
  'max_bytes',
  'max_age',
  'discard',
  'deny_delete',
  'deny_purge',
] as const;

function normalize(field: string, value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  if (field === 'subjects' && Array.isArray(value)) return value.length ? [...(value as string[])].sort() : undefined;
  if (field === 'mirror' && typeof value === 'object') {
    const m = value as { name?: string; external?: { api?: string; deliver?: string } };
    return { name: m.name, api: m.external?.api ?? '' };
  }
  if ((field === 'deny_delete' || field === 'deny_purge') && value === false) return undefined;
  return value;
}

/** Lists the fields in which an existing stream's config differs from the definition. */
export function incompatibleFields(definition: StreamDefinition, existing: Readonly<Record<string, unknown>>): string[] {
  const differing: string[] = [];
  const def = definition as Record<string, unknown>;
  for (const field of COMPARED_FIELDS) {
    const want = normalize(field, def[field]);
    const have = normalize(field, existing[field]);
    if (want === undefined) continue;
    if (JSON.stringify(want) !== JSON.stringify(have)) differing.push(`${field} (want ${JSON.stringify(want)}, have ${JSON.stringify(have)})`);
  }
  return differing;
}
