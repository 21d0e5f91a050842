import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNats, type TestNats } from '../../helpers/nats.js';
import { makeTempDir } from '../../helpers/temp.js';
import { http } from '../../helpers/cluster.js';
import { resolveAgentConfig, startAgent, type Agent } from '../../../src/agent/index.js';
import { createEventLog } from '../../../src/log/index.js';
import { isTrellisError, silentLogger } from '../../../src/common/index.js';
import { SCHEMA_VERSION, type TrellisEvent } from '../../../src/events/index.js';

describe('event log and single writer', () => {
  let nats: TestNats;
  let nc: NatsConnection;

  before(async () => {
    nats = await startNats({ datacenters: ['dc1'] });
    nc = await nats.connect('dc1');
  });
  after(async () => {
    await nc.close();
    await nats.stop();
  });

  const config = (dir: string) =>
    resolveAgentConfig([], { datacenter: 'dc1', data_dir: dir, ports: { http: 0, dns: 0 }, nats: { url: nats.servers.get('dc1')!.url, credentials_file: nats.access.get('dc1')!.agent.file } });

  it('an existing stream with an incompatible configuration is a clear start-up error, and is left unchanged', async () => {
    const jsm = await jetstreamManager(nc, { domain: 'dc1' });
    await jsm.streams.add({ name: 'TRELLIS_EVENTS', subjects: ['trellis.events.>'], max_age: 3_600_000_000_000 });
    try {
      await assert.rejects(
        startAgent(config(makeTempDir()), { logger: silentLogger() }),
        (err) => isTrellisError(err, 'E_STREAM_INCOMPATIBLE') && /stream TRELLIS_EVENTS exists with an incompatible configuration: max_age \(want 0, have 3600000000000\)/.test(err.message),
      );
      assert.equal((await jsm.streams.info('TRELLIS_EVENTS')).config.max_age, 3_600_000_000_000, 'trellis did not change it');
    } finally {
      await jsm.streams.delete('TRELLIS_EVENTS');
    }
  });

  it('an agent pointed at a nats-server without its JetStream domain says what to configure', async () => {
    const wrong = resolveAgentConfig([], { datacenter: 'dc9', data_dir: makeTempDir(), ports: { http: 0, dns: 0 }, nats: { url: nats.servers.get('dc1')!.url, credentials_file: nats.access.get('dc1')!.agent.file } });
    await assert.rejects(
      startAgent(wrong, { logger: silentLogger() }),
      (err) => isTrellisError(err, 'E_CONFIG') && /JetStream domain dc9 is not served at nats:\/\/127\.0\.0\.1:\d+ .*needs `jetstream \{ domain: dc9 \}`/.test(err.message),
    );
  });

  it('a pipelined append is refused when a foreign event took the sequence it expected to follow', async () => {
    const jsm = await jetstreamManager(nc, { domain: 'dc1' });
    await jsm.streams.add({ name: 'PIPE', subjects: ['trellis.events.pipe.>'] });
    const log = createEventLog({ nc, jsm, stream: 'PIPE' });
    try {
      const bytes = new Uint8Array([1]);
      const mine = await log.appendRaw('trellis.events.pipe.a', bytes, { expectedLastSeq: 0, msgId: 'mine-1' });
      assert.equal(mine.seq, 1);
      // Someone else appends seq 2; our next append was decided on top of mine-1 and expects seq 2
      // to follow it: the sequence alone would accept it, the last message id does not.
      await log.appendRaw('trellis.events.pipe.b', bytes, { expectedLastSeq: 1, msgId: 'foreign' });
      await assert.rejects(
        log.appendRaw('trellis.events.pipe.a', bytes, { expectedLastSeq: 2, expectedLastMsgId: 'mine-1', msgId: 'mine-2' }),
        (err) => isTrellisError(err, 'E_CONFLICT') && /wrong last msg ID/i.test(err.message),
      );
      assert.equal((await jsm.streams.info('PIPE')).state.last_seq, 2, 'nothing was stored');
      const ok = await log.appendRaw('trellis.events.pipe.a', bytes, { expectedLastSeq: 2, expectedLastMsgId: 'foreign', msgId: 'mine-2' });
      assert.equal(ok.seq, 3);
    } finally {
      log.close();
      await jsm.streams.delete('PIPE');
    }
  });

  describe('with a running primary', () => {
    let agent: Agent;
    before(async () => {
      agent = await startAgent(config(join(makeTempDir(), 'dc1')), { logger: silentLogger() });
    });
    after(async () => {
      await agent.stop();
    });

    it('starting on a new stream appends the genesis event at sequence 1 and the CA root at 2, once', async () => {
      assert.equal(agent.view.appliedSeq(), 2);
      assert.equal(agent.view.tableIndex('intentions'), 0, 'the genesis changes no table');
      assert.equal(agent.view.tableIndex('ca_roots'), 2);
      // A restart on the same stream (same data directory) appends neither again.
      const dir = agent.config.dataDir;
      const root = agent.view.caState()?.ActiveRootID;
      await agent.stop();
      agent = await startAgent(config(dir), { logger: silentLogger() });
      assert.equal(agent.view.appliedSeq(), 2);
      assert.equal(agent.view.caState()?.ActiveRootID, root);
      const jsm = await jetstreamManager(nc, { domain: 'dc1' });
      const first = await jsm.streams.getMessage('TRELLIS_EVENTS', { seq: 1 });
      assert.equal(first?.subject, 'trellis.events.log.started');
    });

    it('a write that lost the race to another appender catches up, decides again and is refused as a duplicate', async () => {
      // The writer has written before, so it holds an expected sequence of its own…
      assert.equal((await http(agent.httpUrl, 'PUT', '/v1/connect/intentions/exact?source=warm&destination=db', { Action: 'allow' })).status, 200);
      // …when another appender (a second writer, an operator tool) appends around it.
      const log = createEventLog({ nc, jsm: await jetstreamManager(nc, { domain: 'dc1' }) });
      const last = await log.lastSeq();
      const foreign: TrellisEvent = {
        v: SCHEMA_VERSION,
        type: 'IntentionCreated',
        at: Date.now(),
        by: 'other-writer',
        data: {
          intention: {
            ID: '00000000-0000-4000-8000-0000000000ff',
            SourceNS: 'default',
            SourceName: 'race',
            DestinationNS: 'default',
            DestinationName: 'db',
            SourceType: 'consul',
            Action: 'deny',
            Description: '',
            Meta: {},
            Precedence: 9,
            CreatedAt: Date.now(),
            UpdatedAt: Date.now(),
          },
        },
      };
      // Freeze the agent's projector view of the world: append, and immediately write the same pair
      // through the API. The writer's expected sequence is stale; JetStream refuses its append.
      const foreignAck = await log.appendChained(foreign);
      assert.equal(foreignAck.seq, last + 1);
      const res = await http(agent.httpUrl, 'POST', '/v1/connect/intentions', { SourceName: 'race', DestinationName: 'db', Action: 'allow' });
      assert.equal(res.status, 409, res.text);
      assert.match(res.text, /duplicate intention found: DENY default\/race => default\/db \(ID: 00000000-0000-4000-8000-0000000000ff\)/);
      // And a write that does not conflict succeeds after the resync.
      const ok = await http(agent.httpUrl, 'PUT', '/v1/connect/intentions/exact?source=race2&destination=db', { Action: 'allow' });
      assert.equal(ok.status, 200, ok.text);
      const metrics = await http(agent.httpUrl, 'GET', '/v1/agent/metrics?format=prometheus');
      assert.match(metrics.text, /trellis_writer_conflicts_total\{datacenter="dc1"\} [1-9]/);
      log.close();
    });

    it('concurrent writes to the same pair: exactly one creates, the others are duplicates, nothing is lost', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          http(agent.httpUrl, 'POST', '/v1/connect/intentions', { SourceName: 'same', DestinationName: 'db', Action: i % 2 ? 'allow' : 'deny' }),
        ),
      );
      assert.equal(results.filter((r) => r.status === 200).length, 1);
      assert.equal(results.filter((r) => r.status === 409).length, 19);
      const many = await Promise.all(
        Array.from({ length: 50 }, (_, i) => http(agent.httpUrl, 'PUT', `/v1/connect/intentions/exact?source=bulk${i}&destination=db`, { Action: 'allow' })),
      );
      assert.ok(many.every((r) => r.status === 200));
      const list = (await http(agent.httpUrl, 'GET', '/v1/connect/intentions')).body as Array<{ SourceName: string }>;
      for (let i = 0; i < 50; i++) assert.ok(list.some((x) => x.SourceName === `bulk${i}`), `bulk${i} was acknowledged and is there`);
    });
  });
});
