import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { aggregateStatus, checkQueryNames, failoverOrder, parseQueryBody, renderQuery, resolveQuery, type CheckRow, type HealthStatus, type PreparedQueryRow } from '../../../src/catalog/index.js';
import { isTrellisError } from '../../../src/common/index.js';

const row = (id: string, body: unknown): PreparedQueryRow => ({ ...parseQueryBody(body, id), CreateIndex: 1, ModifyIndex: 1 });

describe('prepared queries', () => {
  it('resolves by ID, then exact name, then the longest template prefix (an empty template matches anything)', () => {
    const all = [
      row('11111111-1111-1111-1111-111111111111', { Name: 'geo', Service: { Service: 'geo' } }),
      row('22222222-2222-2222-2222-222222222222', { Name: '', Template: { Type: 'name_prefix_match' }, Service: { Service: '${name.full}' } }),
      row('33333333-3333-3333-3333-333333333333', { Name: 'geo-', Template: { Type: 'name_prefix_match' }, Service: { Service: '${name.suffix}' } }),
    ];
    assert.equal(resolveQuery('33333333-3333-3333-3333-333333333333', all)?.Name, 'geo-');
    assert.equal(resolveQuery('geo', all)?.ID, '11111111-1111-1111-1111-111111111111');
    assert.equal(resolveQuery('geo-db', all)?.ID, '33333333-3333-3333-3333-333333333333');
    assert.equal(resolveQuery('anything', all)?.ID, '22222222-2222-2222-2222-222222222222');
    assert.equal(resolveQuery('x', all.slice(0, 1)), undefined);
  });

  it('renders name and regexp templates as Consul does, dropping empty tags when asked', () => {
    const prefix = row('a', { Name: 'geo-', Template: { Type: 'name_prefix_match' }, Service: { Service: '${name.suffix}', Tags: ['${name.prefix}', '${name.full}'] } });
    assert.deepEqual(renderQuery(prefix, 'geo-db').Service.Service, 'db');
    assert.deepEqual(renderQuery(prefix, 'geo-db').Service.Tags, ['geo-', 'geo-db']);
    const re = row('b', { Name: 'svc-', Template: { Type: 'regexp', Regexp: '^svc-([a-z]+)-?(v\\d+)?$', RemoveEmptyTags: true }, Service: { Service: '${match(1)}', Tags: ['${match(2)}'] } });
    assert.deepEqual([renderQuery(re, 'svc-db-v2').Service.Service, renderQuery(re, 'svc-db-v2').Service.Tags], ['db', ['v2']]);
    assert.deepEqual(renderQuery(re, 'svc-db').Service.Tags, []);
    assert.throws(() => parseQueryBody({ Template: { Type: 'regexp', Regexp: '(' }, Service: { Service: 'x' } }, 'c'), (err) => isTrellisError(err, 'E_VALIDATION') && /^Bad Regexp/.test(err.message));
  });

  it('keeps names unique, one empty template, and no name equal to another query\'s ID', () => {
    const existing = [row('44444444-4444-4444-4444-444444444444', { Name: 'a', Service: { Service: 'a' } })];
    assert.throws(() => checkQueryNames(parseQueryBody({ Name: 'a', Service: { Service: 'b' } }, 'new'), existing), /aliases an existing query name/);
    assert.throws(() => checkQueryNames(parseQueryBody({ Name: '44444444-4444-4444-4444-444444444444', Service: { Service: 'b' } }, 'new'), existing), /aliases an existing query ID/);
    assert.doesNotThrow(() => checkQueryNames(parseQueryBody({ Name: 'a', Service: { Service: 'c' } }, '44444444-4444-4444-4444-444444444444'), existing), 'an update keeps its own name');
  });

  it('failover order: NearestN by RTT, then the Datacenters list; each once, never the local one, unknown ones skipped', () => {
    const byRtt = ['dc1', 'dc3', 'dc2', 'dc4'];
    const known = new Set(byRtt);
    assert.deepEqual(failoverOrder({ NearestN: 0, Datacenters: ['dc2', 'dc9', 'dc1', 'dc3'] }, 'dc1', byRtt, known), ['dc2', 'dc3']);
    assert.deepEqual(failoverOrder({ NearestN: 2, Datacenters: ['dc2', 'dc4'] }, 'dc1', byRtt, known), ['dc3', 'dc2', 'dc4']);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.array(fc.constantFrom('dc1', 'dc2', 'dc3', 'dc4', 'dc9')), (n, list) => {
        const order = failoverOrder({ NearestN: n, Datacenters: list }, 'dc1', byRtt, known);
        assert.equal(new Set(order).size, order.length);
        assert.ok(!order.includes('dc1') && !order.includes('dc9'));
      }),
    );
  });

  it('aggregates health as the worst check; no checks is passing', () => {
    const check = (Status: HealthStatus) => ({ Status }) as CheckRow;
    assert.equal(aggregateStatus([]), 'passing');
    assert.equal(aggregateStatus([check('passing'), check('warning')]), 'warning');
    assert.equal(aggregateStatus([check('critical'), check('warning')]), 'critical');
    assert.equal(aggregateStatus([check('maintenance'), check('critical')]), 'maintenance');
  });
});
