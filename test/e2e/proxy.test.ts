import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../src/natsd/index.js';
import { makeTempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { http } from '../helpers/cluster.js';
import { roundTrip, startEcho } from '../helpers/sockets.js';

const TRELLIS = fileURLToPath(new URL('../../bin/trellis.js', import.meta.url));
const run = promisify(execFile);

/** A long-running CLI process with its output collected. */
function start(args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [TRELLIS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await waitFor(() => child.exitCode !== null || child.signalCode !== null, { timeoutMs: 15_000 }).catch(() => child.kill('SIGKILL'));
}

describe('trellis connect proxy between two datacenters, as real processes', () => {
  let dev: ReturnType<typeof start>;
  let dc1: string;
  let dc2: string;
  const processes: ChildProcess[] = [];
  const closers: Array<() => Promise<void>> = [];

  before(async () => {
    const dataDir = join(makeTempDir('trellis-e2e-proxy-'), 'dev');
    const portBase = await freePort();
    dev = start(['dev', '--data-dir', dataDir, '--port-base', String(portBase), '--default-intention-policy', 'deny']);
    processes.push(dev.child);
    const manifestPath = join(dataDir, 'dev.json');
    await waitFor(() => existsSync(manifestPath), { timeoutMs: 60_000, message: () => `dev.json was not written:\n${dev.output()}` });
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { datacenters: Array<{ http: string }> };
    dc1 = manifest.datacenters[0]!.http;
    dc2 = manifest.datacenters[1]!.http;
  });
  after(async () => {
    for (const p of processes.reverse()) await stop(p);
    for (const close of closers) await close();
  });

  it('refuses bad flags with Consul-like messages before starting anything', async () => {
    const bad = async (args: string[], message: RegExp) => {
      const r = await run(process.execPath, [TRELLIS, 'connect', 'proxy', ...args, '-http-addr', dc1]).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, message);
    };
    await bad([], /Service name must be specified with -service or -sidecar-for/);
    await bad(['-service', 'web', '-upstream', 'nginx'], /Invalid upstream "nginx": expected NAME:\[HOST:\]PORT/);
    await bad(['-service', 'web', '-service-addr', '127.0.0.1:8080'], /-service-addr requires -listen/);
    await bad(['-service', 'web', '-listen', 'nowhere'], /-listen must be HOST:PORT/);
    await bad(['-sidecar-for', 'ghost'], /No sidecar proxy registered for ghost/);
  });

  it('client in dc1 reaches echo in dc2 over mTLS (-upstream echo:PORT -datacenter dc2); a deny written at dc1 refuses new connections in dc2, another allowed pair keeps working', async () => {
    const echo = await startEcho();
    closers.push(() => echo.close());
    const [listenPort, clientPort, otherPort] = [await freePort(), await freePort(), await freePort()];
    const server = start(['connect', 'proxy', '-service', 'echo', '-service-addr', `127.0.0.1:${echo.port}`, '-listen', `127.0.0.1:${listenPort}`, '-register', '-http-addr', dc2]);
    processes.push(server.child);
    await waitFor(() => /Proxy for echo running/.test(server.output()) || undefined, { timeoutMs: 30_000, message: () => server.output() });
    assert.match(server.output(), /Registered echo-proxy/);
    // The registration is in dc2's catalog, and visible from dc1 with ?dc=dc2.
    await waitFor(async () => ((await http(dc1, 'GET', '/v1/health/connect/echo?passing&dc=dc2')).body as unknown[]).length === 1 || undefined, { timeoutMs: 15_000 });

    assert.equal((await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=client&destination=echo', { Action: 'allow' })).status, 200);
    assert.equal((await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=other&destination=echo', { Action: 'allow' })).status, 200);
    const client = start(['connect', 'proxy', '-service', 'client', '-upstream', `echo:${clientPort}`, '-datacenter', 'dc2', '-http-addr', dc1]);
    const other = start(['connect', 'proxy', '-service', 'other', '-upstream', `echo:${otherPort}`, '-datacenter', 'dc2', '-http-addr', dc1]);
    processes.push(client.child, other.child);
    await waitFor(() => (/Proxy for client running/.test(client.output()) && /Proxy for other running/.test(other.output())) || undefined, { timeoutMs: 30_000, message: () => client.output() + other.output() });
    assert.match(client.output(), /Upstream echo \(service, datacenter dc2\) listening on 127\.0\.0\.1:\d+/);

    await waitFor(async () => (await roundTrip(clientPort, 'hello dc2')) === 'hello dc2' || undefined, { timeoutMs: 15_000 });
    assert.equal(await roundTrip(otherPort, 'me too'), 'me too');

    assert.equal((await http(dc1, 'PUT', '/v1/connect/intentions/exact?source=client&destination=echo', { Action: 'deny' })).status, 200);
    // Refused within one replication delay, by the proxy in dc2 (dc2 decides with its replicated view).
    await waitFor(async () => (await roundTrip(clientPort, 'still?', 1000)) === null || undefined, { timeoutMs: 10_000 });
    await waitFor(() => /connection refused: not authorized/.test(server.output()) || undefined);
    assert.equal(await roundTrip(otherPort, 'unaffected'), 'unaffected');

    // Stopping the registered proxy deregisters it.
    await stop(server.child);
    await waitFor(async () => ((await http(dc2, 'GET', '/v1/health/connect/echo')).body as unknown[]).length === 0 || undefined);
  });
});
