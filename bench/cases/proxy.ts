import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveAgentConfig, startAgent } from '../../src/agent/index.js';
import { silentLogger } from '../../src/common/index.js';
import { findNatsServer, startDatacenterServers } from '../../src/natsd/index.js';
import { createProxy } from '../../src/proxy/index.js';
import { percentile, result, type BenchContext, type BenchResult } from '../lib.js';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Bytes per second echoed back: `total` bytes written in 64 KiB chunks, all read back. */
async function throughput(port: number, total: number): Promise<number> {
  const s = await open(port);
  const chunk = Buffer.alloc(64 * 1024, 7);
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let received = 0;
    s.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= total) resolve();
    });
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!s.write(chunk)) {
          s.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  const seconds = (performance.now() - start) / 1000;
  s.destroy();
  return total / seconds;
}

/** Round-trip times (ms, sorted) of small messages on one connection. */
async function pingPong(port: number, count: number): Promise<number[]> {
  const s = await open(port);
  const times: number[] = [];
  const message = Buffer.alloc(64, 1);
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await new Promise<void>((resolve) => {
      let got = 0;
      const onData = (d: Buffer) => {
        got += d.length;
        if (got >= message.length) {
          s.off('data', onData);
          resolve();
        }
      };
      s.on('data', onData);
      s.write(message);
    });
    times.push(performance.now() - t);
  }
  s.destroy();
  return times.sort((a, b) => a - b);
}

/** New connections per second, each carrying one byte there and back, `lanes` at a time. */
async function connectionsPerSecond(port: number, seconds: number, lanes = 8): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (performance.now() < deadline) {
        const s = await open(port);
        await new Promise<void>((resolve, reject) => {
          s.once('data', () => resolve());
          s.once('close', () => reject(new Error('closed before the echo')));
          s.write('x');
        });
        s.destroy();
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

/**
 * proxy.*: a local echo service reached directly (the baseline) and through a client proxy and
 * a server proxy (mTLS between them, authorize on every new connection), in one datacenter.
 */
export async function benchProxy(ctx: BenchContext): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-proxy-'));
  const servers = await startDatacenterServers({ datacenters: ['dc1'], baseDir: join(dir, 'nats'), bin: findNatsServer(process.env) });
  const agent = await startAgent(
    resolveAgentConfig([], { datacenter: 'dc1', data_dir: join(dir, 'dc1'), ports: { http: 0, dns: -1 }, nats: { url: servers.servers.get('dc1')!.url, credentials_file: servers.access.get('dc1')!.agent.file }, limits: { http_requests_per_client: 0 }, default_intention_policy: 'deny' }),
    { logger: silentLogger() },
  );
  const sockets = new Set<Socket>();
  const echo = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  const echoPort = await listen(echo);
  const serverProxy = createProxy({ service: 'echo', serviceAddr: { host: '127.0.0.1', port: echoPort }, listen: { host: '127.0.0.1', port: 0 }, agentHttpUrl: agent.httpUrl }, { logger: silentLogger() });
  const clientProxy = createProxy(
    { service: 'bench', upstreams: [{ destinationType: 'service', destinationName: 'echo', datacenter: '', localBindAddress: '127.0.0.1', localBindPort: 0 }], agentHttpUrl: agent.httpUrl },
    { logger: silentLogger() },
  );
  try {
    await serverProxy.start();
    const inboundPort = serverProxy.addresses().inbound!.port;
    await fetch(`${agent.httpUrl}/v1/agent/service/register`, {
      method: 'PUT',
      body: JSON.stringify({ Name: 'echo-proxy', Kind: 'connect-proxy', Port: inboundPort, Address: '127.0.0.1', Proxy: { DestinationServiceName: 'echo' } }),
    });
    await fetch(`${agent.httpUrl}/v1/connect/intentions/exact?source=bench&destination=echo`, { method: 'PUT', body: JSON.stringify({ Action: 'allow' }) });
    await clientProxy.start();
    const proxied = clientProxy.addresses().upstreams.get('echo:0')!.port;
    // Warm both paths (TLS session setup, JIT).
    await pingPong(echoPort, 200);
    await pingPong(proxied, 200);

    const total = (ctx.quick ? 128 : 512) * 1024 * 1024;
    const rawBps = await throughput(echoPort, total);
    const proxiedBps = await throughput(proxied, total);
    ctx.log(`throughput: direct ${(rawBps / 1e6).toFixed(0)} MB/s, proxied ${(proxiedBps / 1e6).toFixed(0)} MB/s`);

    const count = ctx.quick ? 2000 : 10_000;
    const rawRtt = await pingPong(echoPort, count);
    const proxiedRtt = await pingPong(proxied, count);
    const rawP99 = percentile(rawRtt, 99);
    const proxiedP99 = percentile(proxiedRtt, 99);

    const rawConns = await connectionsPerSecond(echoPort, ctx.seconds / 2);
    const proxiedConns = await connectionsPerSecond(proxied, ctx.seconds / 2);
    return [
      result('proxy.throughput_mb_per_s', proxiedBps / 1e6, 'MB/s', rawBps / 1e6, { note: 'ratio = proxy.throughput_ratio' }),
      result('proxy.throughput_ratio', proxiedBps / rawBps, 'x', null),
      result('proxy.added_latency_p99_ms', proxiedP99 - rawP99, 'ms', rawP99, { note: `p99 ${proxiedP99.toFixed(3)} ms proxied, ${rawP99.toFixed(3)} ms direct` }),
      result('proxy.latency_p50_ms', percentile(proxiedRtt, 50), 'ms', percentile(rawRtt, 50)),
      result('proxy.connections_per_s', proxiedConns, 'conn/s', rawConns, { note: 'mTLS handshake + authorize per connection' }),
    ];
  } finally {
    await clientProxy.stop();
    await serverProxy.stop();
    for (const s of sockets) s.destroy();
    echo.close();
    await agent.stop();
    await servers.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
