import { TrellisError } from '../common/index.js';
import type { IntentionFields } from './validate.js';

/** What a client may set on an intention (the validated fields plus an ID); the rest Consul computes or ignores. */
export interface IntentionInput extends IntentionFields {
  readonly ID: string;
}

type GoType = 'string' | 'map[string]string' | 'int' | 'time.Time' | 'uint64' | 'bool' | 'any';

/** The fields of Consul's `structs.Intention` and their Go types: a wrong JSON type is a decode error. */
const FIELDS: Readonly<Record<string, GoType>> = {
  ID: 'string',
  Description: 'string',
  SourcePeer: 'string',
  SourcePartition: 'string',
  SourceNS: 'string',
  SourceName: 'string',
  DestinationPartition: 'string',
  DestinationNS: 'string',
  DestinationName: 'string',
  SourceType: 'string',
  Action: 'string',
  Permissions: 'any',
  LegacyID: 'string',
  DefaultAddr: 'string',
  DefaultPort: 'int',
  Meta: 'map[string]string',
  LegacyMeta: 'map[string]string',
  Precedence: 'int',
  CreatedAt: 'time.Time',
  UpdatedAt: 'time.Time',
  Hash: 'any',
  CreateIndex: 'uint64',
  ModifyIndex: 'uint64',
};

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

function fits(type: GoType, value: unknown): boolean {
  if (value === null || type === 'any') return true;
  switch (type) {
    case 'string':
    case 'time.Time':
      return typeof value === 'string';
    case 'int':
      return typeof value === 'number' && Number.isInteger(value);
    case 'uint64':
      return typeof value === 'number' && Number.isInteger(value) && value >= 0;
    case 'bool':
      return typeof value === 'boolean';
    case 'map[string]string':
      return typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string' || v === null);
  }
}

/**
 * Decodes a request body into an intention input the way Go's JSON decoder would: unknown fields
 * ignored, a known field of the wrong JSON type refused with Go's message after `prefix`.
 */
export function parseIntentionBody(body: unknown, prefix = 'Request decode failed'): IntentionInput {
  if (body === undefined || body === null) return emptyInput();
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new TrellisError('E_VALIDATION', `${prefix}: json: cannot unmarshal ${jsonKind(body)} into Go value of type structs.Intention`);
  }
  const raw = body as Record<string, unknown>;
  for (const [field, type] of Object.entries(FIELDS)) {
    const value = raw[field];
    if (value !== undefined && !fits(type, value)) {
      const kind = type === 'map[string]string' && typeof value === 'object' && !Array.isArray(value) ? 'non-string value' : jsonKind(value);
      throw new TrellisError('E_VALIDATION', `${prefix}: json: cannot unmarshal ${kind} into Go struct field Intention.${field} of type ${type}`);
    }
  }
  const str = (field: string): string => {
    const value = raw[field];
    return typeof value === 'string' ? value : '';
  };
  const meta: Record<string, string> = {};
  if (raw.Meta && typeof raw.Meta === 'object') {
    for (const [k, v] of Object.entries(raw.Meta as Record<string, string | null>)) meta[k] = v ?? '';
  }
  return {
    ID: str('ID'),
    SourceNS: str('SourceNS'),
    SourceName: str('SourceName'),
    DestinationNS: str('DestinationNS'),
    DestinationName: str('DestinationName'),
    SourceType: str('SourceType'),
    Action: str('Action'),
    Description: str('Description'),
    Meta: meta,
  };
}

function emptyInput(): IntentionInput {
  return { ID: '', SourceNS: '', SourceName: '', DestinationNS: '', DestinationName: '', SourceType: '', Action: '', Description: '', Meta: {} };
}
