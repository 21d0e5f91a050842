import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { runCli } from '../../../src/cli/main.js';
import fc from 'fast-check';

describe('point in time: what was true then, from the log', () => {
  let cluster: TestCluster;
  const url = (dc: string) => cluster.agent(dc).httpUrl;
  const index = async (dc: string) => Number((await http(url(dc), 'GET', '/v1/connect/intentions')).headers.get('X-Consul-Index'));
  let allowedAt: number;
  let allowedTime: string;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
    await http(url('dc1'), 'PUT', '/v1/connect/intentions/exact?source=a&destination=db', { Action: 'allow' });
    await http(url('dc1'), 'PUT', '/v1/connect/intentions/exact?source=b&destination=db', { Action: 'allow' });
    allowedAt = await index('dc1');
    await new Promise((r) => setTimeout(r, 20));
    allowedTime = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await http(url('dc1'), 'PUT', '/v1/connect/intentions/exact?source=a&destination=db', { Action: 'deny' });
    await http(url('dc1'), 'DELETE', '/v1/connect/intentions/exact?source=b&destination=db');
    await waitFor(async () => (await index('dc2')) === (await index('dc1')) || undefined);
  });
  after(async () => {
    await cluster.stop();
  });

  it('?at= on check and list answers from the log, by sequence or time, at the primary and at a secondary', async () => {
    for (const dc of ['dc1', 'dc2']) {
      const check = async (at: string) => (await http(url(dc), 'GET', `/v1/connect/intentions/check?source=a&destination=db${at}`)).body as { Allowed: boolean };
      assert.deepEqual(await check(''), { Allowed: false }, 'now: denied');
      assert.deepEqual(await check(`&at=${allowedAt}`), { Allowed: true }, `${dc}: allowed as of event ${allowedAt}`);
      assert.deepEqual(await check(`&at=${encodeURIComponent(allowedTime)}`), { Allowed: true }, `${dc}: allowed at ${allowedTime}`);
      const then = await http(url(dc), 'GET', `/v1/connect/intentions?at=${allowedAt}`);
      assert.equal(Number(then.headers.get('X-Consul-Index')), allowedAt);
      assert.deepEqual((then.body as Array<{ SourceName: string; Action: string }>).map((i) => [i.SourceName, i.Action]).sort(), [['a', 'allow'], ['b', 'allow']]);
      assert.deepEqual(((await http(url(dc), 'GET', '/v1/connect/intentions')).body as Array<{ SourceName: string }>).map((i) => i.SourceName), ['a']);
      const bad = await http(url(dc), 'GET', '/v1/connect/intentions?at=last-tuesday');
      assert.equal(bad.status, 400);
      assert.match(bad.text, /neither an RFC 3339 time nor a stream sequence/);
    }
  });

  it('trellis intention check --at and list --at', async () => {
    const out: string[] = [];
    const io = { env: {}, stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(t) };
    assert.equal(await runCli(['intention', 'check', 'a', 'db', '-at', allowedTime, '-http-addr', url('dc2')], io), 0);
    assert.equal(await runCli(['intention', 'check', 'a', 'db', '-http-addr', url('dc2')], io), 2);
    out.length = 0;
    assert.equal(await runCli(['intention', 'list', '-at', String(allowedAt), '-http-addr', url('dc2')], io), 0);
    assert.match(out.join(''), /\ba\s+allow\s+db/);
    assert.match(out.join(''), /\bb\s+allow\s+db/);
  });
});

describe('point in time, as a law', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1'] });
  });
  after(async () => {
    await cluster.stop();
  });

  it('for random histories, ?at=SEQ answers exactly what the live view said right after that event', async () => {
    const url = cluster.agent('dc1').httpUrl;
    const names = ['web', 'api', 'db', '*'];
    const op = fc.record({
      kind: fc.constantFrom('put', 'put', 'delete'),
      source: fc.constantFrom(...names),
      destination: fc.constantFrom('db', 'cache', '*'),
      action: fc.constantFrom('allow', 'deny'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (ops) => {
        const seen = new Map<number, { list: unknown; checks: boolean[] }>();
        const snapshot = async () => {
          const res = await http(url, 'GET', '/v1/connect/intentions');
          const checks = await Promise.all(names.map(async (s) => ((await http(url, 'GET', `/v1/connect/intentions/check?source=${encodeURIComponent(s)}&destination=db`)).body as { Allowed: boolean }).Allowed));
          seen.set(Number(res.headers.get('X-Consul-Index')), { list: res.body, checks });
        };
        for (const o of ops) {
          const path = `/v1/connect/intentions/exact?source=${encodeURIComponent(o.source)}&destination=${encodeURIComponent(o.destination)}`;
          if (o.kind === 'put') await http(url, 'PUT', path, { Action: o.action });
          else await http(url, 'DELETE', path);
          await snapshot();
        }
        for (const [seq, expected] of seen) {
          const then = await http(url, 'GET', `/v1/connect/intentions?at=${seq}`);
          assert.equal(Number(then.headers.get('X-Consul-Index')), seq);
          assert.deepEqual(then.body, expected.list, `intentions at ${seq}`);
          const checks = await Promise.all(names.map(async (s) => ((await http(url, 'GET', `/v1/connect/intentions/check?source=${encodeURIComponent(s)}&destination=db&at=${seq}`)).body as { Allowed: boolean }).Allowed));
          assert.deepEqual(checks, expected.checks, `checks at ${seq}`);
        }
      }),
      { numRuns: 4 },
    );
  });
});
