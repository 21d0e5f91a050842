import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentPermissions, ensureDevTls, findNatsServer, leafPermissions, readCredentialsFile, readerPermissions } from '../../../src/natsd/index.js';
import { packageRoot } from '../../../src/common/index.js';
import { runCli } from '../../../src/cli/main.js';
import { makeTempDir } from '../../helpers/temp.js';

/** `nats-server -t` on a config, with /etc/nats-server's TLS files swapped for generated ones. */
function natsServerCheck(configText: string): { ok: boolean; output: string } {
  const dir = makeTempDir('trellis-natscheck-');
  const tls = ensureDevTls(join(dir, 'tls'));
  const path = join(dir, 'check.conf');
  writeFileSync(path, configText.replaceAll('/etc/nats-server/ca.pem', tls.caFile).replaceAll('/etc/nats-server/server.pem', tls.certFile).replaceAll('/etc/nats-server/server-key.pem', tls.keyFile).replaceAll('/var/lib/nats', join(dir, 'store')));
  const check = spawnSync(findNatsServer(process.env), ['-c', path, '-t'], { encoding: 'utf8' });
  return { ok: check.status === 0, output: `${check.stdout}${check.stderr}` };
}

const quoted = (subjects: readonly string[]) => `[${subjects.map((s) => JSON.stringify(s)).join(', ')}]`;

describe('the nats-server configurations in deploy/', () => {
  const dir = join(packageRoot(), 'deploy', 'nats');
  const files = readdirSync(dir).filter((f) => f.endsWith('.conf'));

  it('exist for the hub and a leaf', () => {
    assert.deepEqual(files.sort(), ['hub.conf', 'leaf.conf']);
  });

  for (const file of files) {
    it(`${file} passes nats-server -t and names its JetStream domain, ping interval, TLS and users`, () => {
      const text = readFileSync(join(dir, file), 'utf8');
      const check = natsServerCheck(text);
      assert.ok(check.ok, check.output);
      assert.match(check.output, /is valid/);
      assert.match(text, /^\s*domain: "dc\d"/m, 'JetStream domain = datacenter name');
      assert.match(text, /^ping_interval: "10s"/m, 'a dead WAN link noticed in ~30 s, not ~6 min');
      assert.match(text, /^tls \{/m, 'TLS for clients');
      assert.doesNotMatch(text, /^\s*no_auth_user/m);
    });
  }

  it('show exactly the permissions trellis renders (src/natsd/permissions.ts)', () => {
    const hub = readFileSync(join(dir, 'hub.conf'), 'utf8');
    const leaf = readFileSync(join(dir, 'leaf.conf'), 'utf8');
    const all = ['dc1', 'dc2', 'dc3'];
    for (const [text, p] of [
      [hub, agentPermissions('dc1', 'dc1')],
      [hub, readerPermissions('dc1', 'dc1')],
      [hub, leafPermissions('dc2', 'dc1', all)],
      [leaf, agentPermissions('dc2', 'dc1')],
      [leaf, readerPermissions('dc2', 'dc1')],
    ] as const) {
      assert.ok(text.includes(`allow: ${quoted(p.publish)}`), `publish ${quoted(p.publish)}`);
      assert.ok(text.includes(`subscribe { allow: ${quoted(p.subscribe)} }`), `subscribe ${quoted(p.subscribe)}`);
      if (p.publishDeny) assert.ok(text.includes(`deny: ${quoted(p.publishDeny)}`), `deny ${quoted(p.publishDeny)}`);
    }
  });
});

describe('trellis nats-config', () => {
  it("writes every datacenter's valid nats-server.conf (bcrypt hashes only) and 0600 credentials", async () => {
    const out = join(makeTempDir('trellis-natsconfig-'), 'out');
    const stdout: string[] = [];
    const code = await runCli(['nats-config', '-datacenters', 'dc1,dc2,dc3', '-out', out], { env: {}, stdout: (t) => stdout.push(t), stderr: () => undefined });
    assert.equal(code, 0);
    for (const dc of ['dc1', 'dc2', 'dc3']) {
      const config = readFileSync(join(out, dc, 'nats-server.conf'), 'utf8');
      const check = natsServerCheck(config);
      assert.ok(check.ok, `${dc}: ${check.output}`);
      for (const role of ['agent', 'reader']) {
        const file = join(out, dc, `${role}-credentials.json`);
        assert.equal(statSync(file).mode & 0o777, 0o600);
        const creds = readCredentialsFile(file);
        assert.ok(!config.includes(creds.password), 'the config holds a hash, not the password');
        assert.equal(creds.url, `nats://${dc}-nats.example.internal:4222`);
      }
      assert.equal(statSync(join(out, dc, 'nats-server.conf')).mode & 0o777, 0o600);
    }
    assert.match(readFileSync(join(out, 'dc2', 'nats-server.conf'), 'utf8'), /nats-leaf:\/\/dc2-leaf:[A-Za-z0-9_-]+@dc1-nats\.example\.internal:7422/);
    assert.equal(await runCli(['nats-config', '-datacenters', 'dc1,DC 2', '-out', out], { env: {}, stdout: () => undefined, stderr: () => undefined }), 1);
  });
});
