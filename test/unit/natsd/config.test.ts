import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderNatsConfig, findNatsServer } from '../../../src/natsd/index.js';
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

  it('finds nats-server through NATS_SERVER_BIN, PATH or /usr/sbin, and says how to install it when absent', () => {
    assert.throws(
      () => findNatsServer({ PATH: '/nonexistent', NATS_SERVER_BIN: undefined }, []),
      (err) => isTrellisError(err, 'E_CONFIG') && err.message === 'nats-server not found: set NATS_SERVER_BIN or apt-get install nats-server',
    );
    assert.throws(() => findNatsServer({ NATS_SERVER_BIN: '/nope/nats-server' }), /NATS_SERVER_BIN=\/nope\/nats-server does not exist/);
  });
});
