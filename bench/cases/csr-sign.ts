import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveAgentConfig, startAgent } from '../../src/agent/index.js';
import { buildCsr, generateKeyPair, intermediateCommonName } from '../../src/ca/index.js';
import { silentLogger } from '../../src/common/index.js';
import { findNatsServer, startDatacenterServers } from '../../src/natsd/index.js';
import { createRpcClient } from '../../src/rpc/index.js';
import { percentile, result, type BenchContext, type BenchResult } from '../lib.js';

/**
 * csr_sign.rtt_ms: a secondary's intermediate CSR to the primary across the leafnode link and back
 * (validation, signing, append, applied), paced under the CSR rate limit. Baseline: a bare
 * request/reply echo over the same link.
 */
export async function benchCsrSign(ctx: BenchContext): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-csr-'));
  const servers = await startDatacenterServers({ datacenters: ['dc1', 'dc2'], baseDir: join(dir, 'nats'), bin: findNatsServer(process.env) });
  const config = (dc: string) =>
    resolveAgentConfig([], { datacenter: dc, primary_datacenter: 'dc1', data_dir: join(dir, dc), ports: { http: 0, dns: 0 }, nats: { url: servers.servers.get(dc)!.url, credentials_file: servers.access.get(dc)!.agent.file } });
  const dc1 = await startAgent(config('dc1'), { logger: silentLogger() });
  const dc2 = await startAgent(config('dc2'), { logger: silentLogger() });
  try {
    while (!dc2.view.caState()) await new Promise((r) => setTimeout(r, 20));
    const trustDomain = dc2.view.caState()!.TrustDomain;
    const rpc = createRpcClient({ nc: dc2.nc, datacenter: 'dc2', logger: silentLogger() });
    // The same request/reply path an RPC takes, on a subject the identities allow.
    dc1.nc.subscribe('trellis.rpc.dc1.bench.echo.*', { callback: (_e, m) => void m.respond(m.data) });
    await dc1.nc.flush();
    const count = Math.max(20, Math.min(200, Math.round(ctx.seconds * 25)));
    const key = generateKeyPair('ec');
    const csr = buildCsr(intermediateCommonName('dc2'), [`spiffe://${trustDomain}`], key.privateKey, key.publicKey);
    const raw: number[] = [];
    const signed: number[] = [];
    for (let i = 0; i < count; i++) {
      let t = performance.now();
      await dc2.nc.request('trellis.rpc.dc1.bench.echo.dc2', csr, { timeout: 2000 });
      raw.push(performance.now() - t);
      t = performance.now();
      await rpc.call('dc1', 'ca', 'sign', { csr }, { timeoutMs: 5000 });
      signed.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 40)); // stay under csr_max_per_second (50)
    }
    raw.sort((a, b) => a - b);
    signed.sort((a, b) => a - b);
    return [
      result('csr_sign.rtt_p50_ms', percentile(signed, 50), 'ms', percentile(raw, 50)),
      result('csr_sign.rtt_p99_ms', percentile(signed, 99), 'ms', percentile(raw, 99)),
    ];
  } finally {
    await dc2.stop();
    await dc1.stop();
    await servers.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
