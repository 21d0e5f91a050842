import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';

describe('HTTP API: bad input is a 400 with a clear message and changes nothing', () => {
  let cluster: TestCluster;
  let base: string;
  let indexBefore: string | null;

  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1'] });
    base = cluster.agent('dc1').httpUrl;
    await http(base, 'PUT', '/v1/connect/intentions/exact?source=web&destination=db', { Action: 'allow' });
    indexBefore = (await http(base, 'GET', '/v1/connect/intentions')).headers.get('x-consul-index');
  });
  after(async () => {
    // Nothing any case below sent was written.
    assert.equal((await http(base, 'GET', '/v1/connect/intentions')).headers.get('x-consul-index'), indexBefore);
    assert.equal(cluster.agent('dc1').view.intentionCount(), 1);
    await cluster.stop();
  });

  const cases: Array<[string, string, string, { body?: unknown; raw?: string }, number, RegExp]> = [
    ['malformed JSON', 'POST', '/v1/connect/intentions', { raw: '{"SourceName": "web",' }, 400, /^Request decode failed: /],
    ['a body that is not an object', 'PUT', '/v1/connect/intentions/exact?source=a&destination=b', { raw: '[1,2]' }, 400, /cannot unmarshal array into Go value of type structs.Intention/],
    ['a field of the wrong type', 'POST', '/v1/connect/intentions', { body: { SourceName: 1, DestinationName: 'db', Action: 'allow' } }, 400, /^Failed to decode request body: json: cannot unmarshal number into Go struct field Intention.SourceName of type string$/],
    ['Meta of the wrong type', 'PUT', '/v1/connect/intentions/exact?source=a&destination=b', { body: { Action: 'allow', Meta: { k: 1 } } }, 400, /Intention.Meta of type map\[string\]string/],
    ['an invalid action', 'PUT', '/v1/connect/intentions/exact?source=a&destination=b', { body: { Action: 'maybe' } }, 400, /Action must be set to 'allow' or 'deny'/],
    ['a partial wildcard', 'PUT', '/v1/connect/intentions/exact?source=we*&destination=b', { body: { Action: 'allow' } }, 400, /SourceName: wildcard character '\*' cannot be used with partial values/],
    ['a description over 512 bytes', 'POST', '/v1/connect/intentions', { body: { SourceName: 'a', DestinationName: 'b', Action: 'allow', Description: 'x'.repeat(513) } }, 400, /Description exceeds maximum length 512/],
    ['an ID on create', 'POST', '/v1/connect/intentions', { body: { ID: 'abc', SourceName: 'a', DestinationName: 'b', Action: 'allow' } }, 400, /ID must be empty when creating a new intention/],
    ['an oversize body', 'POST', '/v1/connect/intentions', { raw: JSON.stringify({ SourceName: 'a', DestinationName: 'b', Action: 'allow', Description: 'x'.repeat(1_100_000) }) }, 400, /Request body too large/],
    ['a bad UUID on read', 'GET', '/v1/connect/intentions/not-a-uuid', {}, 400, /invalid UUID "not-a-uuid": uuid string is wrong length/],
    ['a bad UUID on update', 'PUT', '/v1/connect/intentions/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', { body: { SourceName: 'a', DestinationName: 'b', Action: 'allow' } }, 400, /uuid is improperly formatted/],
    ['a bad UUID on delete', 'DELETE', '/v1/connect/intentions/123', {}, 400, /invalid UUID/],
    ['exact without source', 'GET', '/v1/connect/intentions/exact?destination=db', {}, 400, /^required query parameter 'source' not set$/],
    ['exact write without destination', 'PUT', '/v1/connect/intentions/exact?source=web', { body: { Action: 'allow' } }, 400, /^required query parameter 'destination' not set$/],
    ['check without destination', 'GET', '/v1/connect/intentions/check?source=web', {}, 400, /^required query parameter 'destination' not set$/],
    ['match without by', 'GET', '/v1/connect/intentions/match?name=db', {}, 400, /^required query parameter 'by' not set$/],
    ['match with a bad by', 'GET', '/v1/connect/intentions/match?by=sideways&name=db', {}, 400, /^'by' parameter must be one of 'source' or 'destination'$/],
    ['match without name', 'GET', '/v1/connect/intentions/match?by=source', {}, 400, /^required query parameter 'name' not set$/],
    ['a name with two slashes', 'GET', '/v1/connect/intentions/check?source=a/b/c&destination=db', {}, 400, /source "a\/b\/c" is invalid: input can contain at most one '\/'/],
    ['a bad blocking index', 'GET', '/v1/connect/intentions?index=abc', {}, 400, /^Invalid index$/],
    ['a bad blocking wait', 'GET', '/v1/connect/intentions?index=1&wait=soon', {}, 400, /^Invalid wait time$/],
    ['authorize without a target', 'POST', '/v1/agent/connect/authorize', { body: { ClientCertURI: 'spiffe://x.consul/ns/default/dc/dc1/svc/web' } }, 400, /^Target service must be specified$/],
    ['authorize with a bad URI', 'POST', '/v1/agent/connect/authorize', { body: { Target: 'db', ClientCertURI: 'web' } }, 400, /^ClientCertURI not a valid Connect identifier$/],
    ['a namespace other than default', 'POST', '/v1/connect/intentions', { body: { SourceNS: 'prod', SourceName: 'a', DestinationName: 'b', Action: 'allow' } }, 400, /Namespaces is a Consul Enterprise feature/],
  ];
  for (const [name, method, path, init, status, message] of cases) {
    it(`${name} → ${status}`, async () => {
      const res = await http(base, method, path, init.body, init.raw === undefined ? {} : { raw: init.raw });
      assert.equal(res.status, status, res.text);
      assert.match(res.text, message);
    });
  }

  it('an unknown intention is a 404 "Intention not found"; deleting one is a 404 naming it', async () => {
    const id = '00000000-0000-4000-8000-000000000abc';
    const get = await http(base, 'GET', `/v1/connect/intentions/${id}`);
    assert.equal(get.status, 404);
    assert.equal(get.text, 'Intention not found');
    const exact = await http(base, 'GET', '/v1/connect/intentions/exact?source=nobody&destination=db');
    assert.equal(exact.status, 404);
    const del = await http(base, 'DELETE', `/v1/connect/intentions/${id}`);
    assert.equal(del.status, 404);
    assert.match(del.text, /Cannot delete non-existent intention: '00000000-0000-4000-8000-000000000abc'/);
  });

  it('an unknown path says so', async () => {
    const res = await http(base, 'GET', '/v1/nope');
    assert.equal(res.status, 404);
    assert.match(res.text, /Unsupported path: \/v1\/nope/);
  });

  it('sends the query meta headers spelled as Consul spells them', async () => {
    const { get } = await import('node:http');
    const raw = await new Promise<string[]>((resolve, reject) => {
      get(`${base}/v1/connect/intentions`, (res) => {
        res.resume();
        resolve(res.rawHeaders);
      }).on('error', reject);
    });
    for (const name of ['X-Consul-Index', 'X-Consul-KnownLeader', 'X-Consul-LastContact']) assert.ok(raw.includes(name), `${name} in ${raw.join(',')}`);
  });

  it('a blocking query returns at its wait with the same index when nothing changed', async () => {
    const started = Date.now();
    const res = await http(base, 'GET', `/v1/connect/intentions?index=${indexBefore}&wait=300ms`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-consul-index'), indexBefore);
    assert.ok(Date.now() - started >= 290);
  });
});
