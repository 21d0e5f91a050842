import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { startCluster, http as plainHttp, type TestCluster } from '../../helpers/cluster.js';

/** ACLs on, every request with the management token: the ACL routes are exercised too. */
const MANAGEMENT = randomUUID();
const http = (base: string, method: string, path: string, body?: unknown, init: { raw?: string } = {}) =>
  plainHttp(base, method, path, body, { ...init, headers: { 'X-Consul-Token': MANAGEMENT } });

/** Cases per property: small in CI, large with `npm run fuzz` (FUZZ_RUNS). */
const numRuns = Math.max(20, Math.round(Number(process.env.FUZZ_RUNS ?? 300) / 5));

describe('fuzzing the HTTP API with arbitrary bodies', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({
      datacenters: ['dc1'],
      fileConfig: () => ({ acl: { enabled: true, default_policy: 'deny', tokens: { initial_management: MANAGEMENT } }, limits: { http_requests_per_client: 0 } }),
    });
  });
  after(async () => {
    await cluster.stop();
  });

  it('every write route answers 2xx or a clear 4xx (never 5xx), and a refused body writes nothing', async () => {
    const url = cluster.agent('dc1').httpUrl;
    const routes: Array<[string, string]> = [
      ['POST', '/v1/connect/intentions'],
      ['PUT', '/v1/connect/intentions/exact?source=fz&destination=db'],
      ['PUT', '/v1/connect/ca/configuration'],
      ['PUT', '/v1/catalog/register'],
      ['PUT', '/v1/catalog/deregister'],
      ['PUT', '/v1/agent/service/register'],
      ['POST', '/v1/query'],
      ['POST', '/v1/agent/connect/authorize'],
      ['PUT', '/v1/acl/policy'],
      ['PUT', '/v1/acl/policy/00000000-0000-4000-8000-000000000000'],
      ['PUT', '/v1/acl/token'],
      ['PUT', '/v1/acl/token/00000000-0000-4000-8000-000000000000'],
    ];
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 200 }),
      fc.record({ SourceName: fc.jsonValue(), DestinationName: fc.jsonValue(), Action: fc.jsonValue(), Node: fc.jsonValue(), Name: fc.jsonValue(), Service: fc.jsonValue() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      fc.record({ Name: fc.string({ maxLength: 20 }), Rules: fc.string({ maxLength: 80 }), Policies: fc.jsonValue(), SecretID: fc.jsonValue() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, async ([method, path], raw) => {
        const before = [
          (await http(url, 'GET', '/v1/trellis/replication')).headers.get('X-Consul-Index'),
          (await http(url, 'GET', '/v1/catalog/services')).headers.get('X-Consul-Index'),
          (await http(url, 'GET', '/v1/query')).headers.get('X-Consul-Index'),
          (await http(url, 'GET', '/v1/acl/policies')).headers.get('X-Consul-Index'),
          (await http(url, 'GET', '/v1/acl/tokens')).headers.get('X-Consul-Index'),
        ];
        const res = await http(url, method, path, undefined, { raw });
        assert.ok(res.status < 500, `${method} ${path} ${raw} → ${res.status} ${res.text}`);
        if (res.status >= 400) {
          assert.ok(res.text.length > 0, 'a 4xx says why');
          const after = [
            (await http(url, 'GET', '/v1/trellis/replication')).headers.get('X-Consul-Index'),
            (await http(url, 'GET', '/v1/catalog/services')).headers.get('X-Consul-Index'),
            (await http(url, 'GET', '/v1/query')).headers.get('X-Consul-Index'),
            (await http(url, 'GET', '/v1/acl/policies')).headers.get('X-Consul-Index'),
            (await http(url, 'GET', '/v1/acl/tokens')).headers.get('X-Consul-Index'),
          ];
          assert.deepEqual(after, before, `${method} ${path} refused but something changed`);
        }
      }),
      { numRuns },
    );
    assert.equal((await http(url, 'GET', '/v1/agent/self')).status, 200, 'still serving');
  });
});
