import type { IntentionRow, TrellisEvent } from './types.js';

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
export function evolve(state: EvolveState, seq: number, event: TrellisEvent): ViewChange[] {
  switch (event.type) {
    case 'LogStarted':
      return [];
    case 'IntentionCreated': {
      const row: IntentionRow = { ...event.data.intention, CreateIndex: seq, ModifyIndex: seq };
      return [{ table: 'intentions', op: 'put', row }];
    }
    case 'IntentionUpdated': {
      const before = state.intention(event.data.intention.ID);
      const row: IntentionRow = {
        ...event.data.intention,
        CreatedAt: before?.CreatedAt ?? event.data.intention.CreatedAt,
        CreateIndex: before?.CreateIndex ?? seq,
        ModifyIndex: seq,
      };
      return [{ table: 'intentions', op: 'put', row }];
    }
    case 'IntentionDeleted':
      return state.intention(event.data.id) ? [{ table: 'intentions', op: 'delete', id: event.data.id }] : [];
  }
}
