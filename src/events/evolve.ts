import type { IntentionRecord, IntentionRow, TrellisEvent } from './types.js';

/** One change to a view table, produced by `evolve` and applied by the view. */
export type ViewChange =
  | { readonly table: 'intentions'; readonly op: 'put'; readonly row: IntentionRow }
  | { readonly table: 'intentions'; readonly op: 'delete'; readonly id: string };

export type ViewTable = ViewChange['table'];
export const VIEW_TABLES: readonly ViewTable[] = ['intentions'];

/** What evolve may read of the state the previous events left. */
export interface EvolveState {
  intention(id: string): IntentionRow | undefined;
}

/**
 * The pure fold step: what event `seq` changes in the view, given the state before it.
 * Everything it writes comes from the event and the sequence, never from the clock,
 * so replaying the stream into an empty view yields the same view.
 */
/** Rows are built field by field in one order: fast, and the same bytes on every replay. */
function row(r: IntentionRecord, createdAt: number, createIndex: number, modifyIndex: number): IntentionRow {
  return {
    ID: r.ID,
    SourceNS: r.SourceNS,
    SourceName: r.SourceName,
    DestinationNS: r.DestinationNS,
    DestinationName: r.DestinationName,
    SourceType: r.SourceType,
    Action: r.Action,
    Description: r.Description,
    Meta: r.Meta,
    Precedence: r.Precedence,
    CreatedAt: createdAt,
    UpdatedAt: r.UpdatedAt,
    CreateIndex: createIndex,
    ModifyIndex: modifyIndex,
  };
}

export function evolve(state: EvolveState, seq: number, event: TrellisEvent): ViewChange[] {
  switch (event.type) {
    case 'LogStarted':
      return [];
    case 'IntentionCreated': {
      const r = event.data.intention;
      return [{ table: 'intentions', op: 'put', row: row(r, r.CreatedAt, seq, seq) }];
    }
    case 'IntentionUpdated': {
      const r = event.data.intention;
      const before = state.intention(r.ID);
      return [{ table: 'intentions', op: 'put', row: row(r, before?.CreatedAt ?? r.CreatedAt, before?.CreateIndex ?? seq, seq) }];
    }
    case 'IntentionDeleted':
      return state.intention(event.data.id) ? [{ table: 'intentions', op: 'delete', id: event.data.id }] : [];
  }
}
