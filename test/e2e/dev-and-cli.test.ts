import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../src/natsd/index.js';
import { makeTempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { http } from '../helpers/cluster.js';

const TRELLIS = fileURLToPath(new URL('../../bin/trellis.js', import.meta.url));
const run = promisify(execFile);

interface DevManifest {
  primary: string;
  datacenters: Array<{ name: string; http: string; ui: string; dns: string; nats: string; natsCreds: string; natsCa: string; natsPid: number; agentPid: number }>;
}

/** Runs the CLI as a user would; resolves with exit code and output. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [TRELLIS, ...args], { env: { ...process.env, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('trellis dev and the intention CLI, end to end', () => {
  let dev: ChildProcess;
  let dataDir: string;
  let manifest: DevManifest;
  let output = '';
  let dc1: string;
  let dc2: string;

  before(async () => {
    dataDir = join(makeTempDir('trellis-e2e-'), 'dev');
    const portBase = await freePort();
    dev = spawn(process.execPath, [TRELLIS, 'dev', '--data-dir', dataDir, '--port-base', String(portBase)], { stdio: ['ignore', 'pipe', 'pipe'] });
    dev.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    dev.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const manifestPath = join(dataDir, 'dev.json');
    await waitFor(() => existsSync(manifestPath), { timeoutMs: 60_000, message: () => `dev.json was not written; output:\n${output}` });
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as DevManifest;
    dc1 = manifest.datacenters[0]!.http;
    dc2 = manifest.datacenters[1]!.http;
    assert.equal(dc1, `http://127.0.0.1:${portBase}`);
    assert.equal(dc2, `http://127.0.0.1:${portBase + 1}`);
  });

  after(async () => {
    // A failed test must not leave servers behind: ask dev to stop its children, then make sure.
    if (dev.exitCode === null && dev.signalCode === null) {
      dev.kill('SIGTERM');
      await waitFor(() => dev.exitCode !== null || dev.signalCode !== null, { timeoutMs: 15_000 }).catch(() => dev.kill('SIGKILL'));
    }
    for (const dc of manifest?.datacenters ?? []) for (const pid of [dc.natsPid, dc.agentPid]) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('writes dev.json as the contract says and prints one line per datacenter', async () => {
    assert.equal(manifest.primary, 'dc1');
    assert.deepEqual(
      manifest.datacenters.map((d) => d.name),
      ['dc1', 'dc2'],
    );
    for (const dc of manifest.datacenters) {
      assert.match(dc.nats, /^nats:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(statSync(dc.natsCreds).mode & 0o777, 0o600, 'credentials are 0600');
      assert.match(dc.dns, /^127\.0\.0\.1:\d+$/);
      assert.ok(alive(dc.natsPid) && alive(dc.agentPid), `${dc.name} processes are running`);
    }
    assert.equal(statSync(join(dataDir, 'dev.json')).mode & 0o077, 0, 'dev.json is private to its owner');
    await waitFor(() => /dc2 \(secondary\): HTTP/.test(output));
    assert.match(output, /dc1 \(primary\): HTTP http:\/\/127\.0\.0\.1:(\d+) {2}UI http:\/\/127\.0\.0\.1:\1\/ui\//);
    assert.match(output, /dc2 \(secondary\): HTTP http:\/\/127\.0\.0\.1:(\d+) {2}UI http:\/\/127\.0\.0\.1:\1\/ui\//);
    const self = (await http(dc2, 'GET', '/v1/agent/self')).body as { Config: { Datacenter: string; PrimaryDatacenter: string } };
    assert.deepEqual([self.Config.Datacenter, self.Config.PrimaryDatacenter], ['dc2', 'dc1']);
  });

  it('intention create at dc1, then check, get, match and list at dc2 through the CLI', async () => {
    const created = await cli(['intention', 'create', '-deny', '-description', 'no direct access', '-meta', 'team=payments', 'web', 'db'], { CONSUL_HTTP_ADDR: dc1.replace('http://', '') });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'Created: web => db (deny)\n');
    const env2 = { TRELLIS_HTTP_ADDR: dc2 };
    await waitFor(async () => (await cli(['intention', 'get', 'web', 'db'], env2)).code === 0, { timeoutMs: 10_000 });
    const check = await cli(['intention', 'check', 'web', 'db'], env2);
    assert.equal(check.code, 2, 'denied exits 2');
    assert.equal(check.stdout, 'Denied\n');
    const get = await cli(['intention', 'get', '-http-addr', dc2, 'web', 'db']);
    assert.match(get.stdout, /Source:\s+web\nDestination:\s+db\nAction:\s+deny\nID:\s+[0-9a-f-]{36}\nDescription:\s+no direct access\nMeta\[team\]:\s+payments/);
    // `trellis dev` answers with the allow default where no intention matches.
    const open = await cli(['intention', 'check', 'web', 'cache'], env2);
    assert.equal(open.code, 0);
    assert.equal(open.stdout, 'Allowed\n');
    const match = await cli(['intention', 'match', 'db'], env2);
    assert.equal(match.stdout, 'web => db (deny)\n');
    const list = await cli(['intention', 'list'], env2);
    assert.match(list.stdout, /^ID\s+Source\s+Action\s+Destination\s+Precedence\n[0-9a-f-]{36}\s+web\s+deny\s+db\s+9\n$/);
  });

  it('a duplicate create fails with Consul\'s message and exit 1; -replace replaces it, forwarded from dc2', async () => {
    const dup = await cli(['intention', 'create', '-allow', '-http-addr', dc1, 'web', 'db']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /Error creating intention: Unexpected response code: 409 \(duplicate intention found: DENY default\/web => default\/db \(ID: [0-9a-f-]{36}\)\)/);
    const replaced = await cli(['intention', 'create', '-allow', '-replace', '-http-addr', dc2, 'web', 'db']);
    assert.equal(replaced.code, 0, replaced.stderr);
    const check = await cli(['intention', 'check', '-http-addr', dc2, 'web', 'db']);
    assert.equal(check.code, 0);
  });

  it('bad usage is refused before anything is sent', async () => {
    const both = await cli(['intention', 'create', '-allow', '-deny', '-http-addr', dc1, 'a', 'b']);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /Only one of -allow or -deny/);
    const one = await cli(['intention', 'check', '-http-addr', dc1, 'a']);
    assert.equal(one.code, 1);
    assert.match(one.stderr, /Must specify two arguments/);
    assert.equal(((await http(dc1, 'GET', '/v1/connect/intentions')).body as unknown[]).length, 1);
    const unreachable = await cli(['intention', 'list', '-http-addr', '127.0.0.1:1']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /Error listing intentions: Error connecting to the agent at http:\/\/127\.0\.0\.1:1/);
  });

  it('trellis ca roots and trellis connect ca leaf give what openssl verifies through dc2\'s intermediate', async () => {
    const roots = await cli(['ca', 'roots', '-http-addr', dc2]);
    assert.equal(roots.code, 0, roots.stderr);
    const doc = JSON.parse(roots.stdout) as { TrustDomain: string; ActiveRootID: string; Roots: Array<{ RootCert: string }> };
    const atDc1 = JSON.parse((await cli(['ca', 'roots', '-http-addr', dc1])).stdout) as typeof doc;
    assert.equal(doc.TrustDomain, atDc1.TrustDomain);
    assert.equal(doc.ActiveRootID, atDc1.ActiveRootID);
    const out = join(makeTempDir('trellis-e2e-leaf-'), 'certs');
    const leaf = await waitFor(async () => {
      const r = await cli(['connect', 'ca', 'leaf', 'web', '-out-dir', out, '-http-addr', dc2]);
      return r.code === 0 ? r : undefined;
    }, { timeoutMs: 20_000 });
    assert.match(leaf.stdout, new RegExp(`spiffe://${doc.TrustDomain.replace(/\./g, '\\.')}/ns/default/dc/dc2/svc/web`));
    assert.equal(statSync(join(out, 'web-key.pem')).mode & 0o777, 0o600);
    writeFileSync(join(out, 'root.pem'), doc.Roots[0]!.RootCert);
    const verified = await run('openssl', ['verify', '-CAfile', join(out, 'root.pem'), '-untrusted', join(out, 'web-chain.pem'), join(out, 'web.pem')]);
    assert.match(verified.stdout, /web\.pem: OK/);
  });

  it('trellis ca get-config, set-config (Consul\'s file format and messages) and rotate, from dc2', async () => {
    const got = await cli(['ca', 'get-config', '-http-addr', dc2]);
    assert.equal(got.code, 0, got.stderr);
    const config = JSON.parse(got.stdout) as { Provider: string; Config: Record<string, unknown> };
    assert.equal(config.Provider, 'consul');
    assert.equal(config.Config.PrivateKeyType, 'ec');
    const dir = makeTempDir('trellis-e2e-ca-');
    assert.match((await cli(['ca', 'set-config', '-http-addr', dc2])).stderr, /The -config-file flag is required/);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ Provider: 'consul', Config: { LeafCertTTL: '10m' } }));
    const bad = await cli(['connect', 'ca', 'set-config', '-config-file', join(dir, 'bad.json'), '-http-addr', dc2]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Error setting CA configuration: Unexpected response code: 400 \(leaf cert TTL must be greater or equal than 1h0m0s\)/);
    writeFileSync(join(dir, 'ca.json'), JSON.stringify({ ...config, Config: { ...config.Config, LeafCertTTL: '48h' } }));
    const set = await cli(['connect', 'ca', 'set-config', '-config-file', join(dir, 'ca.json'), '-http-addr', dc2]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'Configuration updated!\n');
    assert.equal((JSON.parse((await cli(['connect', 'ca', 'get-config', '-http-addr', dc1])).stdout) as typeof config).Config.LeafCertTTL, '48h');

    const before = JSON.parse((await cli(['ca', 'roots', '-http-addr', dc1])).stdout) as { ActiveRootID: string };
    const rotated = await cli(['ca', 'rotate', '-http-addr', dc2]);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /^Rotated: the active root is now /);
    const after = await waitFor(async () => {
      const r = JSON.parse((await cli(['ca', 'roots', '-http-addr', dc2])).stdout) as { ActiveRootID: string; Roots: unknown[] };
      return r.ActiveRootID !== before.ActiveRootID ? r : undefined;
    });
    assert.equal(after.Roots.length, 2);
    // dc2 moves to an intermediate under the new root before the next test cuts the WAN.
    await waitFor(async () => {
      const res = await fetch(`${dc2}/v1/trellis/replication`);
      const status = (await res.json()) as { CA: { SigningCertRootID: string } };
      return status.CA.SigningCertRootID === after.ActiveRootID || undefined;
    });
  });

  it('the README\'s example subscriber prints changes as they happen and, killed and restarted, continues without a gap or a repeat', async () => {
    const example = fileURLToPath(new URL('../../examples/subscribe.ts', import.meta.url));
    const startExample = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', example, 'dc2'], { env: { ...process.env, TRELLIS_DEV_JSON: join(dataDir, 'dev.json') }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      return { child, out: () => out };
    };
    const first = startExample();
    await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=sub-a&destination=db', { Action: 'allow' });
    await waitFor(() => /IntentionCreated sub-a => db \(allow\)/.test(first.out()) || undefined, { timeoutMs: 30_000, message: () => first.out() });
    first.child.kill('SIGKILL');
    await waitFor(() => first.child.exitCode !== null || first.child.signalCode !== null || undefined);
    const seqs = (text: string) => [...text.matchAll(/^#(\d+) /gm)].map((m) => Number(m[1]));
    const seenBefore = seqs(first.out());
    await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=sub-b&destination=db', { Action: 'deny' });
    const second = startExample();
    await waitFor(() => /IntentionCreated sub-b => db \(deny\)/.test(second.out()) || undefined, { timeoutMs: 30_000, message: () => second.out() });
    second.child.kill('SIGTERM');
    const after = seqs(second.out());
    const last = Math.max(...seenBefore);
    // No gap: every intention event after the last one printed before the kill is printed after it.
    const feed = (await http(dc1, 'GET', `/v1/trellis/events?from=${last + 1}`)).body as Array<{ seq: number; type: string }>;
    const missed = feed.filter((e) => e.type.startsWith('Intention')).map((e) => e.seq);
    assert.ok(missed.length > 0 && missed.every((seq) => after.includes(seq)), `expected ${missed.join(',')} among ${after.join(',')}`);
    // No repeat beyond at-least-once: it resumed where it was, not from the start of the log.
    assert.ok(Math.min(...after) > last - 64, `restarted near ${last}, not from the start: ${after.join(',')}`);
  });

  it('trellis replay -verify on the live deployment (agent running) exits 0', async () => {
    const dc2Nats = manifest.datacenters[1]!.nats;
    const dc2Creds = manifest.datacenters[1]!.natsCreds;
    const out = join(makeTempDir('trellis-e2e-replay-'), 'replay');
    const r = await cli(['replay', '-data-dir', join(dataDir, 'dc2'), '-from-datacenter', 'dc2', '-nats-url', dc2Nats, '-nats-creds', dc2Creds, '-out', out, '-verify']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Verified: the live view's tables equal the replay's at event \d+/);
    const verify = await cli(['audit', 'verify', '-nats-url', dc2Nats, '-nats-creds', dc2Creds, '-datacenter', 'dc2']);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /hash chain is intact/);
  });

  it('with dc1\'s nats-server frozen, dc2 still answers and writes fail with 503 within 2 s; thawed, it catches up', async () => {
    const natsPid = manifest.datacenters[0]!.natsPid;
    process.kill(natsPid, 'SIGSTOP');
    try {
      const check = await cli(['intention', 'check', '-http-addr', dc2, 'web', 'db']);
      assert.equal(check.code, 0);
      const started = Date.now();
      const write = await http(dc2, 'PUT', '/v1/connect/intentions/exact?source=a&destination=b', { Action: 'allow' });
      assert.equal(write.status, 503, write.text);
      assert.match(write.text, /primary datacenter dc1 is unreachable/);
      assert.ok(Date.now() - started < 2000, `failed after ${Date.now() - started} ms`);
    } finally {
      process.kill(natsPid, 'SIGCONT');
    }
    const res = await waitFor(async () => {
      const r = await http(dc2, 'PUT', '/v1/connect/intentions/exact?source=a&destination=b', { Action: 'allow' });
      return r.status === 200 ? r : undefined;
    }, { timeoutMs: 20_000 });
    assert.equal(res.body, true);
  });

  it('Ctrl-C (SIGTERM) stops every process cleanly', async () => {
    const exited = new Promise<number | null>((resolve) => dev.once('exit', (code) => resolve(code)));
    dev.kill('SIGTERM');
    assert.equal(await exited, 0);
    for (const dc of manifest.datacenters) {
      await waitFor(() => !alive(dc.natsPid) && !alive(dc.agentPid), { message: `${dc.name} processes still running` });
    }
  });
});
