import type { IntentionRecord, TrellisEvent } from '../../src/events/index.js';

let counter = 0;

/** A valid intention record with overrides; IDs are unique per call unless given. */
export function intentionRecord(overrides: Partial<IntentionRecord> = {}): IntentionRecord {
  counter++;
  return {
    ID: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    SourceNS: 'default',
    SourceName: `web${counter}`,
    DestinationNS: 'default',
    DestinationName: 'db',
    SourceType: 'consul',
    Action: 'allow',
    Description: '',
    Meta: {},
    Precedence: 9,
    CreatedAt: 1_700_000_000_000,
    UpdatedAt: 1_700_000_000_000,
    ...overrides,
  };
}

export function created(record: IntentionRecord, at = record.CreatedAt): TrellisEvent {
  return { v: 1, type: 'IntentionCreated', at, by: 'anonymous', data: { intention: record } };
}

export function updated(record: IntentionRecord, at = record.UpdatedAt): TrellisEvent {
  return { v: 1, type: 'IntentionUpdated', at, by: 'anonymous', data: { intention: record } };
}

export function deleted(id: string, at = 1_700_000_000_000): TrellisEvent {
  return { v: 1, type: 'IntentionDeleted', at, by: 'anonymous', data: { id } };
}

export function caRootCreated(id = 'aa:bb', trustDomain = '11111111-2222-3333-4444-555555555555.consul', rootCert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'): TrellisEvent {
  return {
    v: 1,
    type: 'CARootCreated',
    at: 1_700_000_000_000,
    by: 'agent:dc1',
    data: {
      trustDomain,
      root: {
        ID: id,
        Name: 'trellis CA 1',
        SerialNumber: 7,
        SigningKeyID: 'cc:dd',
        NotBefore: 1_700_000_000_000,
        NotAfter: 1_900_000_000_000,
        RootCert: rootCert,
        IntermediateCerts: [],
        PrivateKeyType: 'ec',
        PrivateKeyBits: 256,
      },
    },
  };
}
