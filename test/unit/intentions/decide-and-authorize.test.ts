import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  authorize,
  decideCreate,
  decideDelete,
  decideDeleteExact,
  decideUpdate,
  decideUpsertExact,
  intentionCheck,
  matchIntentions,
  parseIntentionBody,
  parseSpiffeId,
  serviceSpiffeUri,
  toConsulIntention,
  goTime,
} from '../../../src/intentions/index.js';
import { evolve, type IntentionRow, type TrellisEvent } from '../../../src/events/index.js';
import { isTrellisError } from '../../../src/common/index.js';
import type { WriterState } from '../../../src/log/index.js';

/** A tiny in-memory state that folds events with the real evolve. */
function memoryState() {
  const rows = new Map<string, IntentionRow>();
  let seq = 1;
  const state: WriterState & { apply(e: TrellisEvent | undefined): void; all(): IntentionRow[] } = {
    intention: (id) => rows.get(id),
    caState: () => undefined,
    caRoot: () => undefined,
    aclPolicy: () => undefined,
    aclPolicyByName: () => undefined,
    aclToken: () => undefined,
    aclTokenBySecretHash: () => undefined,
    intentionByPair: (sns, sn, dns, dn) =>
      [...rows.values()].find((r) => r.SourceNS === sns && r.SourceName === sn && r.DestinationNS === dns && r.DestinationName === dn),
    apply(e) {
      if (!e) return;
      for (const c of evolve(state, ++seq, e)) {
        if (c.table !== 'intentions') continue;
        if (c.op === 'put') rows.set(c.key, c.row);
        else rows.delete(c.key);
      }
    },
    all: () => [...rows.values()],
  };
  return state;
}

let n = 0;
const ctx = () => ({ now: 1_700_000_000_000 + n, newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, actor: 'test' });
const body = (b: Record<string, unknown>) => parseIntentionBody(b);

describe('write decisions', () => {
  it('create fills Consul\'s defaults, computes precedence and refuses a duplicate pair with Consul\'s message', () => {
    const s = memoryState();
    const d = decideCreate(s, body({ SourceName: 'web', DestinationName: 'db', Action: 'allow' }), ctx());
    assert.equal(d.event?.type, 'IntentionCreated');
    const rec = d.event?.type === 'IntentionCreated' ? d.event.data.intention : undefined;
    assert.equal(rec?.SourceNS, 'default');
    assert.equal(rec?.SourceType, 'consul');
    assert.equal(rec?.Precedence, 9);
    s.apply(d.event);
    assert.throws(
      () => decideCreate(s, body({ SourceName: 'web', DestinationName: 'db', Action: 'deny' }), ctx()),
      (err) => isTrellisError(err, 'E_CONFLICT') && err.message === `duplicate intention found: ALLOW default/web => default/db (ID: ${d.result})`,
    );
  });

  it('create refuses an ID, another namespace, and invalid input', () => {
    const s = memoryState();
    assert.throws(() => decideCreate(s, body({ ID: 'x', SourceName: 'a', DestinationName: 'b', Action: 'allow' }), ctx()), /ID must be empty when creating a new intention/);
    assert.throws(() => decideCreate(s, body({ SourceNS: 'prod', SourceName: 'a', DestinationName: 'b', Action: 'allow' }), ctx()), /Invalid SourceNS\("prod"\): Namespaces is a Consul Enterprise feature/);
    assert.throws(() => decideCreate(s, body({ SourceName: 'a', DestinationName: 'b' }), ctx()), (err) => isTrellisError(err, 'E_VALIDATION'));
  });

  it('update keeps the ID and CreatedAt, may rename, and refuses renaming onto another intention\'s pair', () => {
    const s = memoryState();
    const a = decideCreate(s, body({ SourceName: 'a', DestinationName: 'db', Action: 'allow' }), ctx());
    s.apply(a.event);
    const b = decideCreate(s, body({ SourceName: 'b', DestinationName: 'db', Action: 'allow' }), ctx());
    s.apply(b.event);
    const u = decideUpdate(s, a.result, body({ SourceName: 'a', DestinationName: 'cache', Action: 'deny' }), ctx());
    s.apply(u.event);
    assert.equal(s.intention(a.result)?.DestinationName, 'cache');
    assert.equal(s.intention(a.result)?.CreatedAt, s.intention(a.result)?.CreatedAt);
    assert.throws(() => decideUpdate(s, a.result, body({ SourceName: 'b', DestinationName: 'db', Action: 'deny' }), ctx()), /duplicate intention found/);
    assert.throws(() => decideUpdate(s, '00000000-0000-4000-8000-999999999999', body({ SourceName: 'x', DestinationName: 'y', Action: 'deny' }), ctx()), (err) => isTrellisError(err, 'E_NOT_FOUND') && /Cannot modify non-existent intention/.test(err.message));
  });

  it('upsert by name creates then replaces the same intention; delete by name of nothing is a no-op', () => {
    const s = memoryState();
    const src = { namespace: 'default', name: 'web' };
    const dst = { namespace: 'default', name: 'db' };
    const first = decideUpsertExact(s, src, dst, body({ Action: 'allow' }), ctx());
    s.apply(first.event);
    const second = decideUpsertExact(s, src, dst, body({ Action: 'deny', SourceName: 'ignored' }), ctx());
    assert.equal(second.event?.type, 'IntentionUpdated');
    assert.equal(second.result, first.result);
    s.apply(second.event);
    assert.equal(s.all().length, 1);
    assert.equal(s.all()[0]?.Action, 'deny');
    const del = decideDeleteExact(s, src, dst, ctx());
    s.apply(del.event);
    assert.equal(s.all().length, 0);
    assert.deepEqual(decideDeleteExact(s, src, dst, ctx()), { result: '' });
    assert.throws(() => decideDelete(s, first.result, ctx()), (err) => isTrellisError(err, 'E_NOT_FOUND'));
  });
});

describe('check, match and authorize', () => {
  function stateWith(pairs: Array<[string, string, 'allow' | 'deny']>) {
    const s = memoryState();
    for (const [src, dst, action] of pairs) s.apply(decideCreate(s, body({ SourceName: src, DestinationName: dst, Action: action }), ctx()).event);
    return s;
  }
  const uri = (svc: string) => serviceSpiffeUri('11111111-2222-3333-4444-555555555555.consul', 'dc1', svc);

  it('the most precise intention decides: exact beats wildcard source beats wildcard destination', () => {
    const s = stateWith([
      ['*', '*', 'deny'],
      ['web', '*', 'allow'],
      ['*', 'db', 'deny'],
      ['web', 'db', 'allow'],
    ]);
    assert.deepEqual(intentionCheck(s, 'web', 'db', false), { Allowed: true });
    assert.deepEqual(intentionCheck(s, 'api', 'db', true), { Allowed: false });
    assert.deepEqual(intentionCheck(s, 'web', 'cache', false), { Allowed: true });
    assert.deepEqual(intentionCheck(s, 'api', 'cache', true), { Allowed: false });
  });

  it('no matching intention answers the default policy, with Consul\'s reason', () => {
    const s = stateWith([]);
    assert.deepEqual(authorize(s, { Target: 'db', ClientCertURI: uri('web') }, { defaultAllow: true }), { Authorized: true, Reason: 'Default behavior configured by ACLs' });
    assert.equal(authorize(s, { Target: 'db', ClientCertURI: uri('web') }, { defaultAllow: false }).Authorized, false);
  });

  it('authorize names the matching intention as Consul does', () => {
    const s = stateWith([['web', 'db', 'deny']]);
    const r = authorize(s, { Target: 'db', ClientCertURI: uri('web') }, { defaultAllow: true });
    assert.equal(r.Authorized, false);
    assert.match(r.Reason, /^Matched L4 intention: DENY default\/web => default\/db \(ID: [0-9a-f-]{36}\)$/);
  });

  it('authorize refuses an identity from a trust domain other than the CA\'s, whatever the intentions', () => {
    const s = stateWith([['web', 'db', 'allow']]);
    assert.deepEqual(authorize(s, { Target: 'db', ClientCertURI: serviceSpiffeUri('evil.consul', 'dc1', 'web') }, { defaultAllow: true, trustDomains: ['11111111-2222-3333-4444-555555555555.consul'] }), {
      Authorized: false,
      Reason: 'Identity from an external trust domain: evil.consul',
    });
    assert.equal(authorize(s, { Target: 'db', ClientCertURI: uri('web') }, { defaultAllow: false, trustDomains: ['11111111-2222-3333-4444-555555555555.consul'] }).Authorized, true);
  });

  it('authorize refuses bad requests with Consul\'s messages', () => {
    const s = stateWith([]);
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /Invalid request/],
      [{ ClientCertURI: uri('web') }, /Target service must be specified/],
      [{ Target: 'db', ClientCertURI: 'not a uri' }, /ClientCertURI not a valid Connect identifier/],
      [{ Target: 'db', ClientCertURI: 'https://example.com/x' }, /ClientCertURI not a valid Connect identifier/],
      [{ Target: 'db', ClientCertURI: 'spiffe://11111111-2222-3333-4444-555555555555.consul' }, /ClientCertURI not a valid Service identifier/],
      [{ Target: 7, ClientCertURI: uri('web') }, /Request decode failed: json: cannot unmarshal number into Go struct field ConnectAuthorizeRequest.Target of type string/],
    ];
    for (const [req, message] of cases) assert.throws(() => authorize(s, req, { defaultAllow: true }), (err) => isTrellisError(err, 'E_VALIDATION') && message.test(err.message));
  });

  it('match returns exact and wildcard intentions for a name, highest precedence first', () => {
    const s = stateWith([
      ['*', '*', 'deny'],
      ['web', 'db', 'allow'],
      ['*', 'db', 'deny'],
      ['web', 'cache', 'allow'],
    ]);
    assert.deepEqual(
      matchIntentions(s.all(), 'destination', 'db').map((i) => `${i.SourceName}->${i.DestinationName}`),
      ['web->db', '*->db', '*->*'],
    );
    assert.deepEqual(
      matchIntentions(s.all(), 'source', 'web').map((i) => `${i.SourceName}->${i.DestinationName}`),
      ['web->cache', 'web->db', '*->db', '*->*'],
    );
  });

  it('property: a SPIFFE service URI round-trips through the parser', () => {
    const label = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
    fc.assert(
      fc.property(label, label, label, (dc, svc, td) => {
        const id = parseSpiffeId(serviceSpiffeUri(`${td}.consul`, dc, svc));
        assert.deepEqual(id, { kind: 'service', trustDomain: `${td}.consul`, namespace: 'default', datacenter: dc, service: svc });
      }),
    );
  });

  it('renders intentions as Consul\'s JSON, times in Go\'s RFC3339Nano', () => {
    assert.equal(goTime(Date.UTC(2024, 0, 2, 3, 4, 5, 100)), '2024-01-02T03:04:05.1Z');
    assert.equal(goTime(Date.UTC(2024, 0, 2, 3, 4, 5, 0)), '2024-01-02T03:04:05Z');
    assert.equal(goTime(Date.UTC(2024, 0, 2, 3, 4, 5, 120)), '2024-01-02T03:04:05.12Z');
    assert.equal(goTime(Date.UTC(2024, 0, 2, 3, 4, 5, 7)), '2024-01-02T03:04:05.007Z');
    // The sliced fast path equals the general rule for every time, years beyond 9999 and before 0 included.
    const general = (ms: number) => new Date(ms).toISOString().replace(/\.(\d+)Z$/, (_m, f: string) => (f.replace(/0+$/, '') ? `.${f.replace(/0+$/, '')}Z` : 'Z'));
    fc.assert(fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => assert.equal(goTime(ms), general(ms))));
    const s = stateWith([['web', 'db', 'allow']]);
    const json = toConsulIntention(s.all()[0]!);
    assert.deepEqual(Object.keys(json), ['ID', 'Description', 'SourceNS', 'SourceName', 'DestinationNS', 'DestinationName', 'SourceType', 'Action', 'Meta', 'Precedence', 'CreatedAt', 'UpdatedAt', 'CreateIndex', 'ModifyIndex']);
  });
});

describe('forwarded writes', () => {
  it('accepts the shapes a secondary sends and refuses anything else before acting', async () => {
    const { parseForwardedWrite } = await import('../../../src/intentions/index.js');
    assert.deepEqual(parseForwardedWrite({ write: { op: 'delete-exact', source: 'a', destination: 'b' }, actor: 'anonymous' }).write, { op: 'delete-exact', source: 'a', destination: 'b' });
    for (const bad of [undefined, 'x', { write: { op: 'drop-table' }, actor: 'a' }, { write: { op: 'delete', id: 7 }, actor: 'a' }, { write: { op: 'create', body: {} } }, { write: { op: 'create', body: {}, extra: 1 }, actor: 'a' }]) {
      assert.throws(() => parseForwardedWrite(bad), (err) => isTrellisError(err, 'E_VALIDATION') && /malformed forwarded write/.test(err.message), JSON.stringify(bad));
    }
  });
});
