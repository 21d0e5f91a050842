import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evolve, type IntentionRow } from '../../../src/events/index.js';
import { created, deleted, intentionRecord, updated } from '../../helpers/fixtures.js';

const empty = { intention: (): IntentionRow | undefined => undefined, caState: () => undefined, caRoot: () => undefined, aclPolicy: () => undefined, aclToken: () => undefined };

describe('evolve', () => {
  it('a created intention gets CreateIndex and ModifyIndex from its sequence', () => {
    const r = intentionRecord();
    assert.deepEqual(evolve(empty, 7, created(r)), [{ table: 'intentions', op: 'put', key: r.ID, row: { ...r, CreateIndex: 7, ModifyIndex: 7 } }]);
  });

  it('an update keeps CreateIndex and CreatedAt, moves ModifyIndex', () => {
    const r = intentionRecord();
    const before: IntentionRow = { ...r, CreateIndex: 3, ModifyIndex: 3 };
    const next = { ...r, Action: 'deny' as const, CreatedAt: r.CreatedAt + 999, UpdatedAt: r.UpdatedAt + 5 };
    const [change] = evolve({ intention: () => before, caState: () => undefined, caRoot: () => undefined, aclPolicy: () => undefined, aclToken: () => undefined }, 9, updated(next));
    assert.equal(change?.op, 'put');
    assert.deepEqual(change?.op === 'put' && change.row, { ...next, CreatedAt: r.CreatedAt, CreateIndex: 3, ModifyIndex: 9 });
  });

  it('a delete removes an existing intention and is a no-op for an unknown one', () => {
    const r = intentionRecord();
    assert.deepEqual(evolve({ intention: () => ({ ...r, CreateIndex: 1, ModifyIndex: 1 }), caState: () => undefined, caRoot: () => undefined, aclPolicy: () => undefined, aclToken: () => undefined }, 2, deleted(r.ID)), [{ table: 'intentions', op: 'delete', key: r.ID }]);
    assert.deepEqual(evolve(empty, 2, deleted(r.ID)), []);
  });
});
