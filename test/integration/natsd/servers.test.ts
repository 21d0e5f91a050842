import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNats } from '../../helpers/nats.js';
import { waitFor } from '../../helpers/wait.js';
import { waitForLeafnodes } from '../../../src/natsd/index.js';

describe('per-datacenter nats-servers (hub and leafnodes)', () => {
  it('mirrors the primary stream into each leaf\'s own domain and carries request/reply across the link', async () => {
    const nats = await startNats({ datacenters: ['dc1', 'dc2', 'dc3'] });
    try {
      // As the agents: the primary's stream, a secondary's mirror of it, RPC under the caller's name.
      const nc1 = await nats.connect('dc1');
      const nc3 = await nats.connect('dc3');
      await (await jetstreamManager(nc1, { domain: 'dc1' })).streams.add({ name: 'TRELLIS_EVENTS', subjects: ['trellis.events.>'] });
      const jsm3 = await jetstreamManager(nc3, { domain: 'dc3' });
      await jsm3.streams.add({ name: 'TRELLIS_EVENTS', mirror: { name: 'TRELLIS_EVENTS', external: { api: '$JS.dc1.API', deliver: '' } } });
      for (let i = 0; i < 3; i++) await jetstream(nc1, { domain: 'dc1' }).publish('trellis.events.x', `m${i}`);
      await waitFor(async () => (await jsm3.streams.info('TRELLIS_EVENTS')).state.last_seq === 3);
      nc1.subscribe('trellis.rpc.dc1.wan.ping.*', { callback: (_e, m) => void m.respond('pong') });
      await nc1.flush();
      const answer = await waitFor(async () => (await nc3.request('trellis.rpc.dc1.wan.ping.dc3', '', { timeout: 500 })).string());
      assert.equal(answer, 'pong');
      await nc1.close();
      await nc3.close();
    } finally {
      await nats.stop();
    }
  });

  it('a paused hub stops answering; resumed, it answers; restarted, the leaves reconnect', async () => {
    const nats = await startNats({ datacenters: ['dc1', 'dc2'] });
    const hub = nats.servers.get('dc1')!;
    const nc1 = await nats.connect('dc1', 'agent', { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const nc2 = await nats.connect('dc2');
    const ping = 'trellis.rpc.dc1.wan.ping.dc2';
    try {
      nc1.subscribe('trellis.rpc.dc1.wan.ping.*', { callback: (_e, m) => void m.respond('pong') });
      await nc1.flush();
      await waitFor(async () => (await nc2.request(ping, '', { timeout: 500 })).string() === 'pong');
      hub.pause();
      await assert.rejects(nc2.request(ping, '', { timeout: 300 }));
      hub.resume();
      await waitFor(async () => (await nc2.request(ping, '', { timeout: 500 })).string() === 'pong');
      await hub.stop();
      assert.equal(hub.running(), false);
      await hub.restart();
      await waitForLeafnodes(hub.monitorUrl, 1, 20_000);
    } finally {
      await nc1.close();
      await nc2.close();
      await nats.stop();
    }
    for (const s of nats.servers.values()) assert.equal(s.running(), false, `${s.name} stopped`);
  });
});
