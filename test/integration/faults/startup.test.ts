import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { open } from 'lmdb';
import { startNats, type TestNats } from '../../helpers/nats.js';
import { makeTempDir } from '../../helpers/temp.js';
import { http } from '../../helpers/cluster.js';
import { silentLogger, isTrellisError } from '../../../src/common/index.js';
import { resolveAgentConfig, startAgent, type Agent } from '../../../src/agent/index.js';

/** Start-up faults: NATS not there yet; a view written by another layout version. */
describe('fault: start-up against a missing nats-server or a view of another layout', () => {
  let nats: TestNats;
  const agents: Agent[] = [];
  before(async () => {
    nats = await startNats({ datacenters: ['dc1'] });
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await nats.stop();
  });
  const config = (dir: string) =>
    resolveAgentConfig([], { datacenter: 'dc1', data_dir: dir, ports: { http: 0, dns: -1 }, nats: { url: nats.servers.get('dc1')!.url, credentials_file: nats.access.get('dc1')!.agent.file } });

  it('an agent started before its nats-server waits for it (instead of exiting) and comes up when it appears', async () => {
    const server = nats.servers.get('dc1')!;
    await server.stop();
    const starting = startAgent(config(makeTempDir('trellis-wait-')), { logger: silentLogger() });
    let settled = false;
    void starting.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(settled, false, 'still waiting, not failed');
    await server.restart();
    const agent = await starting;
    agents.push(agent);
    assert.equal((await http(agent.httpUrl, 'PUT', '/v1/connect/intentions/exact?source=a&destination=b', { Action: 'allow' })).status, 200);
  });

  it('a view of another layout version is a clear error naming -rebuild; with rebuild the view is replayed from the log', async () => {
    const dir = makeTempDir('trellis-rebuild-');
    const first = await startAgent(config(dir), { logger: silentLogger() });
    assert.equal((await http(first.httpUrl, 'PUT', '/v1/connect/intentions/exact?source=kept&destination=db', { Action: 'deny' })).status, 200);
    const applied = first.view.appliedSeq();
    await first.stop();
    // A view from a future build: its layout version is not this build's.
    const env = open({ path: join(dir, 'view'), encoding: 'binary' });
    await env.openDB({ name: 'meta', encoding: 'ordered-binary' }).put('schema', 99);
    await env.close();
    await assert.rejects(startAgent(config(dir), { logger: silentLogger() }), (err) => isTrellisError(err, 'E_SCHEMA') && /layout version 99.*-rebuild/.test(err.message));
    const rebuilt = await startAgent(config(dir), { logger: silentLogger(), rebuild: true });
    agents.push(rebuilt);
    assert.ok(rebuilt.view.appliedSeq() >= applied);
    const kept = (await http(rebuilt.httpUrl, 'GET', '/v1/connect/intentions/exact?source=kept&destination=db')).body as { Action: string };
    assert.equal(kept.Action, 'deny');
  });
});
