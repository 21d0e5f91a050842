import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import { DEFAULT_CA_CONFIG, decodeEvent, encodeEvent, evolve, type CAStateRow } from '../../../src/events/index.js';
import { isTrellisError } from '../../../src/common/index.js';
import { caRootCreated } from '../../helpers/fixtures.js';

describe('CA events', () => {
  it('CARootCreated round-trips through the codec', () => {
    const e = caRootCreated();
    assert.deepEqual(decodeEvent(encodeEvent(e)), JSON.parse(JSON.stringify(e)));
  });

  it('an event carrying a private key is refused by the decoder', () => {
    const e = caRootCreated('aa', 'td.consul', '-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n');
    assert.throws(() => decodeEvent(encode(e)), (err) => isTrellisError(err, 'E_DECODE') && /data\.root\.RootCert: contains a private key/.test(err.message));
  });

  it('the first root sets the trust domain and active root; a later "first root" changes nothing', () => {
    const none = { intention: () => undefined, caState: (): CAStateRow | undefined => undefined, caRoot: () => undefined };
    const changes = evolve(none, 5, caRootCreated('aa:bb'));
    assert.deepEqual(
      changes.map((c) => [c.table, c.op, c.key]),
      [
        ['ca_roots', 'put', 'aa:bb'],
        ['ca_state', 'put', 'state'],
      ],
    );
    const state = changes[1]?.op === 'put' && changes[1].table === 'ca_state' ? changes[1].row : undefined;
    assert.deepEqual(state, { TrustDomain: '11111111-2222-3333-4444-555555555555.consul', ActiveRootID: 'aa:bb', Config: DEFAULT_CA_CONFIG, CreateIndex: 5, ModifyIndex: 5 });
    assert.deepEqual(evolve({ ...none, caState: () => state }, 6, caRootCreated('ee:ff', 'other.consul')), []);
  });
});
