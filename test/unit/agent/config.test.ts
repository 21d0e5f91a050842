import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAgentFile, resolveAgentConfig } from '../../../src/agent/index.js';
import { packageRoot } from '../../../src/common/index.js';
import { DEFAULT_CA_CONFIG } from '../../../src/events/index.js';
import { isTrellisError } from '../../../src/common/index.js';

describe('agent configuration', () => {
  it('reads Consul spellings and fills defaults', () => {
    const file = parseAgentFile(JSON.stringify({ datacenter: 'dc2', primary_datacenter: 'dc1', data_dir: '/tmp/x', ports: { http: 8600 } }), 'a.json');
    const config = resolveAgentConfig([file], {});
    assert.deepEqual(config, {
      datacenter: 'dc2',
      https: undefined,
      httpLimits: { requestsPerSecond: 1000, maxConnsPerClient: 200, requestTimeoutMs: 10_000 },
      acl: { enabled: false, defaultPolicy: 'allow', initialManagement: undefined, defaultToken: undefined },
      snapshots: { intervalEvents: 10_000, retain: 2, bootstrap: true, fullHistory: false },
      nodeName: undefined,
      advertiseAddress: '127.0.0.1',
      primaryDatacenter: 'dc1',
      dataDir: '/tmp/x',
      httpAddress: '127.0.0.1',
      httpPort: 8600,
      dnsPort: 8600,
      domain: 'consul',
      sidecarPorts: { min: 21000, max: 21255 },
      natsUrl: 'nats://127.0.0.1:4222',
      natsCredentialsFile: undefined,
      defaultIntentionPolicy: 'deny',
      logLevel: 'info',
      caKeyPassphraseFile: undefined,
      caConfig: DEFAULT_CA_CONFIG,
    });
    assert.ok(Object.isFrozen(config));
  });

  it('reads Consul\'s connect.ca_config (snake_case) and refuses an invalid one naming the block', () => {
    const file = parseAgentFile(
      JSON.stringify({ datacenter: 'dc1', data_dir: '/x', connect: { enabled: true, ca_provider: 'consul', ca_config: { private_key_type: 'rsa', private_key_bits: 4096, leaf_cert_ttl: '24h', csr_max_per_second: 10 } } }),
      'a.json',
    );
    assert.deepEqual(resolveAgentConfig([file], {}).caConfig, { ...DEFAULT_CA_CONFIG, PrivateKeyType: 'rsa', PrivateKeyBits: 4096, LeafCertTTL: '24h', CSRMaxPerSecond: 10 });
    const bad = parseAgentFile(JSON.stringify({ datacenter: 'dc1', data_dir: '/x', connect: { ca_config: { private_key_type: 'rsa' } } }), 'b.json');
    assert.throws(() => resolveAgentConfig([bad], {}), (err) => isTrellisError(err, 'E_CONFIG') && err.message === 'connect.ca_config: RSA key length must be 2048 or 4096 bits');
    assert.throws(() => parseAgentFile(JSON.stringify({ connect: { ca_provider: 'vault' } }), 'c.json'), (err) => isTrellisError(err, 'E_CONFIG') && /only the built-in "consul" CA provider/.test(err.message));
  });

  it('lets flags override files and later files override earlier ones', () => {
    const a = parseAgentFile('{"datacenter":"dc1","data_dir":"/a","nats":{"url":"nats://a:1"}}', 'a.json');
    const b = parseAgentFile('{"data_dir":"/b","log_level":"DEBUG"}', 'b.json');
    const config = resolveAgentConfig([a, b], { datacenter: 'dc9', ports: { http: 1 } });
    assert.equal(config.datacenter, 'dc9');
    assert.equal(config.dataDir, '/b');
    assert.equal(config.natsUrl, 'nats://a:1');
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.httpPort, 1);
  });

  it('names the file and key of a bad value, and unknown keys', () => {
    assert.throws(() => parseAgentFile('{"ports":{"http":"x"}}', 'c.json'), (err) => isTrellisError(err, 'E_CONFIG') && /c\.json: ports\.http/.test(err.message));
    assert.throws(() => parseAgentFile('{"datacentre":"dc1"}', 'c.json'), (err) => isTrellisError(err, 'E_CONFIG') && /unknown key "datacentre"/.test(err.message));
    assert.throws(() => parseAgentFile('{', 'c.json'), (err) => isTrellisError(err, 'E_CONFIG') && /not valid JSON/.test(err.message));
    assert.throws(() => parseAgentFile('{"datacenter":"DC 1"}', 'c.json'), (err) => isTrellisError(err, 'E_CONFIG') && /datacenter/.test(err.message));
  });

  it('reads the snapshots block and refuses bad values naming the key', () => {
    const c = resolveAgentConfig([parseAgentFile('{"snapshots":{"interval_events":0,"retain":5,"bootstrap":false,"full_history":true}}', 'c.json')], { datacenter: 'dc2', data_dir: '/tmp/x' });
    assert.deepEqual(c.snapshots, { intervalEvents: 0, retain: 5, bootstrap: false, fullHistory: true });
    assert.throws(() => parseAgentFile('{"snapshots":{"retain":0}}', 'c.json'), (err) => isTrellisError(err, 'E_CONFIG') && /c\.json: snapshots\.retain: /.test(err.message));
    assert.throws(() => parseAgentFile('{"snapshots":{"interval_events":-1}}', 'c.json'), (err) => isTrellisError(err, 'E_CONFIG') && /snapshots\.interval_events/.test(err.message));
    assert.throws(() => parseAgentFile('{"snapshots":{"every":10}}', 'c.json'), (err) => isTrellisError(err, 'E_CONFIG') && /unknown key "snapshots\.every"/.test(err.message));
  });

  it('requires a datacenter and a data directory', () => {
    assert.throws(() => resolveAgentConfig([], { data_dir: '/x' }), /datacenter is required/);
    assert.throws(() => resolveAgentConfig([], { datacenter: 'dc1' }), /data_dir is required/);
  });

  it('reads Consul\'s HTTPS keys (top-level and tls.defaults/tls.https) and the acl block, and says what is missing', () => {
    const base = { datacenter: 'dc1', data_dir: '/x' };
    const legacy = resolveAgentConfig([], { ...base, ports: { https: 8501 }, cert_file: '/c', key_file: '/k', ca_file: '/ca', verify_incoming: true });
    assert.deepEqual(legacy.https, { address: '127.0.0.1', port: 8501, certFile: '/c', keyFile: '/k', caFile: '/ca', verifyIncoming: true });
    const modern = resolveAgentConfig([], { ...base, ports: { https: 0 }, tls: { defaults: { cert_file: '/c', key_file: '/k' }, https: { ca_file: '/ca2', verify_incoming: true } } });
    assert.equal(modern.https?.caFile, '/ca2');
    assert.equal(resolveAgentConfig([], base).https, undefined, 'HTTPS is off unless ports.https is set');
    assert.throws(() => resolveAgentConfig([], { ...base, ports: { https: 8501 } }), /ports.https needs cert_file and key_file/);
    assert.throws(() => resolveAgentConfig([], { ...base, ports: { https: 8501 }, cert_file: '/c', key_file: '/k', verify_incoming: true }), /VerifyIncoming set, and no CA certificate provided!/);
    const acl = resolveAgentConfig([], { ...base, acl: { enabled: true, default_policy: 'deny', tokens: { initial_management: '7d2a3c1e-58f6-4b1e-9a39-64c1e9a3d111' } } }).acl;
    assert.deepEqual(acl, { enabled: true, defaultPolicy: 'deny', initialManagement: '7d2a3c1e-58f6-4b1e-9a39-64c1e9a3d111', defaultToken: undefined });
    assert.throws(() => resolveAgentConfig([], { ...base, acl: { tokens: { initial_management: 'root' } } }), /initial_management/);
  });

  it('the example configurations in deploy/agent are valid', () => {
    const dir = join(packageRoot(), 'deploy', 'agent');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 2);
    for (const f of files) {
      const config = resolveAgentConfig([parseAgentFile(readFileSync(join(dir, f), 'utf8'), f)], {});
      assert.equal(config.primaryDatacenter, 'dc1', f);
    }
  });
});
