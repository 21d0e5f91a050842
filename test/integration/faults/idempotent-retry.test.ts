import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

type FeedEvent = { seq: number; type: string; origin?: { dc: string; req: string } };

/**
 * Fault "lost acknowledgement": a client whose answer was lost retries with the same X-Request-ID
 * (at the primary, or through a secondary whose forward timed out). The write must be applied once.
 */
describe('fault: lost acknowledgement, retried with the same X-Request-ID', () => {
  let cluster: TestCluster;
  const url = (dc: string) => cluster.agent(dc).httpUrl;
  const eventsFor = async (req: string) =>
    ((await http(url('dc1'), 'GET', '/v1/trellis/events?from=1&limit=10000')).body as FeedEvent[]).filter((e) => e.origin?.req === req);

  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
  });
  after(async () => {
    await cluster.stop();
  });

  it('a retried upsert at the primary appends one event and answers 200 both times', async () => {
    const headers = { 'X-Request-ID': 'retry-upsert-1' };
    for (let i = 0; i < 3; i++) assert.equal((await http(url('dc1'), 'PUT', '/v1/connect/intentions/exact?source=r1&destination=db', { Action: 'deny' }, { headers })).status, 200);
    assert.equal((await eventsFor('retry-upsert-1')).length, 1);
  });

  it('a retried create answers the same ID, not 409 duplicate', async () => {
    const headers = { 'X-Request-ID': 'retry-create-1' };
    const body = { SourceName: 'r2', DestinationName: 'db', Action: 'allow' };
    const first = await http(url('dc1'), 'POST', '/v1/connect/intentions', body, { headers });
    const again = await http(url('dc1'), 'POST', '/v1/connect/intentions', body, { headers });
    assert.equal(first.status, 200, first.text);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.body, first.body);
    assert.equal((await eventsFor('retry-create-1')).length, 1);
    // A different request for the same pair is still Consul's duplicate.
    assert.equal((await http(url('dc1'), 'POST', '/v1/connect/intentions', body)).status, 409);
  });

  it('a write forwarded from a secondary and retried there is applied once', async () => {
    const headers = { 'X-Request-ID': 'retry-forwarded-1' };
    for (let i = 0; i < 3; i++) assert.equal((await http(url('dc2'), 'PUT', '/v1/connect/intentions/exact?source=r3&destination=db', { Action: 'allow' }, { headers })).status, 200);
    const events = await eventsFor('retry-forwarded-1');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.origin?.dc, 'dc2');
    await waitFor(async () => (await http(url('dc2'), 'GET', '/v1/connect/intentions/exact?source=r3&destination=db')).status === 200);
  });

  it('after the primary agent restarts (the view forgot recent request ids), JetStream\'s duplicate window still catches the retry', async () => {
    const headers = { 'X-Request-ID': 'retry-after-restart-1' };
    assert.equal((await http(url('dc1'), 'PUT', '/v1/connect/intentions/exact?source=r4&destination=db', { Action: 'deny' }, { headers })).status, 200);
    await cluster.restartAgent('dc1');
    // A body that would change something, so the retry really reaches the stream: the server drops it.
    const again = await http(url('dc1'), 'PUT', '/v1/connect/intentions/exact?source=r4&destination=db', { Action: 'allow' }, { headers });
    assert.equal(again.status, 200, again.text);
    assert.equal((await eventsFor('retry-after-restart-1')).length, 1);
    const stored = (await http(url('dc1'), 'GET', '/v1/connect/intentions/exact?source=r4&destination=db')).body as { Action: string };
    assert.equal(stored.Action, 'deny', 'the first outcome stands');
    // And the writer is healthy afterwards.
    assert.equal((await http(url('dc1'), 'PUT', '/v1/connect/intentions/exact?source=r5&destination=db', { Action: 'deny' })).status, 200);
  });
});
