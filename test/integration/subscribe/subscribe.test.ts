import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream } from '@nats-io/jetstream';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { subscribe, type SubscribedEvent } from '../../../src/subscribe/index.js';
import { isTrellisError } from '../../../src/common/index.js';

describe('the subscriber SDK (trellis/subscribe)', () => {
  let cluster: TestCluster;
  const url = (dc: string) => cluster.agent(dc).httpUrl;
  const servers = (dc: string) => cluster.nats.servers.get(dc)!.url;
  const reader = (dc: string) => cluster.nats.access.get(dc)!.reader.file;
  const write = (source: string, action = 'allow') => http(url('dc1'), 'PUT', `/v1/connect/intentions/exact?source=${source}&destination=db`, { Action: action });

  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
    await write('a');
    await write('b');
  });
  after(async () => {
    await cluster.stop();
  });

  it('delivers typed, decoded events in order from the start of a secondary\'s mirror, and resumes by name after a restart', async () => {
    const seen: SubscribedEvent[] = [];
    const first = await subscribe({ servers: servers('dc2'), credentials: reader('dc2'), datacenter: 'dc2', name: 'audit', from: 'start' }, (e) => {
      seen.push(e);
    });
    await waitFor(() => seen.some((e) => e.type === 'IntentionCreated' && (e.data as { intention: { SourceName: string } }).intention.SourceName === 'b') || undefined);
    assert.equal(seen[0]?.seq, 1);
    assert.equal(seen[0]?.type, 'LogStarted');
    assert.deepEqual(seen.map((e) => e.seq), seen.map((_, i) => i + 1));
    assert.ok(seen.every((e) => e.time instanceof Date && e.event.type === e.type));
    await first.stop();
    const last = seen[seen.length - 1]!.seq;

    await write('c');
    const resumed: SubscribedEvent[] = [];
    const second = await subscribe({ servers: servers('dc2'), credentials: reader('dc2'), datacenter: 'dc2', name: 'audit', from: 'start' }, (e) => {
      resumed.push(e);
    });
    await waitFor(() => resumed.length > 0 || undefined);
    assert.equal(resumed[0]?.seq, last + 1, 'a durable subscriber resumes after its last acknowledged event');
    await second.stop();
  });

  it('filters by type, starts at a sequence, and redelivers an event whose handler failed (at least once)', async () => {
    const got: number[] = [];
    let failures = 0;
    const sub = await subscribe({ servers: servers('dc1'), credentials: reader('dc1'), datacenter: 'dc1', name: 'intentions-only', from: 2, types: ['IntentionCreated'] }, (e) => {
      if (failures === 0) {
        failures++;
        throw new Error('handler hiccup');
      }
      got.push(e.seq);
    });
    await waitFor(() => got.length >= 3 || undefined, { timeoutMs: 10_000 });
    const types = await Promise.all(got.map(async (seq) => ((await http(url('dc1'), 'GET', `/v1/trellis/events?from=${seq}&limit=1`)).body as Array<{ type: string }>)[0]?.type));
    assert.ok(types.every((t) => t === 'IntentionCreated'));
    assert.equal(failures, 1);
    assert.deepEqual(got, [...got].sort((x, y) => x - y));
    await sub.stop();
  });

  it('refuses bad options clearly, and stops with a clear error at an event it cannot decode instead of skipping it', async () => {
    await assert.rejects(subscribe({ servers: servers('dc1'), credentials: reader('dc1'), datacenter: 'dc1', name: 'bad name!' }, () => undefined), (err) => isTrellisError(err, 'E_VALIDATION') && /name/.test(err.message));
    await assert.rejects(subscribe({ servers: servers('dc1'), credentials: reader('dc1'), datacenter: 'nope', name: 'x' }, () => undefined), (err) => isTrellisError(err, 'E_UNAVAILABLE'));

    const seen: number[] = [];
    const sub = await subscribe({ servers: servers('dc1'), credentials: reader('dc1'), datacenter: 'dc1', name: 'strict', from: 'new' }, (e) => {
      seen.push(e.seq);
    });
    // Garbage appended straight to the stream, bypassing the writer (the projector halts on it too).
    const nc = await cluster.nats.connect('dc1');
    const ack = await jetstream(nc, { domain: 'dc1' }).publish('trellis.events.garbage', new Uint8Array([0xc1, 0x00]));
    await nc.close();
    await assert.rejects(sub.done, (err) => isTrellisError(err, 'E_DECODE') && new RegExp(`event ${ack.seq} of TRELLIS_EVENTS cannot be decoded`).test(err.message));
    assert.deepEqual(seen, []);
  });
});
