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
