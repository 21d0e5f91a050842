import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { createServer, type Server } from 'node:net';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

interface Instance {
  Node: { Node: string; Address: string; Datacenter: string };
  Service: { ID: string; Service: string; Port: number; Kind?: string; Proxy?: { DestinationServiceName: string; LocalServicePort: number } };
  Checks: Array<{ CheckID: string; Status: string; Name: string; Output: string }>;
}
interface Executed {
  Service: string;
  Nodes: Instance[];
  DNS: { TTL: string };
  Datacenter: string;
  Failovers: number;
}

const register = (name: string, node: string, status: string, port = 8080) => ({
  Node: node,
  Address: '10.0.0.1',
  Service: { Service: name, Port: port, Tags: ['v1'] },
  Check: { CheckID: `${name}-alive`, Name: `${name} alive`, ServiceID: name, Status: status },
});

describe('the catalog, health and prepared queries across three datacenters', () => {
  let cluster: TestCluster;
  const url = (dc: string) => cluster.agent(dc).httpUrl;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2', 'dc3'] });
    // Every datacenter learns the others and measures them (announcements and pings cross the leafnode links).
    for (const dc of ['dc1', 'dc2', 'dc3']) {
      await waitFor(
        async () => {
          const peers = (await http(url(dc), 'GET', '/v1/trellis/datacenters')).body as Array<{ Reachable: boolean; RTTMs: number | null }>;
          return (peers.length === 3 && peers.every((p) => p.Reachable && p.RTTMs !== null)) || undefined;
        },
        { timeoutMs: 20_000 },
      );
    }
  });
  after(async () => {
    await cluster.stop();
  });

  it('registers with Consul\'s body, lists services, filters health by ?passing, and wakes a blocking query', async () => {
    const first = await http(url('dc1'), 'GET', '/v1/catalog/services');
    const index = Number(first.headers.get('X-Consul-Index'));
    assert.ok(index >= 1);
    const watching = http(url('dc1'), 'GET', `/v1/health/service/api?index=${index}&wait=30s`);
    const reg = await http(url('dc1'), 'PUT', '/v1/catalog/register', register('api', 'node-a', 'passing'));
    assert.equal(reg.status, 200, reg.text);
    assert.equal(reg.body, true);
    await http(url('dc1'), 'PUT', '/v1/catalog/register', register('api', 'node-b', 'critical'));
    const woken = await watching;
    assert.ok(Number(woken.headers.get('X-Consul-Index')) > index);

    const services = (await http(url('dc1'), 'GET', '/v1/catalog/services')).body as Record<string, string[]>;
    assert.deepEqual(services.api, ['v1']);
    const nodes = (await http(url('dc1'), 'GET', '/v1/catalog/service/api')).body as Array<{ Node: string; ServiceID: string; ServicePort: number; Datacenter: string }>;
    assert.deepEqual(nodes.map((n) => [n.Node, n.ServiceID, n.ServicePort, n.Datacenter]), [['node-a', 'api', 8080, 'dc1'], ['node-b', 'api', 8080, 'dc1']]);
    const all = (await http(url('dc1'), 'GET', '/v1/health/service/api')).body as Instance[];
    assert.equal(all.length, 2);
    const passing = (await http(url('dc1'), 'GET', '/v1/health/service/api?passing')).body as Instance[];
    assert.deepEqual(passing.map((i) => i.Node.Node), ['node-a']);
    assert.equal(passing[0]?.Checks[0]?.Status, 'passing');
    // The catalog is per datacenter: dc2 does not see dc1's registration.
    assert.deepEqual((await http(url('dc2'), 'GET', '/v1/health/service/api')).body, []);

    // Re-registering what is there changes nothing, not even the index.
    const before = (await http(url('dc1'), 'GET', '/v1/catalog/services')).headers.get('X-Consul-Index');
    await http(url('dc1'), 'PUT', '/v1/catalog/register', register('api', 'node-a', 'passing'));
    assert.equal((await http(url('dc1'), 'GET', '/v1/catalog/services')).headers.get('X-Consul-Index'), before);

    assert.equal((await http(url('dc1'), 'PUT', '/v1/catalog/deregister', { Node: 'node-b' })).status, 200);
    assert.equal(((await http(url('dc1'), 'GET', '/v1/health/service/api')).body as Instance[]).length, 1);
  });

  it('refuses bad bodies with Consul\'s messages and changes nothing', async () => {
    const before = (await http(url('dc1'), 'GET', '/v1/catalog/services')).headers.get('X-Consul-Index');
    const cases: Array<[string, unknown, RegExp]> = [
      ['/v1/catalog/register', { Address: '1.2.3.4' }, /^Must provide node$/],
      ['/v1/catalog/register', { Node: 'n' }, /^Must provide address if SkipNodeUpdate is not set$/],
      ['/v1/catalog/register', { Node: 'n', Address: 'a', Service: { Port: 1 } }, /^Must provide service name$/],
      ['/v1/catalog/register', { Node: 'n', Address: 'a', Service: { Service: 'p', Kind: 'connect-proxy', Port: 1 } }, /Proxy\.DestinationServiceName must be non-empty/],
      ['/v1/catalog/register', { Node: 'n', Address: 'a', Service: { Service: 's', Port: 'eighty' } }, /Request decode failed: Service\.Port: expected an integer/],
      ['/v1/catalog/register', { Node: 'n', Address: 'a', Check: { Name: 'c', Status: 'sad' } }, /Invalid check status "sad"/],
      ['/v1/catalog/deregister', {}, /^Must provide node$/],
      ['/v1/agent/service/register', { Port: 80 }, /^Missing service name$/],
      ['/v1/agent/service/register', { Name: 'x', Check: { TCP: '127.0.0.1:1' } }, /Interval must be > 0/],
      ['/v1/agent/service/register', { Name: 'x', Check: { Args: ['/bin/true'], Interval: '10s' } }, /script, gRPC/],
      ['/v1/agent/service/register', { Name: 'x', Kind: 'mesh-gateway', Port: 1 }, /Invalid service kind "mesh-gateway"/],
    ];
    for (const [path, body, message] of cases) {
      const res = await http(url('dc1'), 'PUT', path, body);
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}: ${res.text}`);
      assert.match(res.text, message);
    }
    const garbage = await http(url('dc1'), 'PUT', '/v1/catalog/register', undefined, { raw: '{"Node":' });
    assert.equal(garbage.status, 400);
    assert.equal((await http(url('dc1'), 'GET', '/v1/catalog/services')).headers.get('X-Consul-Index'), before);
  });

  it('agent registration with a sidecar, as Consul defaults it; TTL and TCP checks; deregistration takes the sidecar along', async () => {
    const listener: Server = createServer((s) => s.end());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as { port: number }).port;
    try {
      const res = await http(url('dc2'), 'PUT', '/v1/agent/service/register', {
        Name: 'web',
        Port: 8080,
        Check: { CheckID: 'web-ttl', TTL: '30s' },
        Checks: [{ Name: 'web-port', TCP: `127.0.0.1:${port}`, Interval: '1s' }],
        Connect: { SidecarService: {} },
      });
      assert.equal(res.status, 200, res.text);
      const services = (await http(url('dc2'), 'GET', '/v1/agent/services')).body as Record<string, { ID: string; Port: number; Kind?: string; Proxy?: { DestinationServiceName: string; LocalServicePort: number } }>;
      const sidecar = services['web-sidecar-proxy'];
      assert.ok(sidecar, JSON.stringify(services));
      assert.equal(sidecar.Kind, 'connect-proxy');
      assert.equal(sidecar.Port, 21000);
      assert.deepEqual([sidecar.Proxy?.DestinationServiceName, sidecar.Proxy?.LocalServicePort], ['web', 8080]);
      assert.equal(((await http(url('dc2'), 'GET', '/v1/agent/service/web')).body as { Service: string }).Service, 'web');
      assert.equal((await http(url('dc2'), 'GET', '/v1/agent/service/nope')).status, 404);

      // The TCP check passes on its own; the TTL check is critical until passed.
      await waitFor(async () => ((await http(url('dc2'), 'GET', '/v1/agent/checks')).body as Record<string, { Status: string }>)['web-port']?.Status === 'passing' || undefined);
      assert.deepEqual((await http(url('dc2'), 'GET', '/v1/health/service/web?passing')).body, []);
      assert.equal((await http(url('dc2'), 'PUT', '/v1/agent/check/pass/web-ttl?note=ok')).status, 200);
      const healthy = (await http(url('dc2'), 'GET', '/v1/health/service/web?passing')).body as Instance[];
      assert.deepEqual(healthy.map((i) => i.Service.ID), ['web']);
      assert.equal(healthy[0]?.Checks.find((c) => c.CheckID === 'web-ttl')?.Output, 'ok');
      assert.equal((await http(url('dc2'), 'PUT', '/v1/agent/check/pass/web-port')).status, 400, 'only TTL checks take a status');
      assert.match((await http(url('dc2'), 'PUT', '/v1/agent/check/pass/nope')).text, /Unknown check ID "nope"/);

      // health/connect answers the sidecar for "web"; its alias check follows web's health.
      const connect = (await http(url('dc2'), 'GET', '/v1/health/connect/web')).body as Instance[];
      assert.deepEqual(connect.map((i) => i.Service.ID), ['web-sidecar-proxy']);
      assert.ok(connect[0]?.Checks.some((c) => c.Name === 'Connect Sidecar Listening'));
      await waitFor(async () => {
        const c = ((await http(url('dc2'), 'GET', '/v1/health/connect/web')).body as Instance[])[0];
        return c?.Checks.find((k) => k.Name === 'Connect Sidecar Aliasing web')?.Status === 'passing' || undefined;
      });

      assert.equal((await http(url('dc2'), 'PUT', '/v1/agent/service/deregister/web')).status, 200);
      assert.deepEqual(Object.keys((await http(url('dc2'), 'GET', '/v1/agent/services')).body as object), []);
      assert.equal((await http(url('dc2'), 'PUT', '/v1/agent/service/deregister/web')).status, 404);
    } finally {
      listener.close();
    }
  });

  it('lists datacenters by round-trip time, answers ?dc= reads and writes over request/reply, and refuses unknown datacenters like Consul', async () => {
    const dcs = (await http(url('dc2'), 'GET', '/v1/catalog/datacenters')).body as string[];
    assert.equal(dcs[0], 'dc2', 'this datacenter first');
    assert.deepEqual([...dcs].sort(), ['dc1', 'dc2', 'dc3']);
    const peers = (await http(url('dc2'), 'GET', '/v1/trellis/datacenters')).body as Array<{ Datacenter: string; RTTMs: number | null; Reachable: boolean }>;
    assert.ok(peers.every((p) => p.Reachable && p.RTTMs !== null && p.RTTMs >= 0), JSON.stringify(peers));

    const write = await http(url('dc1'), 'PUT', '/v1/catalog/register?dc=dc3', register('remote', 'node-r', 'passing'));
    assert.equal(write.status, 200, write.text);
    const read = await http(url('dc1'), 'GET', '/v1/health/service/remote?dc=dc3');
    assert.equal(read.status, 200);
    assert.equal((read.body as Instance[])[0]?.Node.Datacenter, 'dc3');
    assert.ok(read.headers.get('X-Consul-Index'));
    assert.deepEqual((await http(url('dc1'), 'GET', '/v1/health/service/remote')).body, []);
    const unknown = await http(url('dc1'), 'GET', '/v1/catalog/services?dc=nope');
    assert.equal(unknown.status, 500);
    assert.equal(unknown.text, 'No path to datacenter');
  });

  it('prepared queries: Consul\'s validation, the geo-failover guide\'s query, failover as instances go critical, templates', async () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ Name: 'x', Service: {} }, /^Must provide a Service name to query$/],
      [{ Name: 'x', Service: { Service: 'a', Failover: { NearestN: -1 } } }, /^Bad NearestN '-1', must be >= 0$/],
      [{ Name: 'x', Template: { Type: 'glob' }, Service: { Service: 'a' } }, /^Bad Template\.Type 'glob'$/],
      [{ Name: 'x', Service: { Service: 'a' }, DNS: { TTL: 'soon' } }, /^Bad DNS TTL 'soon'/],
    ];
    for (const [body, message] of bad) {
      const res = await http(url('dc1'), 'POST', '/v1/query', body);
      assert.equal(res.status, 400, res.text);
      assert.match(res.text, message);
    }
    // The guide's query: no local instances, static failover to dc2 then dc3.
    const created = await http(url('dc1'), 'POST', '/v1/query', { Name: 'payments', Service: { Service: 'payments', Tags: ['v1.2.3'], Failover: { Datacenters: ['dc2', 'dc3'] } } });
    assert.equal(created.status, 200, created.text);
    const id = (created.body as { ID: string }).ID;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.match((await http(url('dc1'), 'POST', '/v1/query', { Name: 'payments', Service: { Service: 'other' } })).text, /^name 'payments' aliases an existing query name$/);
    for (const dc of ['dc2', 'dc3']) {
      await http(url(dc), 'PUT', '/v1/catalog/register', { Node: `${dc}-pay`, Address: `10.0.${dc.slice(2)}.1`, Service: { Service: 'payments', Port: 9090, Tags: ['v1.2.3'] }, Check: { Name: 'alive', ServiceID: 'payments', Status: 'passing' } });
    }
    const fromDc2 = (await http(url('dc1'), 'GET', '/v1/query/payments/execute')).body as Executed;
    assert.deepEqual([fromDc2.Service, fromDc2.Datacenter, fromDc2.Failovers, fromDc2.Nodes.length], ['payments', 'dc2', 1, 1]);
    assert.equal(fromDc2.Nodes[0]?.Node.Node, 'dc2-pay');
    assert.deepEqual(fromDc2.DNS, { TTL: '' });
    assert.equal(((await http(url('dc1'), 'GET', `/v1/query/${id}/execute`)).body as Executed).Datacenter, 'dc2', 'by ID too');

    // dc2's instance goes critical: the query fails over to dc3, counting both attempts.
    await http(url('dc2'), 'PUT', '/v1/catalog/register', { Node: 'dc2-pay', Address: '10.0.2.1', Service: { Service: 'payments', Port: 9090, Tags: ['v1.2.3'] }, Check: { Name: 'alive', ServiceID: 'payments', Status: 'critical' } });
    const fromDc3 = (await http(url('dc1'), 'GET', '/v1/query/payments/execute')).body as Executed;
    assert.deepEqual([fromDc3.Datacenter, fromDc3.Failovers, fromDc3.Nodes[0]?.Node.Node], ['dc3', 2, 'dc3-pay']);

    // A local instance wins without failing over; ?dc= runs the query defined in that datacenter.
    await http(url('dc1'), 'PUT', '/v1/catalog/register', { Node: 'dc1-pay', Address: '10.0.1.1', Service: { Service: 'payments', Port: 9090, Tags: ['V1.2.3'] } });
    const local = (await http(url('dc1'), 'GET', '/v1/query/payments/execute')).body as Executed;
    assert.deepEqual([local.Datacenter, local.Failovers], ['dc1', 0], 'tags match case-insensitively, an instance without checks is healthy');
    assert.equal((await http(url('dc2'), 'GET', '/v1/query/payments/execute?dc=dc1')).status, 200);
    assert.equal((await http(url('dc2'), 'GET', '/v1/query/payments/execute')).status, 404, 'queries are per datacenter');
    assert.equal((await http(url('dc2'), 'GET', '/v1/query/payments/execute')).text, 'Query not found');
    await http(url('dc1'), 'PUT', '/v1/catalog/deregister', { Node: 'dc1-pay' });

    // NearestN: the nearest other datacenter by measured RTT answers (dc2 has nothing passing, so dc3 with NearestN 2).
    const nearest = await http(url('dc1'), 'POST', '/v1/query', { Name: 'pay-nearest', Service: { Service: 'payments', OnlyPassing: true, Failover: { NearestN: 2 } } });
    const viaNearest = (await http(url('dc1'), 'GET', `/v1/query/${(nearest.body as { ID: string }).ID}/execute`)).body as Executed;
    assert.equal(viaNearest.Datacenter, 'dc3');
    assert.ok(viaNearest.Failovers >= 1 && viaNearest.Failovers <= 2);

    // The guide's catch-all template: any name becomes a service lookup with failover.
    const template = await http(url('dc1'), 'POST', '/v1/query', { Name: '', Template: { Type: 'name_prefix_match' }, Service: { Service: '${name.full}', Failover: { NearestN: 2 } } });
    assert.equal(template.status, 200, template.text);
    assert.match((await http(url('dc1'), 'POST', '/v1/query', { Name: '', Template: { Type: 'name_prefix_match' }, Service: { Service: 'x' } })).text, /a query template with an empty name already exists/);
    const viaTemplate = (await http(url('dc1'), 'GET', '/v1/query/remote/execute')).body as Executed;
    assert.deepEqual([viaTemplate.Service, viaTemplate.Datacenter], ['remote', 'dc3']);
    const explained = (await http(url('dc1'), 'GET', '/v1/query/remote/explain')).body as { Query: { Service: { Service: string } } };
    assert.equal(explained.Query.Service.Service, 'remote');

    // Update and delete, as Consul.
    assert.equal((await http(url('dc1'), 'PUT', `/v1/query/${id}`, { Name: 'payments', Service: { Service: 'payments', Tags: ['v1.2.4'], Failover: { Datacenters: ['dc2', 'dc3'] } } })).status, 200);
    const [stored] = (await http(url('dc1'), 'GET', `/v1/query/${id}`)).body as Array<{ Service: { Tags: string[] } }>;
    assert.deepEqual(stored?.Service.Tags, ['v1.2.4']);
    assert.equal((await http(url('dc1'), 'DELETE', `/v1/query/${id}`)).status, 200);
    assert.equal((await http(url('dc1'), 'GET', `/v1/query/${id}`)).status, 404);
  });

  it('answers Consul\'s DNS names: services, tags, RFC 2782, other datacenters and prepared queries with failover', async () => {
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${cluster.agent('dc1').dnsPort}`]);
    await http(url('dc1'), 'PUT', '/v1/catalog/register', { Node: 'dns-node', Address: '10.1.1.1', Service: { Service: 'db', Port: 5432, Tags: ['primary'] } });
    await http(url('dc1'), 'PUT', '/v1/catalog/register', { Node: 'dns-node2', Address: '10.1.1.2', Service: { Service: 'db', Port: 5433, Address: '10.1.1.22' }, Check: { Name: 'down', ServiceID: 'db', Status: 'critical' } });
    assert.deepEqual(await resolver.resolve4('db.service.consul'), ['10.1.1.1'], 'critical instances are left out');
    assert.deepEqual(await resolver.resolve4('primary.db.service.consul'), ['10.1.1.1']);
    const srv = await resolver.resolveSrv('_db._primary.service.dc1.consul');
    assert.deepEqual(srv.map((r) => [r.name, r.port]), [['dns-node.node.dc1.consul', 5432]]);
    assert.deepEqual(await resolver.resolve4('dns-node.node.consul'), ['10.1.1.1']);
    // Another datacenter's catalog, and a prepared query that fails over (dc1 has no "payments").
    assert.deepEqual(await resolver.resolve4('remote.service.dc3.consul'), ['10.0.0.1']);
    await http(url('dc1'), 'POST', '/v1/query', { Name: 'pay-dns', Service: { Service: 'payments', Failover: { Datacenters: ['dc2', 'dc3'] } }, DNS: { TTL: '10s' } });
    const viaQuery = await resolver.resolve4('pay-dns.query.consul', { ttl: true });
    assert.deepEqual(viaQuery.map((r) => [r.address, r.ttl]), [['10.0.3.1', 10]], 'dc2 is critical: the answer comes from dc3');
    await assert.rejects(resolver.resolve4('nothing.service.consul'), (err: NodeJS.ErrnoException) => err.code === 'ENOTFOUND');
    await assert.rejects(resolver.resolve4('db.service.nowhere.consul'), (err: NodeJS.ErrnoException) => err.code === 'ENOTFOUND');
    await assert.rejects(resolver.resolve4('example.com'), (err: NodeJS.ErrnoException) => err.code === 'ENOTFOUND');
  });

  it('keeps the catalog, checks and prepared queries across an agent restart (LMDB), with indexes that only move forward', async () => {
    await http(url('dc2'), 'PUT', '/v1/catalog/register', register('durable', 'node-d', 'passing'));
    const q = await http(url('dc2'), 'POST', '/v1/query', { Name: 'durable-q', Service: { Service: 'durable' } });
    const before = Number((await http(url('dc2'), 'GET', '/v1/catalog/services')).headers.get('X-Consul-Index'));
    await cluster.restartAgent('dc2');
    const services = await http(url('dc2'), 'GET', '/v1/catalog/services');
    assert.ok((services.body as Record<string, unknown>).durable);
    assert.ok(Number(services.headers.get('X-Consul-Index')) >= before);
    const executed = (await http(url('dc2'), 'GET', `/v1/query/${(q.body as { ID: string }).ID}/execute`)).body as Executed;
    assert.deepEqual(executed.Nodes.map((n) => n.Node.Node), ['node-d']);
    assert.ok(((await http(url('dc2'), 'GET', '/v1/catalog/datacenters')).body as string[]).includes('dc3'), 'known datacenters are remembered');
  });

  it('with dc3\'s nats-server stopped: ?dc=dc3 is a fast 503, failover skips it, nothing crashes', async () => {
    await cluster.nats.servers.get('dc3')!.stop();
    try {
      const started = Date.now();
      const res = await http(url('dc1'), 'GET', '/v1/catalog/services?dc=dc3');
      assert.equal(res.status, 503, res.text);
      assert.match(res.text, /datacenter dc3 is unreachable/);
      assert.ok(Date.now() - started < 3000);
      const q = await http(url('dc1'), 'POST', '/v1/query', { Name: 'remote-only', Service: { Service: 'remote', Failover: { Datacenters: ['dc3', 'dc2'] } } });
      const executed = (await http(url('dc1'), 'GET', `/v1/query/${(q.body as { ID: string }).ID}/execute`)).body as Executed;
      assert.deepEqual([executed.Nodes.length, executed.Failovers], [0, 2]);
      assert.equal((await http(url('dc1'), 'GET', '/v1/agent/self')).status, 200);
    } finally {
      await cluster.nats.servers.get('dc3')!.restart();
    }
  });
});
