import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { runCli } from '../../../src/cli/main.js';

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
