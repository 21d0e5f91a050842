import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { openConnection, roundTrip, startEcho } from '../../helpers/sockets.js';
import { createProxy, type Proxy } from '../../../src/proxy/index.js';
import { buildCertificate, generateKeyPair, leafTemplate, rootTemplate } from '../../../src/ca/index.js';
import { silentLogger } from '../../../src/common/index.js';

interface Leaf {
  CertPEM: string;
  PrivateKeyPEM: string;
}

describe('the built-in mTLS proxy across datacenters', () => {
  let cluster: TestCluster;
  const url = (dc: string) => cluster.agent(dc).httpUrl;
  const proxies: Proxy[] = [];
  const closers: Array<() => Promise<void>> = [];
  let echoProxy: Proxy;
  let client: Proxy;
  let clientPort: number;

  async function proxy(options: Parameters<typeof createProxy>[0]): Promise<Proxy> {
    const p = createProxy({ connectTimeoutMs: 500, queryRefreshMs: 200, ...options }, { logger: silentLogger() });
    await p.start();
    proxies.push(p);
    return p;
  }
  /** Registers a connect-proxy for `service` in a datacenter's catalog, with a TTL check the test controls. */
  async function registerProxy(dc: string, id: string, service: string, port: number, status: 'pass' | 'fail' = 'pass'): Promise<void> {
    const res = await http(url(dc), 'PUT', '/v1/agent/service/register', {
      ID: id,
      Name: `${service}-proxy`,
      Kind: 'connect-proxy',
      Address: '127.0.0.1',
      Port: port,
      Proxy: { DestinationServiceName: service },
      Check: { CheckID: `${id}-ttl`, TTL: '10m' },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal((await http(url(dc), 'PUT', `/v1/agent/check/${status}/${id}-ttl`)).status, 200);
  }
  const intention = async (source: string, destination: string, action: 'allow' | 'deny') => {
    const res = await http(url('dc1'), 'PUT', `/v1/connect/intentions/exact?source=${source}&destination=${destination}`, { Action: action });
    assert.equal(res.status, 200, res.text);
  };
  /** Waits until dc2's view has the intention's current action (the server-side check runs there). */
  const replicated = (source: string, destination: string, allowed: boolean) =>
    waitFor(async () => ((await http(url('dc2'), 'GET', `/v1/connect/intentions/check?source=${source}&destination=${destination}`)).body as { Allowed: boolean }).Allowed === allowed || undefined);

  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2', 'dc3'] });
    await waitFor(async () => ((await http(url('dc1'), 'GET', '/v1/catalog/datacenters')).body as string[]).length === 3 || undefined, { timeoutMs: 20_000 });
    const echo = await startEcho();
    closers.push(() => echo.close());
    echoProxy = await proxy({ service: 'echo', serviceAddr: { host: '127.0.0.1', port: echo.port }, listen: { host: '127.0.0.1', port: 0 }, agentHttpUrl: url('dc2') });
    await registerProxy('dc2', 'echo-proxy', 'echo', echoProxy.addresses().inbound!.port);
    client = await proxy({
      service: 'client',
      upstreams: [{ destinationType: 'service', destinationName: 'echo', datacenter: 'dc2', localBindAddress: '127.0.0.1', localBindPort: 0 }],
      agentHttpUrl: url('dc1'),
    });
    clientPort = client.addresses().upstreams.get('echo:0')!.port;
  });
  after(async () => {
    for (const p of proxies) await p.stop();
    for (const close of closers) await close();
    await cluster.stop();
  });

  it('allow → bytes round-trip from dc1 to echo in dc2; deny at dc1 → new connections refused in dc2 once replicated, another allowed pair unaffected', async () => {
    await intention('client', 'echo', 'allow');
    await intention('other', 'echo', 'allow');
    await replicated('client', 'echo', true);
    const other = await proxy({
      service: 'other',
      upstreams: [{ destinationType: 'service', destinationName: 'echo', datacenter: 'dc2', localBindAddress: '127.0.0.1', localBindPort: 0 }],
      agentHttpUrl: url('dc1'),
    });
    const otherPort = other.addresses().upstreams.get('echo:0')!.port;
    assert.equal(await roundTrip(clientPort, 'hello across the WAN'), 'hello across the WAN');
    assert.equal(await roundTrip(otherPort, 'other'), 'other');

    const deniedBefore = echoProxy.status().inbound.denied;
    await intention('client', 'echo', 'deny');
    await replicated('client', 'echo', false);
    assert.equal(await roundTrip(clientPort, 'refused?'), null);
    assert.ok(echoProxy.status().inbound.denied > deniedBefore, 'the server-side proxy in dc2 refused it');
    assert.equal(await roundTrip(otherPort, 'still fine'), 'still fine');
    await intention('client', 'echo', 'allow');
    await replicated('client', 'echo', true);
    assert.equal(await roundTrip(clientPort, 'again'), 'again');
  });

  it('refuses a client certificate from a foreign CA at the handshake, and a valid certificate of another service at authorize', async () => {
    const { port } = echoProxy.addresses().inbound!;
    // A foreign CA: a root of its own, a leaf claiming to be "client".
    const root = generateKeyPair('ec');
    const now = Date.now();
    const rootTpl = rootTemplate({ trustDomain: 'evil.consul', publicKey: root.publicKey, now, commonName: 'evil CA' });
    const leafKey = generateKeyPair('ec');
    const foreignCert = buildCertificate(
      leafTemplate({ trustDomain: 'evil.consul', datacenter: 'dc1', service: 'client', publicKey: leafKey.publicKey, issuerCommonName: 'evil CA', issuerPublicKey: root.publicKey, issuerNotAfter: rootTpl.notAfter, now }),
      root.privateKey,
    );
    const failuresBefore = echoProxy.status().inbound.handshakeFailures;
    const foreign = await attempt(port, { cert: foreignCert, key: leafKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
    assert.equal(foreign, null);
    await waitFor(() => echoProxy.status().inbound.handshakeFailures > failuresBefore || undefined);

    // A genuine certificate, for a service with no intention to echo: default deny.
    const intruder = (await http(url('dc1'), 'GET', '/v1/agent/connect/ca/leaf/intruder')).body as Leaf;
    const deniedBefore = echoProxy.status().inbound.denied;
    const roots = (await http(url('dc1'), 'GET', '/v1/agent/connect/ca/roots')).body as { Roots: Array<{ RootCert: string }> };
    assert.equal(await attempt(port, { cert: intruder.CertPEM, key: intruder.PrivateKeyPEM, ca: roots.Roots.map((r) => r.RootCert) }), null);
    assert.ok(echoProxy.status().inbound.denied > deniedBefore);
  });

  it('the client proxy refuses an upstream that presents another SPIFFE identity', async () => {
    // An impostor that answers for "vault" with a genuine certificate of "impostor".
    const leaf = (await http(url('dc2'), 'GET', '/v1/agent/connect/ca/leaf/impostor')).body as Leaf;
    const impostor: TlsServer = createTlsServer({ cert: leaf.CertPEM, key: leaf.PrivateKeyPEM }, (s) => s.end('secrets'));
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((r) => impostor.close(() => r())));
    await registerProxy('dc2', 'vault-proxy', 'vault', (impostor.address() as AddressInfo).port);
    await intention('client', 'vault', 'allow');
    const c = await proxy({
      service: 'client',
      upstreams: [{ destinationType: 'service', destinationName: 'vault', datacenter: 'dc2', localBindAddress: '127.0.0.1', localBindPort: 0 }],
      agentHttpUrl: url('dc1'),
    });
    assert.equal(await roundTrip(c.addresses().upstreams.get('vault:0')!.port, 'give me secrets'), null);
    assert.ok((c.status().upstreams[0]?.identityMismatches ?? 0) >= 1);
  });

  it('tries the next instance when one cannot be dialled', async () => {
    const echo = await startEcho('live:');
    closers.push(() => echo.close());
    const live = await proxy({ service: 'echo2', serviceAddr: { host: '127.0.0.1', port: echo.port }, listen: { host: '127.0.0.1', port: 0 }, agentHttpUrl: url('dc2') });
    await registerProxy('dc2', 'a-dead-echo2', 'echo2', 1); // nothing listens on port 1
    await registerProxy('dc2', 'b-live-echo2', 'echo2', live.addresses().inbound!.port);
    await intention('client', 'echo2', 'allow');
    await replicated('client', 'echo2', true);
    const c = await proxy({
      service: 'client',
      upstreams: [{ destinationType: 'service', destinationName: 'echo2', datacenter: 'dc2', localBindAddress: '127.0.0.1', localBindPort: 0 }],
      agentHttpUrl: url('dc1'),
    });
    const port = c.addresses().upstreams.get('echo2:0')!.port;
    for (let i = 0; i < 3; i++) assert.equal(await roundTrip(port, `x${i}`), `live:x${i}`);
    assert.ok((c.status().upstreams[0]?.dialFailures ?? 0) >= 1);
  });

  it('an upstream naming a prepared query follows its failover from dc2 to dc3 without a restart', async () => {
    const answers: Record<string, Proxy> = {};
    for (const dc of ['dc2', 'dc3']) {
      const echo = await startEcho(`${dc}:`);
      closers.push(() => echo.close());
      answers[dc] = await proxy({ service: 'pay', serviceAddr: { host: '127.0.0.1', port: echo.port }, listen: { host: '127.0.0.1', port: 0 }, agentHttpUrl: url(dc) });
      await registerProxy(dc, 'pay-proxy', 'pay', answers[dc].addresses().inbound!.port);
    }
    await intention('client', 'pay', 'allow');
    for (const dc of ['dc2', 'dc3']) {
      await waitFor(async () => ((await http(url(dc), 'GET', '/v1/connect/intentions/check?source=client&destination=pay')).body as { Allowed: boolean }).Allowed || undefined);
    }
    const created = await http(url('dc1'), 'POST', '/v1/query', { Name: 'pay-geo', Service: { Service: 'pay', Failover: { Datacenters: ['dc2', 'dc3'] } } });
    assert.equal(created.status, 200, created.text);
    const c = await proxy({
      service: 'client',
      upstreams: [{ destinationType: 'prepared_query', destinationName: 'pay-geo', datacenter: '', localBindAddress: '127.0.0.1', localBindPort: 0 }],
      agentHttpUrl: url('dc1'),
    });
    const port = c.addresses().upstreams.get('pay-geo.query:0')!.port;
    assert.equal(await roundTrip(port, 'hi'), 'dc2:hi');
    // dc2's proxy goes critical: the query answers from dc3, and so does the running upstream.
    assert.equal((await http(url('dc2'), 'PUT', '/v1/agent/check/fail/pay-proxy-ttl')).status, 200);
    await waitFor(async () => (await roundTrip(port, 'hi')) === 'dc3:hi' || undefined, { timeoutMs: 10_000 });
  });

  it('rotating the CA swaps the certificates without dropping an open connection', async () => {
    await intention('client', 'echo', 'allow');
    await replicated('client', 'echo', true);
    const open = await openConnection(clientPort);
    assert.equal(await open.send('before'), 'before');
    const serialBefore = echoProxy.status().leafSerial;
    const rotated = await http(url('dc1'), 'PUT', '/v1/trellis/ca/rotate');
    assert.equal(rotated.status, 200, rotated.text);
    // The echo proxy in dc2 gets a leaf from dc2's new intermediate (its blocking query wakes).
    await waitFor(() => (echoProxy.status().leafSerial !== serialBefore ? true : undefined), { timeoutMs: 30_000 });
    assert.equal(await open.send('during'), 'during', 'the open connection still works');
    assert.equal(await roundTrip(clientPort, 'after'), 'after', 'new connections handshake with the new certificates');
    open.close();
  });
});

/** A TLS client straight to a proxy's inbound port: what comes back for "ping", or null when refused. */
function attempt(port: number, options: { cert: string; key: string; ca?: string[] }): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, cert: options.cert, key: options.key, ca: options.ca ?? [], rejectUnauthorized: false });
    let got = '';
    const timer = setTimeout(() => finish(), 3000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got || null);
    };
    socket.on('secureConnect', () => socket.write('ping'));
    socket.on('data', (d: Buffer) => {
      got += d.toString();
      finish();
    });
    socket.on('close', finish);
    socket.on('error', finish);
  });
}
