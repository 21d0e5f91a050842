import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { walkStream } from '../../../src/audit/index.js';
import { decodeEvent } from '../../../src/events/index.js';
import { runCli } from '../../../src/cli/main.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../../helpers/temp.js';

const MANAGEMENT = randomUUID();
const ANONYMOUS = '00000000-0000-0000-0000-000000000002';

describe('ACLs (Consul-compatible subset), at the primary and at a secondary with the WAN down', () => {
  let cluster: TestCluster;
  const url = (dc: string) => cluster.agent(dc).httpUrl;
  const as = (token: string | undefined) => (token ? { headers: { 'X-Consul-Token': token } } : {});
  /** A token with one policy of these rules, created at the primary with the management token. */
  async function tokenWith(name: string, rules: string): Promise<{ secret: string; accessor: string }> {
    const policy = await http(url('dc1'), 'PUT', '/v1/acl/policy', { Name: name, Rules: rules }, as(MANAGEMENT));
    assert.equal(policy.status, 200, policy.text);
    const token = await http(url('dc1'), 'PUT', '/v1/acl/token', { Description: name, Policies: [{ Name: name }] }, as(MANAGEMENT));
    assert.equal(token.status, 200, token.text);
    const body = token.body as { SecretID: string; AccessorID: string; Policies: Array<{ Name: string }> };
    assert.deepEqual(body.Policies.map((p) => p.Name), [name]);
    return { secret: body.SecretID, accessor: body.AccessorID };
  }
  let dbWriter: { secret: string; accessor: string };
  let webService: { secret: string; accessor: string };
  let operatorRead: { secret: string; accessor: string };

  before(async () => {
    cluster = await startCluster({
      datacenters: ['dc1', 'dc2'],
      fileConfig: () => ({ acl: { enabled: true, default_policy: 'deny', tokens: { initial_management: MANAGEMENT } } }),
    });
    dbWriter = await tokenWith('db-intentions', 'service "db" { policy = "read" intentions = "write" }\nservice_prefix "" { policy = "read" }');
    webService = await tokenWith('web-service', 'service "web" { policy = "write" }');
    operatorRead = await tokenWith('operator-read', 'operator = "read"');
  });
  after(async () => {
    await cluster.stop();
  });

  it('with no token (anonymous, default deny): reads are filtered, writes are refused with 403', async () => {
    assert.equal((await http(url('dc1'), 'PUT', '/v1/connect/intentions/exact?source=web&destination=db', { Action: 'allow' }, as(MANAGEMENT))).status, 200);
    const list = await http(url('dc1'), 'GET', '/v1/connect/intentions');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body, [], 'filtered, not refused');
    const write = await http(url('dc1'), 'PUT', '/v1/connect/intentions/exact?source=a&destination=db', { Action: 'allow' });
    assert.equal(write.status, 403);
    assert.equal(write.text, `Permission denied: token with AccessorID '${ANONYMOUS}' lacks permission 'intention:write' on "db"`);
  });

  it('an unknown token is 403 "ACL not found", by header, Bearer or ?token=', async () => {
    const bogus = randomUUID();
    for (const init of [as(bogus), { headers: { Authorization: `Bearer ${bogus}` } }]) {
      const r = await http(url('dc1'), 'GET', '/v1/connect/intentions', undefined, init);
      assert.equal(r.status, 403);
      assert.equal(r.text, 'ACL not found');
    }
    assert.equal((await http(url('dc1'), 'GET', `/v1/connect/intentions?token=${bogus}`)).status, 403);
    // The same three ways carry a good token.
    assert.equal((await http(url('dc1'), 'GET', '/v1/connect/intentions', undefined, { headers: { Authorization: `Bearer ${dbWriter.secret}` } })).status, 200);
    assert.equal((await http(url('dc1'), 'GET', `/v1/connect/intentions?token=${dbWriter.secret}`)).status, 200);
  });

  it('intention writes need intentions = "write" on the destination; reads show what the token may read', async () => {
    const ok = await http(url('dc1'), 'POST', '/v1/connect/intentions', { SourceName: 'api', DestinationName: 'db', Action: 'deny' }, as(dbWriter.secret));
    assert.equal(ok.status, 200, ok.text);
    const denied = await http(url('dc1'), 'POST', '/v1/connect/intentions', { SourceName: 'db', DestinationName: 'api', Action: 'deny' }, as(dbWriter.secret));
    assert.equal(denied.status, 403);
    assert.match(denied.text, /lacks permission 'intention:write' on "api"/);
    // Moving an intention away from db needs write on the new destination too.
    const id = (ok.body as { ID: string }).ID;
    const move = await http(url('dc1'), 'PUT', `/v1/connect/intentions/${id}`, { SourceName: 'api', DestinationName: 'cache', Action: 'deny' }, as(dbWriter.secret));
    assert.equal(move.status, 403);
    const mine = (await http(url('dc1'), 'GET', '/v1/connect/intentions', undefined, as(dbWriter.secret))).body as Array<{ DestinationName: string }>;
    assert.ok(mine.length >= 2 && mine.every((i) => i.DestinationName === 'db'));
    // The event records who: the token's AccessorID, never its secret.
    const last = (await http(url('dc1'), 'GET', `/v1/trellis/events?from=1&limit=1000`, undefined, as(MANAGEMENT))).body as Array<{ type: string; by: string; data: unknown }>;
    const created = last.filter((e) => e.type === 'IntentionCreated').at(-1)!;
    assert.equal(created.by, dbWriter.accessor);
  });

  it('leaf certificates need service:write; CA configuration needs operator; authorize needs service:write on the target', async () => {
    assert.equal((await http(url('dc1'), 'GET', '/v1/agent/connect/ca/leaf/web', undefined, as(webService.secret))).status, 200);
    const noLeaf = await http(url('dc1'), 'GET', '/v1/agent/connect/ca/leaf/db', undefined, as(webService.secret));
    assert.equal(noLeaf.status, 403);
    assert.match(noLeaf.text, /lacks permission 'service:write' on "db"/);
    assert.equal((await http(url('dc1'), 'GET', '/v1/connect/ca/configuration', undefined, as(operatorRead.secret))).status, 200);
    assert.equal((await http(url('dc1'), 'GET', '/v1/connect/ca/configuration', undefined, as(webService.secret))).status, 403);
    const set = await http(url('dc1'), 'PUT', '/v1/connect/ca/configuration', { Provider: 'consul', Config: {} }, as(operatorRead.secret));
    assert.equal(set.status, 403);
    assert.match(set.text, /lacks permission 'operator:write'/);
    assert.equal((await http(url('dc1'), 'PUT', '/v1/connect/ca/configuration', { Provider: 'consul', Config: {} }, as(MANAGEMENT))).status, 200);
    const trustDomain = ((await http(url('dc1'), 'GET', '/v1/connect/ca/roots')).body as { TrustDomain: string }).TrustDomain;
    const body = { Target: 'web', ClientCertURI: `spiffe://${trustDomain}/ns/default/dc/dc1/svc/api` };
    assert.equal((await http(url('dc1'), 'POST', '/v1/agent/connect/authorize', body, as(webService.secret))).status, 200);
    assert.equal((await http(url('dc1'), 'POST', '/v1/agent/connect/authorize', { ...body, Target: 'db' }, as(webService.secret))).status, 403);
  });

  it('ACL endpoints: Consul\'s validation messages, management-only writes, token/self, global-management protected', async () => {
    const dup = await http(url('dc1'), 'PUT', '/v1/acl/policy', { Name: 'web-service', Rules: '' }, as(MANAGEMENT));
    assert.equal(dup.status, 400);
    assert.equal(dup.text, 'Invalid Policy: A Policy with Name "web-service" already exists');
    assert.equal((await http(url('dc1'), 'PUT', '/v1/acl/policy', { Rules: '' }, as(MANAGEMENT))).text, 'Invalid Policy: no Name is set');
    assert.match((await http(url('dc1'), 'PUT', '/v1/acl/policy', { Name: 'bad', Rules: 'service "x" { policy = "owner" }' }, as(MANAGEMENT))).text, /^Failed to parse ACL rules: /);
    assert.equal((await http(url('dc1'), 'DELETE', '/v1/acl/policy/00000000-0000-0000-0000-000000000001', undefined, as(MANAGEMENT))).text, 'Delete operation not permitted on the builtin global-management policy');
    const noAcl = await http(url('dc1'), 'PUT', '/v1/acl/policy', { Name: 'sneaky', Rules: 'acl = "write"' }, as(dbWriter.secret));
    assert.equal(noAcl.status, 403);
    assert.match(noAcl.text, /lacks permission 'acl:write'/);
    const self = (await http(url('dc1'), 'GET', '/v1/acl/token/self', undefined, as(webService.secret))).body as { AccessorID: string };
    assert.equal(self.AccessorID, webService.accessor);
    const policies = (await http(url('dc1'), 'GET', '/v1/acl/policies', undefined, as(MANAGEMENT))).body as Array<{ Name: string; Rules?: string }>;
    assert.deepEqual(policies.map((p) => p.Name).slice(0, 4), ['global-management', 'db-intentions', 'web-service', 'operator-read']);
    const listed = (await http(url('dc1'), 'GET', '/v1/acl/tokens', undefined, as(MANAGEMENT))).body as Array<{ AccessorID: string; SecretID: string }>;
    assert.ok(listed.every((t) => t.SecretID === '<hidden>'), 'secrets are shown once, at creation');
    assert.equal((await http(url('dc1'), 'DELETE', `/v1/acl/token/${ANONYMOUS}`, undefined, as(MANAGEMENT))).text, 'Delete operation not permitted on the anonymous token');
  });

  it('trellis acl policy|token create/read/list/delete, with Consul\'s flags and printouts; CONSUL_HTTP_TOKEN_FILE', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const cli = async (args: string[], env: Record<string, string> = { CONSUL_HTTP_TOKEN: MANAGEMENT }) => {
      out.length = 0;
      err.length = 0;
      return runCli([...args, '-http-addr', url('dc1')], { env, stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
    };
    assert.equal(await cli(['acl', 'policy', 'create', '-name', 'cli-made', '-description', 'from the CLI', '-rules', 'service "cli" { policy = "write" }']), 0, err.join(''));
    assert.match(out.join(''), /^ID: +[0-9a-f-]{36}\nName: +cli-made\nDescription: +from the CLI\n/);
    assert.equal(await cli(['acl', 'token', 'create', '-description', 'cli token', '-policy-name', 'cli-made', '-format', 'json']), 0, err.join(''));
    const created = JSON.parse(out.join('')) as { AccessorID: string; SecretID: string };
    const file = join(makeTempDir('trellis-token-'), 'token');
    writeFileSync(file, `${created.SecretID}\n`, { mode: 0o600 });
    assert.equal(await cli(['acl', 'token', 'read', '-self'], { CONSUL_HTTP_TOKEN_FILE: file }), 0, err.join(''));
    assert.match(out.join(''), new RegExp(`AccessorID: +${created.AccessorID}[\\s\\S]*Policies:\\n {3}[0-9a-f-]{36} - cli-made`));
    assert.equal(await cli(['acl', 'policy', 'list']), 0);
    assert.match(out.join(''), /^global-management:/m);
    assert.equal(await cli(['acl', 'token', 'delete', '-id', created.AccessorID]), 0, err.join(''));
    assert.equal(await cli(['acl', 'policy', 'delete', '-name', 'cli-made']), 0, err.join(''));
    assert.equal(await cli(['acl', 'policy', 'read', '-name', 'cli-made']), 1);
    assert.match(err.join(''), /Error reading policy: Unexpected response code: 404/);
    assert.equal(await cli(['acl', 'policy', 'create', '-name', 'x'], {}), 1, 'no token: refused');
    assert.match(err.join(''), /403 \(Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' lacks permission 'acl:write'\)/);
  });

  it('node and query rules: catalog registration needs node:write (and service:write), reads are filtered; prepared queries need query:write, lists show what query:read allows', async () => {
    const catalogToken = await tokenWith('catalog-n1', 'node "n1" { policy = "write" }\nservice "svc1" { policy = "write" }\nquery_prefix "q-" { policy = "write" }');
    const reg = (node: string, service: string, token: string) =>
      http(url('dc1'), 'PUT', '/v1/catalog/register', { Node: node, Address: '10.0.0.1', Service: { Service: service, Port: 80 } }, as(token));
    assert.equal((await reg('n1', 'svc1', catalogToken.secret)).status, 200);
    const otherNode = await reg('n2', 'svc1', catalogToken.secret);
    assert.equal(otherNode.status, 403);
    assert.match(otherNode.text, /lacks permission 'node:write' on "n2"/);
    assert.match((await reg('n1', 'svc2', catalogToken.secret)).text, /lacks permission 'service:write' on "svc2"/);
    assert.equal((await reg('n2', 'svc2', MANAGEMENT)).status, 200);
    // Reads are filtered: the token reads n1/svc1 (write implies read), not n2/svc2.
    const nodes = (await http(url('dc1'), 'GET', '/v1/catalog/nodes', undefined, as(catalogToken.secret))).body as Array<{ Node: string }>;
    assert.deepEqual(nodes.map((n) => n.Node), ['n1']);
    const services = (await http(url('dc1'), 'GET', '/v1/catalog/services', undefined, as(catalogToken.secret))).body as Record<string, string[]>;
    assert.deepEqual(Object.keys(services), ['svc1']);
    assert.deepEqual((await http(url('dc1'), 'GET', '/v1/health/service/svc2', undefined, as(catalogToken.secret))).body, []);
    // Prepared queries: query:write on the name.
    const q = await http(url('dc1'), 'POST', '/v1/query', { Name: 'q-web', Service: { Service: 'svc1' } }, as(catalogToken.secret));
    assert.equal(q.status, 200, q.text);
    const denied = await http(url('dc1'), 'POST', '/v1/query', { Name: 'other', Service: { Service: 'svc1' } }, as(catalogToken.secret));
    assert.equal(denied.status, 403);
    assert.match(denied.text, /lacks permission 'query:write' on "other"/);
    assert.equal((await http(url('dc1'), 'POST', '/v1/query', { Name: 'other', Service: { Service: 'svc2' } }, as(MANAGEMENT))).status, 200);
    const queries = (await http(url('dc1'), 'GET', '/v1/query', undefined, as(catalogToken.secret))).body as Array<{ Name: string }>;
    assert.deepEqual(queries.map((x) => x.Name), ['q-web']);
  });

  it('only a hash of each secret enters the stream', async () => {
    const nc = cluster.agent('dc1').nc;
    const secrets = [MANAGEMENT, dbWriter.secret, webService.secret, operatorRead.secret];
    let tokens = 0;
    await walkStream(jetstream(nc, { domain: 'dc1' }), await jetstreamManager(nc, { domain: 'dc1' }), (_seq, bytes) => {
      const text = Buffer.from(bytes).toString('latin1');
      for (const s of secrets) assert.ok(!text.includes(s), 'no secret in any event');
      const e = decodeEvent(bytes);
      if (e.type === 'ACLTokenSet') {
        tokens++;
        assert.match(e.data.token.SecretHash, /^[0-9a-f]{64}$/);
      }
      return true;
    });
    assert.ok(tokens >= 4, `the initial management token and three more (${tokens})`);
  });

  it('the anonymous token can be given policies (Consul\'s anonymous token update); DNS answers what it may read', async () => {
    const reg = await http(url('dc1'), 'PUT', '/v1/agent/service/register', { Name: 'dnsweb', Port: 8080 }, as(MANAGEMENT));
    assert.equal(reg.status, 200, reg.text);
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${cluster.agent('dc1').dnsPort}`]);
    await assert.rejects(resolver.resolve4('dnsweb.service.consul'), 'anonymous (default deny) may not read the service: no answer');
    const policy = await http(url('dc1'), 'PUT', '/v1/acl/policy', { Name: 'anon-read', Rules: 'service_prefix "" { policy = "read" }' }, as(MANAGEMENT));
    assert.equal(policy.status, 200, policy.text);
    const set = await http(url('dc1'), 'PUT', `/v1/acl/token/${ANONYMOUS}`, { Policies: [{ Name: 'anon-read' }] }, as(MANAGEMENT));
    assert.equal(set.status, 200, set.text);
    const list = (await http(url('dc1'), 'GET', '/v1/connect/intentions')).body as unknown[];
    assert.ok(list.length >= 2, 'anonymous now reads intentions');
    assert.deepEqual(await resolver.resolve4('dnsweb.service.consul'), ['127.0.0.1']);
    await http(url('dc1'), 'PUT', `/v1/acl/token/${ANONYMOUS}`, { Policies: [] }, as(MANAGEMENT));
  });

  it('a secondary enforces the replicated tokens and policies locally, also with the WAN down; ACL writes go to the primary', async () => {
    await waitFor(async () => (await http(url('dc2'), 'GET', '/v1/agent/connect/ca/leaf/web', undefined, as(webService.secret))).status === 200);
    // An ACL write at dc2 is answered by the primary.
    const fromDc2 = await http(url('dc2'), 'PUT', '/v1/acl/policy', { Name: 'made-in-dc2', Rules: 'operator = "read"' }, as(MANAGEMENT));
    assert.equal(fromDc2.status, 200, fromDc2.text);
    assert.equal((await http(url('dc1'), 'GET', '/v1/acl/policy/name/made-in-dc2', undefined, as(MANAGEMENT))).status, 200);
    await waitFor(async () => (await http(url('dc2'), 'GET', '/v1/acl/policy/name/made-in-dc2', undefined, as(MANAGEMENT))).status === 200);

    const hub = cluster.nats.servers.get('dc1')!;
    await hub.stop();
    try {
      assert.equal((await http(url('dc2'), 'GET', '/v1/agent/connect/ca/leaf/web', undefined, as(webService.secret))).status, 200);
      assert.equal((await http(url('dc2'), 'GET', '/v1/agent/connect/ca/leaf/db', undefined, as(webService.secret))).status, 403);
      assert.equal((await http(url('dc2'), 'GET', '/v1/connect/intentions', undefined, as(randomUUID()))).text, 'ACL not found');
      const mine = (await http(url('dc2'), 'GET', '/v1/connect/intentions', undefined, as(dbWriter.secret))).body as Array<{ DestinationName: string }>;
      assert.ok(mine.length >= 2 && mine.every((i) => i.DestinationName === 'db'));
      assert.deepEqual((await http(url('dc2'), 'GET', '/v1/connect/intentions')).body, []);
      // Without permission: 403 at once, no WAN needed. With it: 503, the primary is unreachable.
      const refused = await http(url('dc2'), 'POST', '/v1/connect/intentions', { SourceName: 'x', DestinationName: 'api', Action: 'deny' }, as(dbWriter.secret));
      assert.equal(refused.status, 403);
      const unreachable = await http(url('dc2'), 'POST', '/v1/connect/intentions', { SourceName: 'x', DestinationName: 'db', Action: 'deny' }, as(dbWriter.secret));
      assert.equal(unreachable.status, 503, unreachable.text);
      assert.equal((await http(url('dc2'), 'GET', '/v1/acl/token/self', undefined, as(webService.secret))).status, 200);
    } finally {
      await hub.restart();
    }
  });
});

describe('ACLs off (the default)', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1'] });
  });
  after(async () => {
    await cluster.stop();
  });

  it('every request is allowed and /v1/acl answers 401 "ACL support disabled", as Consul', async () => {
    const r = await http(cluster.agent('dc1').httpUrl, 'GET', '/v1/acl/policies');
    assert.equal(r.status, 401);
    assert.equal(r.text, 'ACL support disabled');
    assert.equal((await http(cluster.agent('dc1').httpUrl, 'PUT', '/v1/connect/intentions/exact?source=a&destination=b', { Action: 'allow' })).status, 200);
  });
});
