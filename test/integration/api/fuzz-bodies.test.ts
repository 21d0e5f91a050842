import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';

/** Cases per property: small in CI, large with `npm run fuzz` (FUZZ_RUNS). */
const numRuns = Math.max(20, Math.round(Number(process.env.FUZZ_RUNS ?? 300) / 5));

describe('fuzzing the HTTP API with arbitrary bodies', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1'] });
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
    ];
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 200 }),
      fc.record({ SourceName: fc.jsonValue(), DestinationName: fc.jsonValue(), Action: fc.jsonValue(), Node: fc.jsonValue(), Name: fc.jsonValue(), Service: fc.jsonValue() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, async ([method, path], raw) => {
        const before = [
          (await http(url, 'GET', '/v1/trellis/replication')).headers.get('X-Consul-Index'),
          (await http(url, 'GET', '/v1/catalog/services')).headers.get('X-Consul-Index'),
          (await http(url, 'GET', '/v1/query')).headers.get('X-Consul-Index'),
        ];
        const res = await http(url, method, path, undefined, { raw });
        assert.ok(res.status < 500, `${method} ${path} ${raw} → ${res.status} ${res.text}`);
        if (res.status >= 400) {
          assert.ok(res.text.length > 0, 'a 4xx says why');
          const after = [
            (await http(url, 'GET', '/v1/trellis/replication')).headers.get('X-Consul-Index'),
            (await http(url, 'GET', '/v1/catalog/services')).headers.get('X-Consul-Index'),
            (await http(url, 'GET', '/v1/query')).headers.get('X-Consul-Index'),
          ];
          assert.deepEqual(after, before, `${method} ${path} refused but something changed`);
        }
      }),
      { numRuns },
    );
    assert.equal((await http(url, 'GET', '/v1/agent/self')).status, 200, 'still serving');
  });
});
