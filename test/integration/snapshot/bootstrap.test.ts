import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { makeTempDir } from '../../helpers/temp.js';
import { decodeEvent, EVENTS_STREAM } from '../../../src/events/index.js';
import { createSnapshotStore, encodeSnapshot, listSnapshots, newestSnapshot, openSnapshotStore, putSnapshot, readSnapshot } from '../../../src/snapshot/index.js';
import { openView } from '../../../src/view/index.js';
import { silentLogger } from '../../../src/common/index.js';
import { runCli } from '../../../src/cli/main.js';
import type { AgentFileConfig } from '../../../src/agent/index.js';

/** Writes `n` intentions at the primary. */
async function writeIntentions(cluster: TestCluster, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const res = await http(cluster.agent('dc1').httpUrl, 'PUT', `/v1/connect/intentions/exact?source=web-${i}&destination=db`, { Action: i % 2 ? 'allow' : 'deny' });
    assert.equal(res.status, 200);
  }
}

/** Makes dc2 a brand-new secondary: its agent stopped, its data directory and its mirror gone. */
async function wipeSecondary(cluster: TestCluster, dc: string): Promise<void> {
  const dataDir = cluster.agent(dc).config.dataDir;
  await cluster.stopAgent(dc);
  rmSync(dataDir, { recursive: true, force: true });
  const nc = await cluster.nats.connect(dc);
  try {
    const jsm = await jetstreamManager(nc, { domain: dc });
    await jsm.streams.delete(EVENTS_STREAM);
  } finally {
    await nc.close();
  }
}

const converged = (cluster: TestCluster, dc: string) => () => (cluster.agent(dc).view.appliedSeq() === cluster.agent('dc1').view.appliedSeq() ? true : undefined);

describe('view snapshots', () => {
  let cluster: TestCluster;
  let secondaryConfig: AgentFileConfig = {};
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'], fileConfig: (dc) => (dc === 'dc1' ? { snapshots: { interval_events: 40, retain: 2 } } : secondaryConfig) });
    await writeIntentions(cluster, 0, 130);
    await waitFor(async () => ((await newestSnapshot((await openSnapshotStore(jetstream(cluster.agent('dc1').nc, { domain: 'dc1' })))!))?.seq ?? 0) >= 120 || undefined, { timeoutMs: 10_000 });
  });
  after(async () => {
    await cluster.stop();
  });

  it('the primary stores one every interval, anchored by a SnapshotTaken event, and keeps the newest `retain`', async () => {
    const store = (await openSnapshotStore(jetstream(cluster.agent('dc1').nc, { domain: 'dc1' })))!;
    const all = await listSnapshots(store);
    assert.equal(all.length, 2, 'retain: 2');
    const newest = all[1]!;
    const anchor = await (await jetstreamManager(cluster.agent('dc1').nc, { domain: 'dc1' })).streams.getMessage(EVENTS_STREAM, { seq: newest.anchor });
    const recorded = decodeEvent(anchor!.data);
    assert.equal(recorded.type, 'SnapshotTaken');
    assert.ok(recorded.type === 'SnapshotTaken' && recorded.data.seq === newest.seq && recorded.data.digest === newest.digest && recorded.data.chainHash === newest.chainHash);
    const snap = await readSnapshot(store, newest);
    assert.equal(snap.seq, newest.seq);
    assert.ok(newest.rows > 100, `rows: ${newest.rows}`);
  });

  it('a brand-new secondary starts from the newest snapshot, mirrors only the events after it, and converges to the primary\'s view', async () => {
    await wipeSecondary(cluster, 'dc2');
    const newest = (await newestSnapshot((await openSnapshotStore(jetstream(cluster.agent('dc1').nc, { domain: 'dc1' })))!))!;
    const dc2 = await cluster.startAgentFor('dc2');
    assert.deepEqual(dc2.view.snapshotOrigin(), { seq: newest.seq, digest: newest.digest });
    await writeIntentions(cluster, 1000, 5);
    await waitFor(converged(cluster, 'dc2'));
    const info = await (await jetstreamManager(dc2.nc, { domain: 'dc2' })).streams.info(EVENTS_STREAM);
    assert.equal(info.state.first_seq, newest.seq + 1, 'the mirror holds only the events after the snapshot');
    assert.deepEqual(dc2.view.tableDigests(), cluster.agent('dc1').view.tableDigests(), 'the same tables, byte for byte, as the primary');
    const res = await http(dc2.httpUrl, 'GET', '/v1/connect/intentions/check?source=web-7&destination=db');
    assert.deepEqual(res.body, { Allowed: true });
    assert.equal(dc2.projector.status().halted, false);
  });

  it('at that secondary, point-in-time queries are answered by the primary and audit verify checks the log it holds', async () => {
    const dc2 = cluster.agent('dc2');
    const first = (await (await jetstreamManager(dc2.nc, { domain: 'dc2' })).streams.info(EVENTS_STREAM)).state.first_seq;
    assert.ok(first > 1);
    // Sequence 10 is long before dc2's log starts: dc2 relays the question to dc1, which has it all.
    for (const path of ['/v1/connect/intentions/check?source=web-7&destination=db&at=10', '/v1/connect/intentions?at=60']) {
      const here = await http(dc2.httpUrl, 'GET', path);
      const there = await http(cluster.agent('dc1').httpUrl, 'GET', path);
      assert.equal(here.status, 200, JSON.stringify(here.body));
      assert.deepEqual(here.body, there.body, path);
      assert.equal(here.headers.get('x-consul-index'), there.headers.get('x-consul-index'));
    }
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['audit', 'verify', '-nats-url', cluster.nats.servers.get('dc2')!.url, '-nats-creds', cluster.nats.access.get('dc2')!.reader.file, '-datacenter', 'dc2'], { env: {}, stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
    assert.equal(code, 0, err.join(''));
    assert.match(out.join(''), new RegExp(`Verified \\d+ events of dc2 \\(events ${first}-\\d+: dc2 started from a view snapshot, the log before ${first} is at the primary\\): the hash chain is intact`));
  });

  it('a replay at that secondary starts from the snapshot (the stream has no earlier events) and checks it against the log', async () => {
    const dc2 = cluster.agent('dc2');
    const nats = cluster.nats.servers.get('dc2')!.url;
    const creds = cluster.nats.access.get('dc2')!.reader.file;
    const run = async (args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(['replay', ...args], { env: {}, stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
      return { code, out: out.join(''), err: err.join('') };
    };
    const base = ['-data-dir', dc2.config.dataDir, '-from-datacenter', 'dc2', '-nats-url', nats, '-nats-creds', creds];
    const without = await run([...base, '-out', join(makeTempDir(), 'r')]);
    assert.equal(without.code, 1);
    assert.match(without.err, /holds events from \d+ \(its mirror started from a snapshot\)/);
    const applied = dc2.view.appliedSeq();
    const withSnapshot = await run([...base, '-out', join(makeTempDir(), 'r'), '-snapshot-from', 'dc1', '-to', String(applied)]);
    assert.equal(withSnapshot.code, 0, withSnapshot.err);
    assert.match(withSnapshot.out, /from dc1's snapshot as of \d+ \(checked against its SnapshotTaken record\)/);
  });

  it('a full replay at the primary checks every SnapshotTaken record against the replayed view', async () => {
    const dc1 = cluster.agent('dc1');
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['replay', '-data-dir', dc1.config.dataDir, '-from-datacenter', 'dc1', '-nats-url', cluster.nats.servers.get('dc1')!.url, '-nats-creds', cluster.nats.access.get('dc1')!.reader.file, '-out', join(makeTempDir(), 'r'), '-check-snapshots'], {
      env: {},
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
    });
    assert.equal(code, 0, err.join(''));
    assert.match(out.join(''), /[3-9] snapshot records checked/);
  });

  it('a snapshot that is not the one the log records halts the new secondary before it serves more, and -rebuild from a full mirror recovers', async () => {
    // A forged snapshot: self-consistent (its published digest matches its content) but one row
    // differs from the primary's view, stored in place of the newest.
    const dc1 = cluster.agent('dc1');
    const store = await createSnapshotStore(jetstream(dc1.nc, { domain: 'dc1' }));
    const newest = (await newestSnapshot(store))!;
    const genuine = await readSnapshot(store, newest);
    const forgedView = openView({ path: join(makeTempDir(), 'forged'), logger: silentLogger() });
    await forgedView.loadSnapshot(genuine, { seq: genuine.seq, digest: newest.digest });
    const tables = genuine.tables.map(([t, entries]) => [t, t === 'intentions' ? entries.slice(1) : entries] as const);
    const forged = await encodeSnapshot({ ...genuine, tables });
    await forgedView.close();
    await putSnapshot(store, forged, newest.anchor);

    await wipeSecondary(cluster, 'dc2');
    const dc2 = await cluster.startAgentFor('dc2');
    await waitFor(() => dc2.projector.status().halted || undefined, { timeoutMs: 10_000 });
    assert.match(dc2.projector.status().haltReason ?? '', /the snapshot this view started from \(as of \d+\) has digest .* but the log records/);

    // Put the genuine snapshot back (the primary's next one would replace it too) and rebuild.
    await putSnapshot(store, await encodeSnapshot(genuine), newest.anchor);
    await wipeSecondary(cluster, 'dc2');
    const again = await cluster.startAgentFor('dc2');
    await waitFor(converged(cluster, 'dc2'));
    assert.equal(again.projector.status().halted, false);
    assert.deepEqual(again.view.tableDigests(), dc1.view.tableDigests());
  });

  it('a secondary with full_history mirrors from sequence 1 while its view starts from the snapshot', async () => {
    await wipeSecondary(cluster, 'dc2');
    secondaryConfig = { snapshots: { full_history: true } };
    const dc2 = await cluster.startAgentFor('dc2');
    assert.ok(dc2.view.snapshotOrigin(), 'the view started from the snapshot');
    await waitFor(converged(cluster, 'dc2'));
    await waitFor(async () => ((await (await jetstreamManager(dc2.nc, { domain: 'dc2' })).streams.info(EVENTS_STREAM)).state.last_seq === cluster.agent('dc1').view.appliedSeq()) || undefined);
    const info = await (await jetstreamManager(dc2.nc, { domain: 'dc2' })).streams.info(EVENTS_STREAM);
    assert.equal(info.state.first_seq, 1, 'the whole log is mirrored');
    assert.deepEqual(dc2.view.tableDigests(), cluster.agent('dc1').view.tableDigests());
  });
});
