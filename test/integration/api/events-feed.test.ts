import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

interface FeedEvent {
  seq: number;
  time: string;
  type: string;
  by: string;
  data: Record<string, unknown>;
}

/** Reads Server-Sent Events until `count` events arrived; returns them with their ids. */
async function readSse(url: string, count: number, headers: Record<string, string> = {}): Promise<Array<{ id: number; event: string; data: FeedEvent }>> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const out: Array<{ id: number; event: string; data: FeedEvent }> = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const timer = setTimeout(() => controller.abort(), 15_000);
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':') && l.includes(': ')).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
        if (fields.id && fields.data) out.push({ id: Number(fields.id), event: fields.event ?? '', data: JSON.parse(fields.data) as FeedEvent });
      }
      if (out.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return out.slice(0, count);
}

describe('the HTTP event feed (long poll and Server-Sent Events)', () => {
  let cluster: TestCluster;
  const url = (dc: string) => cluster.agent(dc).httpUrl;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
    await http(url('dc1'), 'PUT', '/v1/connect/intentions/exact?source=web&destination=db', { Action: 'allow' });
    await waitFor(async () => ((await http(url('dc2'), 'GET', '/v1/connect/intentions')).body as unknown[]).length === 1 || undefined);
  });
  after(async () => {
    await cluster.stop();
  });

  it('answers the log from a sequence at a secondary, typed and decoded, with X-Consul-Index', async () => {
    const res = await http(url('dc2'), 'GET', '/v1/trellis/events?from=1');
    assert.equal(res.status, 200);
    const list = res.body as FeedEvent[];
    assert.equal(list[0]?.seq, 1);
    assert.equal(list[0]?.type, 'LogStarted');
    assert.deepEqual(list.map((e) => e.seq), list.map((_, i) => i + 1), 'contiguous from 1');
    assert.ok(list.some((e) => e.type === 'CARootCreated'));
    const created = list.find((e) => e.type === 'IntentionCreated');
    assert.equal((created?.data.intention as { SourceName: string }).SourceName, 'web');
    assert.match(created?.time ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.equal(Number(res.headers.get('X-Consul-Index')), list[list.length - 1]?.seq);
    const limited = (await http(url('dc2'), 'GET', '/v1/trellis/events?from=2&limit=1')).body as FeedEvent[];
    assert.deepEqual(limited.map((e) => e.seq), [2]);
    for (const bad of ['from=0', 'from=x', 'limit=-1']) {
      const r = await http(url('dc2'), 'GET', `/v1/trellis/events?${bad}`);
      assert.equal(r.status, 400, bad);
    }
  });

  it('records who wrote, from which datacenter and address, under which request id', async () => {
    const head = Number((await http(url('dc2'), 'GET', '/v1/trellis/events?from=1')).headers.get('X-Consul-Index'));
    await http(url('dc2'), 'PUT', '/v1/connect/intentions/exact?source=audited&destination=db', { Action: 'deny' }, { headers: { 'X-Request-ID': 'change-4711', 'X-Consul-Token': 's3cr3t' } });
    const [event] = (await http(url('dc1'), 'GET', `/v1/trellis/events?from=${head + 1}&wait=10s`)).body as Array<FeedEvent & { origin: unknown }>;
    assert.equal(event?.by, 'anonymous@dc2', 'with ACLs off the actor is anonymous (a token\'s AccessorID with ACLs on), never the secret, with the forwarding datacenter');
    assert.deepEqual(event?.origin, { dc: 'dc2', addr: '127.0.0.1', req: 'change-4711' });
    assert.ok(!JSON.stringify(event).includes('s3cr3t'));
  });

  it('a long poll past the end waits for the next event and returns it', async () => {
    const head = Number((await http(url('dc2'), 'GET', '/v1/trellis/events?from=1')).headers.get('X-Consul-Index'));
    const polling = http(url('dc2'), 'GET', `/v1/trellis/events?from=${head + 1}&wait=30s`);
    await http(url('dc1'), 'PUT', '/v1/connect/intentions/exact?source=api&destination=db', { Action: 'deny' });
    const res = await polling;
    const list = res.body as FeedEvent[];
    assert.equal(list[0]?.seq, head + 1);
    assert.equal(list[0]?.type, 'IntentionCreated');
    const idle = await http(url('dc2'), 'GET', `/v1/trellis/events?from=${head + 100}&wait=100ms`);
    assert.deepEqual(idle.body, []);
  });

  it('streams Server-Sent Events with id = sequence, and Last-Event-ID resumes after it', async () => {
    const first = await readSse(`${url('dc2')}/v1/trellis/events/stream?from=1`, 3);
    assert.deepEqual(first.map((e) => e.id), [1, 2, 3]);
    assert.equal(first[0]?.event, 'LogStarted');
    assert.equal(first[0]?.data.seq, 1);
    const resumed = await readSse(`${url('dc2')}/v1/trellis/events/stream?from=1`, 1, { 'Last-Event-ID': '3' });
    assert.equal(resumed[0]?.id, 4);
    // A live stream delivers an event written after it started.
    const head = Number((await http(url('dc2'), 'GET', '/v1/trellis/events?from=1')).headers.get('X-Consul-Index'));
    const live = readSse(`${url('dc2')}/v1/trellis/events/stream?from=${head + 1}`, 1);
    await new Promise((r) => setTimeout(r, 200));
    await http(url('dc1'), 'PUT', '/v1/connect/intentions/exact?source=live&destination=db', { Action: 'allow' });
    const [event] = await live;
    assert.deepEqual([event?.id, event?.event], [head + 1, 'IntentionCreated']);
  });
});
