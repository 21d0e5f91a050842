import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { makeTempDir } from '../../helpers/temp.js';
import { createEventLog } from '../../../src/log/index.js';
import { createProjector } from '../../../src/projector/index.js';
import { openView } from '../../../src/view/index.js';
import { silentLogger } from '../../../src/common/index.js';
import { chainEvent, decodeEvent, eventHash, GENESIS_PREV, type TrellisEvent } from '../../../src/events/index.js';
import { runCli } from '../../../src/cli/main.js';

describe('the hash chain of the event log', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
    for (const s of ['a', 'b', 'c']) await http(cluster.agent('dc1').httpUrl, 'PUT', `/v1/connect/intentions/exact?source=${s}&destination=db`, { Action: 'allow' });
  });
  after(async () => {
    await cluster.stop();
  });

  it('links every event to the bytes of the one before it, from the genesis event on, in the primary stream and the mirror alike', async () => {
    for (const dc of ['dc1', 'dc2']) {
      await waitFor(() => cluster.agent(dc).view.appliedSeq() >= 5 || undefined);
      const jsm = await jetstreamManager(cluster.agent(dc).nc, { domain: dc });
      const last = (await jsm.streams.info('TRELLIS_EVENTS')).state.last_seq;
      let prev = GENESIS_PREV;
      for (let seq = 1; seq <= last; seq++) {
        const m = await jsm.streams.getMessage('TRELLIS_EVENTS', { seq });
        const event = decodeEvent(m!.data);
        assert.equal(event.prev, prev, `${dc} event ${seq}`);
        prev = eventHash(m!.data);
      }
    }
  });

  it('trellis audit verify reports the verified count and head hash; audit log prints the trail, filtered, as a table or JSON lines', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { env: {}, stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) };
    const nats = cluster.nats.servers.get('dc2')!.url;
    const creds = cluster.nats.access.get('dc2')!.reader.file;
    assert.equal(await runCli(['audit', 'verify', '-nats-url', nats, '-nats-creds', creds, '-datacenter', 'dc2'], io), 0, err.join(''));
    assert.match(out.join(''), /^Verified \d+ events of dc2: the hash chain is intact\. Head: [0-9a-f]{64}\n$/);
    out.length = 0;
    assert.equal(await runCli(['audit', 'log', '-nats-url', nats, '-nats-creds', creds, '-datacenter', 'dc2', '-service', 'b', '-json'], io), 0, err.join(''));
    const lines = out.join('').trim().split('\n').map((l) => JSON.parse(l) as { type: string; summary: string; seq: number });
    assert.deepEqual(lines.map((l) => l.type), ['IntentionCreated']);
    assert.match(lines[0]?.summary ?? '', /^b => db allow/);
    out.length = 0;
    assert.equal(await runCli(['audit', 'log', '-nats-url', nats, '-nats-creds', creds, '-datacenter', 'dc2', '-type', 'LogStarted'], io), 0);
    assert.match(out.join(''), /^Seq\s+Time\s+Type\s+By\s+Summary\n1\s+\S+\s+LogStarted\s+agent:dc1\s+primary dc1\n$/);
    assert.equal(await runCli(['audit', 'log', '-nats-url', nats, '-nats-creds', creds, '-since', 'yesterday'], io), 1);
    assert.match(err.join(''), /-since must be an RFC 3339 time/);
  });

  it('a projector halts at an event that does not link to its predecessor and applies nothing from there; a fresh replay stops at the same event', async () => {
    const nc = cluster.agent('dc1').nc;
    const log = createEventLog({ nc, jsm: await jetstreamManager(nc, { domain: 'dc1' }) });
    const last = await log.lastSeq();
    // A well-formed event whose link was forged (as an attacker editing the stream would have to).
    const forged: TrellisEvent = { v: 1, type: 'IntentionDeleted', at: Date.now(), by: 'mallory', data: { id: '00000000-0000-4000-8000-000000000001' } };
    await log.appendRaw('trellis.events.intention.forged', chainEvent(forged, 'f'.repeat(64)).bytes, { expectedLastSeq: last });
    const status = await waitFor(async () => {
      const s = (await http(cluster.agent('dc2').httpUrl, 'GET', '/v1/trellis/replication')).body as { Halted: boolean; HaltReason: string };
      return s.Halted ? s : undefined;
    });
    assert.match(status.HaltReason, new RegExp(`hash chain broken at event ${last + 1}`));
    assert.equal(cluster.agent('dc2').view.appliedSeq(), last);

    // A fresh projector replaying from sequence 1 verifies every link and stops at the same event.
    const fresh = openView({ path: join(makeTempDir(), 'fresh'), logger: silentLogger() });
    const projector = createProjector({ js: jetstream(nc, { domain: 'dc1' }), view: fresh, logger: silentLogger() });
    projector.start();
    await waitFor(() => projector.status().halted || undefined);
    assert.equal(fresh.appliedSeq(), last, 'everything up to the forged event verified and applied');
    await projector.stop();
    await fresh.close();
  });

  it('trellis audit verify names the first broken link and exits 1', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['audit', 'verify', '-nats-url', cluster.nats.servers.get('dc1')!.url, '-nats-creds', cluster.nats.access.get('dc1')!.reader.file, '-datacenter', 'dc1'], { env: {}, stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
    assert.equal(code, 1);
    assert.match(err.join(''), /Hash chain of dc1 broken at event \d+: hash chain broken at event \d+: it links to ffffffffffffffff…/);
  });
});
