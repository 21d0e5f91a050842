import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareIntentions, intentionPrecedence, sortIntentions } from '../../../src/intentions/index.js';

describe('precedence (Consul UpdatePrecedence)', () => {
  // The nine combinations from Consul's TestIntentionPrecedence table.
  const cases: Array<[string, string, string, string, number]> = [
    ['default', 'web', 'default', 'db', 9],
    ['default', '*', 'default', 'db', 8],
    ['*', '*', 'default', 'db', 7],
    ['default', 'web', 'default', '*', 6],
    ['default', '*', 'default', '*', 5],
    ['*', '*', 'default', '*', 4],
    ['default', 'web', '*', '*', 3],
    ['default', '*', '*', '*', 2],
    ['*', '*', '*', '*', 1],
  ];
  for (const [sns, sn, dns, dn, want] of cases) {
    it(`${sns}/${sn} => ${dns}/${dn} has precedence ${want}`, () => {
      assert.equal(intentionPrecedence({ SourceNS: sns, SourceName: sn, DestinationNS: dns, DestinationName: dn }), want);
    });
  }

  const part = fc.constantFrom('default', '*', 'web', 'db', 'api');
  const ixn = fc
    .record({ SourceNS: fc.constantFrom('default', '*'), SourceName: part, DestinationNS: fc.constantFrom('default', '*'), DestinationName: part })
    .map((p) => ({ ...p, Precedence: intentionPrecedence(p) }));
  const samePair = (a: { SourceNS: string; SourceName: string; DestinationNS: string; DestinationName: string }, b: typeof a) =>
    a.SourceNS === b.SourceNS && a.SourceName === b.SourceName && a.DestinationNS === b.DestinationNS && a.DestinationName === b.DestinationName;

  it('property: the order is total and antisymmetric (0 only for the same pair)', () => {
    fc.assert(
      fc.property(ixn, ixn, (a, b) => {
        const ab = Math.sign(compareIntentions(a, b));
        const ba = Math.sign(compareIntentions(b, a));
        assert.ok(ab === -ba, `compare(a,b)=${ab} but compare(b,a)=${ba}`);
        assert.equal(ab === 0, samePair(a, b));
      }),
    );
  });

  it('property: the order is transitive', () => {
    fc.assert(
      fc.property(ixn, ixn, ixn, (a, b, c) => {
        if (compareIntentions(a, b) <= 0 && compareIntentions(b, c) <= 0) assert.ok(compareIntentions(a, c) <= 0);
      }),
    );
  });

  it('sorts by precedence, then source namespace, source, destination namespace, destination', () => {
    const mk = (sn: string, dn: string) => {
      const p = { SourceNS: 'default', SourceName: sn, DestinationNS: 'default', DestinationName: dn };
      return { ...p, Precedence: intentionPrecedence(p) };
    };
    const sorted = sortIntentions([mk('*', '*'), mk('web', 'db'), mk('*', 'db'), mk('api', 'db'), mk('web', '*')]);
    assert.deepEqual(
      sorted.map((i) => `${i.SourceName}->${i.DestinationName}:${i.Precedence}`),
      ['api->db:9', 'web->db:9', '*->db:8', 'web->*:6', '*->*:5'],
    );
  });
});
