import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderNatsConfig, findNatsServer, agentPermissions, leafPermissions, readerPermissions } from '../../../src/natsd/index.js';
import { isTrellisError } from '../../../src/common/index.js';

describe('nats-server configuration', () => {
  it('renders a hub with its JetStream domain, store, monitoring port and leafnode listener', () => {
    const text = renderNatsConfig({ name: 'dc1', domain: 'dc1', clientPort: 4222, httpPort: 8222, storeDir: '/var/lib/t "q"', leafListenPort: 7422 });
    assert.match(text, /^server_name: "dc1"$/m);
    assert.match(text, /^listen: "127\.0\.0\.1:4222"$/m);
    assert.match(text, /^http: "127\.0\.0\.1:8222"$/m);
    assert.match(text, /jetstream \{\n {2}domain: "dc1"\n {2}store_dir: "\/var\/lib\/t \\"q\\""\n\}/);
    assert.match(text, /leafnodes \{\n {2}listen: "127\.0\.0\.1:7422"\n {2}advertise: "127\.0\.0\.1:7422"\n\}/);
    assert.doesNotMatch(text, /remotes/);
  });

  it('renders a leaf with its own domain and the hub as remote', () => {
    const text = renderNatsConfig({ name: 'dc2', domain: 'dc2', clientPort: 4223, httpPort: 8223, storeDir: '/s', leafRemotes: ['nats-leaf://127.0.0.1:7422'] });
    assert.match(text, /domain: "dc2"/);
    assert.match(text, /remotes: \[\n {4}\{ url: "nats-leaf:\/\/127\.0\.0\.1:7422" \}\n {2}\]/);
    assert.doesNotMatch(text, /listen: "127\.0\.0\.1:7422"/);
  });

  it('renders users with bcrypt hashes and permissions, leaf users with the client users, TLS on clients and the leafnode link', () => {
    const tls = { caFile: '/t/ca.pem', certFile: '/t/s.pem', keyFile: '/t/k.pem' };
    const perms = agentPermissions('dc1', 'dc1');
    const text = renderNatsConfig({
      name: 'dc1', domain: 'dc1', clientPort: 1, httpPort: 2, storeDir: '/s', leafListenPort: 3, tls,
      users: [{ user: 'dc1', passwordHash: '$2b$10$x', permissions: perms }],
      leafUsers: [{ user: 'dc2-leaf', passwordHash: '$2b$10$y', permissions: leafPermissions('dc2', 'dc1', ['dc1', 'dc2']) }],
    });
    assert.match(text, /authorization \{\n {2}users: \[/);
    assert.match(text, /user: "dc1"\n {6}password: "\$2b\$10\$x"/);
    assert.match(text, /user: "dc2-leaf"/, 'nats-server 2.9 has no permissions on leafnodes.authorization users');
    assert.match(text, /deny: \["trellis\.rpc\.\*\.\*\.\*\.dc1", "trellis\.wan\.announce\.dc1"\]/);
    assert.doesNotMatch(text, /allow_responses/, 'not for agents: it makes JetStream reads 15x slower');
    assert.equal(text.match(/cert_file: "\/t\/s\.pem"/g)?.length, 2, 'clients and leafnodes');
    assert.doesNotMatch(text, /no_auth_user/);
  });

  it('permissions: only the primary agent appends; a secondary calls and announces only as itself; a reader changes nothing', () => {
    assert.ok(agentPermissions('dc1', 'dc1').publish.includes('trellis.events.>'));
    assert.ok(!agentPermissions('dc2', 'dc1').publish.some((s) => s.startsWith('trellis.events')));
    assert.deepEqual(agentPermissions('dc2', 'dc1').publish.filter((s) => s.startsWith('trellis.')), ['trellis.rpc.*.*.*.dc2', 'trellis.wan.announce.dc2']);
    assert.equal(agentPermissions('dc2', 'dc1').allowResponses, false, 'allow_responses costs 15x in JetStream reads');
    assert.deepEqual(agentPermissions('dc2', 'dc1').subscribe, ['_INBOX.dc2.>', 'trellis.rpc.dc2.>', 'trellis.wan.announce.*']);
    const reader = readerPermissions('dc2', 'dc1');
    assert.ok(!reader.publish.some((s) => /STREAM\.(DELETE|PURGE|CREATE|UPDATE)|^trellis\.|>$/.test(s) && !/CONSUMER|DIRECT|ACK|FC/.test(s)), reader.publish.join(' '));
    const leaf = leafPermissions('dc2', 'dc1', ['dc1', 'dc2', 'dc3']);
    assert.deepEqual(leaf.publishDeny, ['trellis.rpc.*.*.*.dc1', 'trellis.rpc.*.*.*.dc3', 'trellis.wan.announce.dc1', 'trellis.wan.announce.dc3']);
    assert.ok(!leaf.publish.some((s) => s.startsWith('trellis.events') || /STREAM\.(DELETE|PURGE)/.test(s)));
  });

  it('finds nats-server through NATS_SERVER_BIN, PATH or /usr/sbin, and says how to install it when absent', () => {
    assert.throws(
      () => findNatsServer({ PATH: '/nonexistent', NATS_SERVER_BIN: undefined }, []),
      (err) => isTrellisError(err, 'E_CONFIG') && err.message === 'nats-server not found: set NATS_SERVER_BIN or apt-get install nats-server',
    );
    assert.throws(() => findNatsServer({ NATS_SERVER_BIN: '/nope/nats-server' }), /NATS_SERVER_BIN=\/nope\/nats-server does not exist/);
  });
});
