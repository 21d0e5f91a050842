import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startNats } from '../../helpers/nats.js';
import { makeTempDir } from '../../helpers/temp.js';
import { waitFor } from '../../helpers/wait.js';
import { http } from '../../helpers/cluster.js';
import { resolveAgentConfig, startAgent } from '../../../src/agent/index.js';
import { silentLogger } from '../../../src/common/index.js';

describe('a secondary that starts with the WAN down', () => {
  it('answers 503 for leaves until it can reach the primary, then obtains its intermediate and signs', async () => {
    const nats = await startNats({ datacenters: ['dc1', 'dc2'] });
    const dir = makeTempDir('trellis-wan-');
    const config = (dc: string) =>
      resolveAgentConfig([], { datacenter: dc, primary_datacenter: 'dc1', data_dir: join(dir, dc), ports: { http: 0 }, nats: { url: nats.servers.get(dc)!.url } });
    const dc1 = await startAgent(config('dc1'), { logger: silentLogger() });
    await nats.servers.get('dc1')!.stop();
    const dc2 = await startAgent(config('dc2'), { logger: silentLogger(), catchUpTimeoutMs: 500 });
    try {
      const early = await http(dc2.httpUrl, 'GET', '/v1/agent/connect/ca/leaf/web');
      assert.equal(early.status, 503);
      assert.match(early.text, /cannot sign leaf certificates yet/);
      await nats.servers.get('dc1')!.restart();
      const leaf = await waitFor(
        async () => {
          const r = await http(dc2.httpUrl, 'GET', '/v1/agent/connect/ca/leaf/web');
          return r.status === 200 ? (r.body as { ServiceURI: string }) : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, message: 'dc2 never obtained its intermediate after the WAN returned' },
      );
      assert.match(leaf.ServiceURI, /\/dc\/dc2\/svc\/web$/);
      assert.ok(dc2.view.intermediate('dc2'));
    } finally {
      await dc2.stop();
      await dc1.stop();
      await nats.stop();
    }
  });
});
