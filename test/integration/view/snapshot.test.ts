import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { openView, type View } from '../../../src/view/index.js';
import { silentLogger } from '../../../src/common/index.js';
import { chainEvent, GENESIS_PREV, type StoredEvent, type TrellisEvent } from '../../../src/events/index.js';
import { canonicalSnapshotBytes, canonicalSnapshotParts, decodeSnapshot, encodeSnapshot, sha256Hex } from '../../../src/snapshot/index.js';
import { caRootCreated, created, deleted, intentionRecord, updated } from '../../helpers/fixtures.js';
import { makeTempDir } from '../../helpers/temp.js';

const logger = silentLogger();

/** Events as the projector hands them to the view: chained, each with its hash. */
function chained(events: TrellisEvent[]): StoredEvent[] {
  let prev = GENESIS_PREV;
  return events.map((e, i) => {
    const linked = chainEvent(e, prev);
    prev = linked.hash;
    return { seq: i + 1, event: linked.event, hash: linked.hash };
  });
}

const history = fc
  .array(fc.tuple(fc.constantFrom('create', 'update', 'delete'), fc.integer({ min: 0, max: 7 }), fc.constantFrom('allow', 'deny')), { minLength: 1, maxLength: 50 })
  .map((ops) => {
    const live = new Set<number>();
    const events: TrellisEvent[] = [caRootCreated('aa:bb')];
    let t = 1_700_000_000_000;
    for (const [op, n, action] of ops) {
      const id = `00000000-0000-4000-8000-00000000000${n}`;
      t += 1000;
      const rec = intentionRecord({ ID: id, SourceName: `svc${n}`, Action: action, CreatedAt: t, UpdatedAt: t });
      if (op === 'create' && !live.has(n)) {
        events.push(created(rec));
        live.add(n);
      } else if (op === 'update' && live.has(n)) events.push(updated(rec));
      else if (op === 'delete') {
        events.push(deleted(id, t));
        live.delete(n);
      }
    }
    return chained(events);
  });

const fresh = (name: string): View => openView({ path: join(makeTempDir(), name), logger });

describe('view snapshots (format and law)', () => {
  it('property: loading the snapshot taken at any cut and applying the rest equals applying everything, byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(history, fc.nat(), async (events, at) => {
        const cut = 1 + (at % events.length);
        const whole = fresh('whole');
        await whole.applyBatch(events);
        const source = fresh('source');
        await source.applyBatch(events.slice(0, cut));
        const encoded = await encodeSnapshot(await source.snapshot());
        const { snapshot, digest } = await decodeSnapshot(encoded.bytes, encoded.digest);
        assert.equal(digest, encoded.digest);
        const target = fresh('target');
        await target.loadSnapshot(snapshot, { seq: cut, digest });
        assert.deepEqual(target.dump(), source.dump(), 'the loaded view is the source view');
        if (cut < events.length) await target.applyBatch(events.slice(cut));
        assert.deepEqual(target.dump(), whole.dump(), 'and it continues to the same view as a full fold');
        assert.equal(target.chainHash(), whole.chainHash());
        assert.deepEqual(target.snapshotOrigin(), { seq: cut, digest });
        for (const v of [whole, source, target]) await v.close();
      }),
      { numRuns: 25 },
    );
  });

  it('property: equal views give equal canonical bytes (the digest a replay computes is the one the primary recorded)', async () => {
    await fc.assert(
      fc.asyncProperty(history, fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }), async (events, cuts) => {
        const one = fresh('one');
        await one.applyBatch(events);
        const many = fresh('many');
        for (let i = 0, c = 0; i < events.length; c++) {
          const size = cuts[c % cuts.length]!;
          await many.applyBatch(events.slice(i, i + size));
          i += size;
        }
        assert.equal(sha256Hex(canonicalSnapshotBytes(await many.snapshot())), sha256Hex(canonicalSnapshotBytes(await one.snapshot())));
        await one.close();
        await many.close();
      }),
      { numRuns: 25 },
    );
  });

  it('encodes a large view a slice at a time to exactly the canonical bytes (array headers of every size)', async () => {
    for (const n of [0, 15, 16, 65_535, 65_536, 70_001]) {
      const entries = Array.from({ length: n }, (_, i) => [`k${String(i).padStart(6, '0')}`, Uint8Array.of(i & 0xff, 1, 2)] as const);
      const snap = { schema: 1, seq: 7, chainHash: 'a'.repeat(64), indexes: [['intentions', 7]] as const, tables: [['intentions', entries], ['ca_roots', []]] as const };
      const whole = canonicalSnapshotBytes(snap);
      assert.ok(Buffer.concat([...canonicalSnapshotParts(snap, 1000)]).equals(whole), `${n} entries`);
      const encoded = await encodeSnapshot(snap);
      assert.equal(encoded.digest, sha256Hex(whole));
      assert.equal(encoded.rows, n);
      assert.deepEqual((await decodeSnapshot(encoded.bytes, encoded.digest)).snapshot.tables[0]![1].length, n);
    }
  });

  it('refuses a snapshot whose digest differs, that is not gzip, or is malformed, and loads nothing', async () => {
    const v = fresh('v');
    await v.applyBatch(chained([caRootCreated('aa:bb'), created(intentionRecord())]));
    const encoded = await encodeSnapshot(await v.snapshot());
    await assert.rejects(decodeSnapshot(encoded.bytes, '0'.repeat(64)), /E_SNAPSHOT|digest is .*, the primary recorded/);
    await assert.rejects(decodeSnapshot(new Uint8Array([1, 2, 3]), encoded.digest), /not gzip/);
    const junk = gzipSync(Buffer.from([0x93, 1, 2, 3]));
    await assert.rejects(decodeSnapshot(junk, sha256Hex(Buffer.from([0x93, 1, 2, 3]))), /expected \[format, schema, seq, chainHash, indexes, tables\]/);
    const target = fresh('t');
    await assert.rejects(decodeSnapshot(encoded.bytes, 'f'.repeat(64)));
    assert.equal(target.appliedSeq(), 0);
    // Only an empty view takes a snapshot.
    const { snapshot, digest } = await decodeSnapshot(encoded.bytes, encoded.digest);
    await assert.rejects(v.loadSnapshot(snapshot, { seq: snapshot.seq, digest }), /loads only into an empty view/);
    for (const x of [v, target]) await x.close();
  });

  it('a view without a recorded chain hash refuses to snapshot (it could not be checked against the log)', async () => {
    const v = fresh('nochain');
    await v.applyBatch([{ seq: 1, event: caRootCreated('aa:bb') }]);
    await assert.rejects(v.snapshot(), /no recorded chain hash/);
    await v.close();
  });
});
