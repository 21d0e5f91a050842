import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import { openView } from '../../../src/view/index.js';
import { matchIntentions } from '../../../src/intentions/index.js';
import { silentLogger, isTrellisError } from '../../../src/common/index.js';
import type { StoredEvent, TrellisEvent } from '../../../src/events/index.js';
import { caRootCreated, created, deleted, intentionRecord, updated } from '../../helpers/fixtures.js';
import { makeTempDir } from '../../helpers/temp.js';

const logger = silentLogger();
const stored = (events: TrellisEvent[], from = 1): StoredEvent[] => events.map((event, i) => ({ seq: from + i, event }));

/** A random but valid history over a small set of intentions: creates, updates and deletes. */
const history = fc
  .array(fc.tuple(fc.constantFrom('create', 'update', 'delete'), fc.integer({ min: 0, max: 5 }), fc.constantFrom('allow', 'deny')), { maxLength: 60 })
  .map((ops) => {
    const ids = Array.from({ length: 6 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`);
    const live = new Set<string>();
    const events: TrellisEvent[] = [];
    let t = 1_700_000_000_000;
    for (const [op, n, action] of ops) {
      const id = ids[n] ?? ids[0]!;
      t += 1000;
      const rec = intentionRecord({ ID: id, SourceName: `svc${n}`, Action: action, CreatedAt: t, UpdatedAt: t });
      if (op === 'create' && !live.has(id)) {
        events.push(created(rec));
        live.add(id);
      } else if (op === 'update' && live.has(id)) {
        events.push(updated(rec));
      } else if (op === 'delete') {
        events.push(deleted(id, t));
        live.delete(id);
      }
    }
    return events;
  });

describe('LMDB view', () => {
  it('applies a batch in one transaction with the checkpoint and table index, and reopens where it was', async () => {
    const path = join(makeTempDir(), 'view');
    const view = openView({ path, logger });
    const a = intentionRecord();
    const b = intentionRecord({ SourceName: 'api' });
    await view.applyBatch(stored([created(a), created(b), updated({ ...a, Action: 'deny' })]));
    assert.equal(view.appliedSeq(), 3);
    assert.equal(view.tableIndex('intentions'), 3);
    assert.equal(view.intention(a.ID)?.Action, 'deny');
    assert.equal(view.intention(a.ID)?.CreateIndex, 1);
    assert.equal(view.intention(a.ID)?.ModifyIndex, 3);
    assert.equal(view.intentionByPair('default', 'api', 'default', 'db')?.ID, b.ID);
    const digests = view.tableDigests();
    await view.close();

    const reopened = openView({ path, logger });
    assert.equal(reopened.appliedSeq(), 3);
    assert.equal(reopened.intentionCount(), 2);
    assert.deepEqual(reopened.tableDigests(), digests);
    await reopened.close();
  });

  it('keeps CA state in its own tables, across a reopen, and counts it in the digests', async () => {
    const path = join(makeTempDir(), 'view');
    const view = openView({ path, logger });
    await view.applyBatch(stored([created(intentionRecord()), caRootCreated('aa:bb')]));
    assert.equal(view.caState()?.ActiveRootID, 'aa:bb');
    assert.equal(view.tableIndex('ca_roots'), 2);
    assert.equal(view.tableIndex('intentions'), 1);
    assert.deepEqual([...view.caRoots()].map((r) => r.ID), ['aa:bb']);
    const digests = view.tableDigests();
    assert.deepEqual(Object.keys(digests).sort(), ['acl_policies', 'acl_tokens', 'ca_intermediates', 'ca_roots', 'ca_state', 'intentions', 'meta']);
    await view.close();
    const reopened = openView({ path, logger });
    assert.equal(reopened.caState()?.TrustDomain, '11111111-2222-3333-4444-555555555555.consul');
    assert.deepEqual(reopened.tableDigests(), digests);
    await reopened.close();
  });

  it('refuses a batch that does not follow the checkpoint, changing nothing', async () => {
    const view = openView({ path: join(makeTempDir(), 'view'), logger });
    await view.applyBatch(stored([created(intentionRecord())]));
    const before = view.tableDigests();
    await assert.rejects(view.applyBatch(stored([created(intentionRecord())], 5)), /expected sequence 2 but was given 5/);
    assert.deepEqual(view.tableDigests(), before);
    assert.equal(view.appliedSeq(), 1);
    await view.close();
  });

  it('moves the pair index when an update renames source or destination', async () => {
    const view = openView({ path: join(makeTempDir(), 'view'), logger });
    const a = intentionRecord({ SourceName: 'web', DestinationName: 'db' });
    await view.applyBatch(stored([created(a), updated({ ...a, DestinationName: 'cache' })]));
    assert.equal(view.intentionByPair('default', 'web', 'default', 'db'), undefined);
    assert.equal(view.intentionByPair('default', 'web', 'default', 'cache')?.ID, a.ID);
    await view.applyBatch(stored([deleted(a.ID)], 3));
    assert.equal(view.intentionByPair('default', 'web', 'default', 'cache'), undefined);
    assert.equal(view.intentionCount(), 0);
    await view.close();
  });

  it('wakes blocking waiters when the table index passes theirs, and times out otherwise', async () => {
    const view = openView({ path: join(makeTempDir(), 'view'), logger });
    await view.applyBatch(stored([created(intentionRecord())]));
    const timedOut = await view.waitForIndex('intentions', 1, 50);
    assert.equal(timedOut, 1);
    const woken = view.waitForIndex('intentions', 1, 10_000);
    const seq = view.waitForSeq(2, 10_000);
    await view.applyBatch(stored([created(intentionRecord())], 2));
    assert.equal(await woken, 2);
    assert.equal(await seq, true);
    assert.equal(await view.waitForSeq(5, 20), false);
    await view.close();
  });

  it('property: the view is the same, byte for byte, however the history is split into batches', async () => {
    await fc.assert(
      fc.asyncProperty(history, fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }), async (events, cuts) => {
        const one = openView({ path: join(makeTempDir(), 'one'), logger });
        const many = openView({ path: join(makeTempDir(), 'many'), logger });
        const all = stored(events);
        await one.applyBatch(all);
        let i = 0;
        let c = 0;
        while (i < all.length) {
          const size = cuts[c++ % cuts.length] ?? 1;
          await many.applyBatch(all.slice(i, i + size));
          i += size;
        }
        assert.deepEqual(many.dump(), one.dump());
        await one.close();
        await many.close();
      }),
      { numRuns: 40 },
    );
  });

  it('property: match through the view\'s name index equals a scan of every intention', async () => {
    const names = ['svc0', 'svc1', 'db', '*'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.constantFrom(...names), fc.constantFrom(...names), fc.boolean()), { maxLength: 40 }),
        async (ops) => {
          const view = openView({ path: join(makeTempDir(), 'match'), logger });
          // Live intention → its pair; a pair belongs to one intention at a time (the writer's rule).
          const live = new Map<number, string>();
          const events: TrellisEvent[] = [];
          for (const [n, source, destination, remove] of ops) {
            const id = `00000000-0000-4000-8000-00000000000${n}`;
            const pair = `${source}>${destination}`;
            if (remove) {
              if (live.delete(n)) events.push(deleted(id, 1));
            } else if (![...live].some(([other, p]) => other !== n && p === pair)) {
              const rec = intentionRecord({ ID: id, SourceName: source, DestinationName: destination });
              events.push(live.has(n) ? updated(rec) : created(rec));
              live.set(n, pair);
            }
          }
          if (events.length > 0) await view.applyBatch(stored(events));
          for (const by of ['source', 'destination'] as const) {
            for (const name of names) assert.deepEqual(matchIntentions(view, by, name), matchIntentions([...view.intentions()], by, name), `${by} ${name}`);
          }
          await view.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses to open a view written with another layout version', async () => {
    const path = join(makeTempDir(), 'view');
    const view = openView({ path, logger });
    await view.close();
    const { open } = await import('lmdb');
    const env = open({ path });
    const meta = env.openDB({ name: 'meta', encoding: 'ordered-binary' });
    await meta.put('schema', 99);
    await env.close();
    assert.throws(() => openView({ path, logger }), (err) => isTrellisError(err, 'E_SCHEMA') && /layout version 99/.test(err.message));
  });
});
