import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import { chainBreak, chainEvent, decodeEvent, eventHash, GENESIS_PREV, type TrellisEvent } from '../../../src/events/index.js';
import { isTrellisError } from '../../../src/common/index.js';

const event = (id: string): TrellisEvent => ({ v: 1, type: 'IntentionDeleted', at: 1, by: 'x', data: { id } });

describe('the hash chain', () => {
  it('links each event to the hash of the previous one\'s bytes; any change to an earlier event breaks the next link', () => {
    fc.assert(
      fc.property(fc.array(fc.uuid(), { minLength: 2, maxLength: 8 }), fc.nat(), (ids, pick) => {
        let prev = GENESIS_PREV;
        const stored: Uint8Array[] = [];
        for (const id of ids) {
          const c = chainEvent(event(id), prev);
          assert.equal(c.hash, eventHash(c.bytes));
          stored.push(c.bytes);
          prev = c.hash;
        }
        // Verify the whole chain, then tamper with one event and verify again.
        const verify = (log: Uint8Array[]) => {
          let expected = GENESIS_PREV;
          for (const [i, bytes] of log.entries()) {
            const broken = chainBreak(i + 1, decodeEvent(bytes), expected);
            if (broken) return i + 1;
            expected = eventHash(bytes);
          }
          return 0;
        };
        assert.equal(verify(stored), 0);
        const i = pick % (stored.length - 1);
        const tampered = [...stored];
        tampered[i] = chainEvent({ ...event('00000000-0000-4000-8000-00000000dead') }, decodeEvent(stored[i]!).prev ?? GENESIS_PREV).bytes;
        assert.equal(verify(tampered), i + 2, 'the event after the edited one no longer links');
      }),
    );
  });

  it('names an event without a link, and refuses a link that is not a SHA-256', () => {
    assert.match(chainBreak(7, event('a'), GENESIS_PREV) ?? '', /event 7 carries no link/);
    assert.throws(() => decodeEvent(encode({ ...event('a'), prev: 'xyz' })), (err) => isTrellisError(err, 'E_DECODE') && /prev: expected a SHA-256/.test(err.message));
  });
});
