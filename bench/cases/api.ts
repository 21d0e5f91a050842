import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as HttpAgent, request } from 'node:http';
import { resolveAgentConfig, startAgent } from '../../src/agent/index.js';
import { silentLogger } from '../../src/common/index.js';
import { findNatsServer, startDatacenterServers } from '../../src/natsd/index.js';
import { result, type BenchContext, type BenchResult } from '../lib.js';

function call(agent: HttpAgent, url: URL, method: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function drive(seconds: number, clients: number, once: (client: number, n: number) => Promise<number>): Promise<{ rate: number; errors: number }> {
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let done = 0;
  let errors = 0;
  let n = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (performance.now() < deadline) {
        const status = await once(c, n++);
        if (status === 200) done++;
        else errors++;
      }
    }),
  );
  return { rate: done / ((performance.now() - start) / 1000), errors };
}

/**
 * api.intention_writes_per_s: PUT /v1/connect/intentions/exact from 64 concurrent keep-alive
 * clients against a primary agent (validation, append, projection, answer). Baseline: the same
 * clients on GET /v1/status/leader, the HTTP stack with no write behind it.
 */
export async function benchApi(ctx: BenchContext): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-api-'));
  const servers = await startDatacenterServers({ datacenters: ['dc1'], baseDir: join(dir, 'nats'), bin: findNatsServer(process.env) });
  const agent = await startAgent(
    resolveAgentConfig([], { datacenter: 'dc1', data_dir: join(dir, 'dc1'), ports: { http: 0, dns: 0 }, nats: { url: servers.servers.get('dc1')!.url, credentials_file: servers.access.get('dc1')!.agent.file }, limits: { http_requests_per_client: 0, http_max_conns_per_client: 1024 } }),
    { logger: silentLogger() },
  );
  const http = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  try {
    const clients = 64;
    const leader = new URL(`${agent.httpUrl}/v1/status/leader`);
    const raw = await drive(ctx.seconds, clients, () => call(http, leader, 'GET'));
    const writes = await drive(ctx.seconds, clients, (c, n) =>
      call(http, new URL(`${agent.httpUrl}/v1/connect/intentions/exact?source=web-${c}-${n}&destination=db-${n % 100}`), 'PUT', '{"Action":"allow"}'),
    );
    if (writes.errors > 0) ctx.log(`api: ${writes.errors} writes failed`);
    return [result('api.intention_writes_per_s', writes.rate, 'writes/s', raw.rate, { note: '64 clients; baseline GET /v1/status/leader' })];
  } finally {
    http.destroy();
    await agent.stop();
    await servers.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
