import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import { DEFAULT_CA_CONFIG, decodeEvent, encodeEvent, evolve, type CAConfigRecord, type CARootRow, type CAStateRow, type TrellisEvent } from '../../../src/events/index.js';
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
    const none = { intention: () => undefined, caState: (): CAStateRow | undefined => undefined, caRoot: () => undefined, aclPolicy: () => undefined, aclToken: () => undefined };
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

describe('CA rotation in the fold', () => {
  const root = (id: string) => {
    const e = caRootCreated(id);
    if (e.type !== 'CARootCreated') throw new Error('fixture');
    return e.data.root;
  };
  /** A tiny state over a map, folding with the real evolve. */
  function fold(events: TrellisEvent[]) {
    const rows = new Map<string, unknown>();
    const state = {
      intention: () => undefined,
      caState: () => rows.get('ca_state/state') as CAStateRow | undefined,
      caRoot: (id: string) => rows.get(`ca_roots/${id}`) as CARootRow | undefined,
      aclPolicy: () => undefined,
      aclToken: () => undefined,
    };
    let seq = 1;
    for (const e of events) {
      for (const c of evolve(state, ++seq, e)) {
        if (c.op === 'put') rows.set(`${c.table}/${c.key}`, c.row);
        else rows.delete(`${c.table}/${c.key}`);
      }
    }
    return { state, roots: () => [...rows.keys()].filter((k) => k.startsWith('ca_roots/')).map((k) => k.slice(9)) };
  }
  const rotated = (id: string, previousRootId: string, at: number, config?: CAConfigRecord): TrellisEvent => ({
    v: 1,
    type: 'CARootRotated',
    at,
    by: 'anonymous',
    data: { root: { ...root(id), IntermediateCerts: ['-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n'] }, previousRootId, ...(config ? { config } : {}) },
  });

  it('a rotation activates the new root, keeps the old one published with RotatedOutAt, and sets the config it carries', () => {
    const rsa = { ...DEFAULT_CA_CONFIG, PrivateKeyType: 'rsa' as const, PrivateKeyBits: 2048 };
    const { state, roots } = fold([caRootCreated('aa'), rotated('bb', 'aa', 1_800_000_000_000, rsa)]);
    assert.deepEqual(roots().sort(), ['aa', 'bb']);
    assert.equal(state.caState()?.ActiveRootID, 'bb');
    assert.deepEqual(state.caState()?.Config, rsa);
    assert.equal(state.caRoot('aa')?.RotatedOutAt, 1_800_000_000_000);
    assert.equal(state.caRoot('aa')?.CreateIndex, 2);
    assert.equal(state.caRoot('aa')?.ModifyIndex, 3);
    assert.equal(state.caRoot('bb')?.RotatedOutAt, 0);
    assert.equal(state.caState()?.TrustDomain, '11111111-2222-3333-4444-555555555555.consul');
  });

  it('a rotation from a root that is no longer active is a no-op; pruning never removes the active root', () => {
    const { state, roots } = fold([
      caRootCreated('aa'),
      rotated('bb', 'aa', 1),
      rotated('cc', 'aa', 2), // stale: decided against aa, but bb is active
      { v: 1, type: 'CARootsPruned', at: 3, by: 'agent:dc1', data: { rootIds: ['aa', 'bb', 'zz'] } },
    ]);
    assert.equal(state.caState()?.ActiveRootID, 'bb');
    assert.deepEqual(roots(), ['bb']);
  });

  it('CAConfigSet changes the configuration only', () => {
    const { state } = fold([caRootCreated('aa'), { v: 1, type: 'CAConfigSet', at: 1, by: 'anonymous', data: { config: { ...DEFAULT_CA_CONFIG, LeafCertTTL: '24h' } } }]);
    assert.equal(state.caState()?.Config.LeafCertTTL, '24h');
    assert.equal(state.caState()?.ActiveRootID, 'aa');
  });
});
