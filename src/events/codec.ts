import { Decoder, Encoder } from '@msgpack/msgpack';
import { z } from 'zod';
import { TrellisError } from '../common/index.js';
import { SCHEMA_VERSION, type TrellisEvent } from './types.js';

const encoder = new Encoder({ sortKeys: true, ignoreUndefined: true });
const decoder = new Decoder();

const intentionRecord = z.strictObject({
  ID: z.string().min(1),
  SourceNS: z.string(),
  SourceName: z.string(),
  DestinationNS: z.string(),
  DestinationName: z.string(),
  SourceType: z.literal('consul'),
  Action: z.enum(['allow', 'deny']),
  Description: z.string(),
  Meta: z.record(z.string(), z.string()),
  Precedence: z.number().int(),
  CreatedAt: z.number(),
  UpdatedAt: z.number(),
});

const base = { v: z.number().int().positive(), at: z.number(), by: z.string(), rid: z.string().optional() };

const eventSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...base, type: z.literal('LogStarted'), data: z.strictObject({ primary: z.string().min(1) }) }),
  z.strictObject({ ...base, type: z.literal('IntentionCreated'), data: z.strictObject({ intention: intentionRecord }) }),
  z.strictObject({ ...base, type: z.literal('IntentionUpdated'), data: z.strictObject({ intention: intentionRecord }) }),
  z.strictObject({ ...base, type: z.literal('IntentionDeleted'), data: z.strictObject({ id: z.string().min(1) }) }),
]);

const versionProbe = z.object({ v: z.number().int() });

/** Encodes an event envelope as msgpack with sorted keys, so equal events have equal bytes. */
export function encodeEvent(event: TrellisEvent): Uint8Array {
  return encoder.encode(event);
}

/**
 * Decodes and validates an envelope. A schema version newer than this build knows is E_SCHEMA
 * (the projector halts: an upgrade is needed); anything malformed is E_DECODE.
 */
export function decodeEvent(bytes: Uint8Array): TrellisEvent {
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch (err) {
    throw new TrellisError('E_DECODE', `event is not valid msgpack: ${(err as Error).message}`, { cause: err });
  }
  const version = versionProbe.safeParse(raw);
  if (version.success && version.data.v > SCHEMA_VERSION) {
    throw new TrellisError(
      'E_SCHEMA',
      `event schema version ${version.data.v} is newer than this build reads (${SCHEMA_VERSION}): upgrade trellis`,
    );
  }
  const parsed = eventSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') ?? '';
    throw new TrellisError('E_DECODE', `event does not match schema ${SCHEMA_VERSION}: ${where ? `${where}: ` : ''}${issue?.message ?? 'invalid'}`);
  }
  return parsed.data as TrellisEvent;
}
