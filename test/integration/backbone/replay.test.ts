import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { makeTempDir } from '../../helpers/temp.js';
import { runCli } from '../../../src/cli/main.js';
import { firstDifference } from '../../../src/audit/index.js';

describe('trellis replay', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
    for (let i = 0; i < 30; i++) await http(cluster.agent('dc1').httpUrl, 'PUT', `/v1/connect/intentions/exact?source=s${i}&destination=db`, { Action: i % 2 ? 'allow' : 'deny' });
    await http(cluster.agent('dc1').httpUrl, 'DELETE', '/v1/connect/intentions/exact?source=s3&destination=db');
    await waitFor(() => cluster.agent('dc2').view.appliedSeq() === cluster.agent('dc1').view.appliedSeq() || undefined);
  });
  after(async () => {
    await cluster.stop();
  });

  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['replay', ...args], { env: {}, stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
    return { code, out: out.join(''), err: err.join('') };
  };

  it('rebuilds dc2\'s view from its mirror and verifies the (stopped) agent\'s live view equals it; -to stops early', async () => {
    const applied = cluster.agent('dc2').view.appliedSeq();
    const dataDir = cluster.agent('dc2').config.dataDir;
    await cluster.stopAgent('dc2');
    const nats = cluster.nats.servers.get('dc2')!.url;
    const creds = cluster.nats.access.get('dc2')!.reader.file;
    const full = await run(['-data-dir', dataDir, '-from-datacenter', 'dc2', '-nats-url', nats, '-nats-creds', creds, '-out', join(makeTempDir(), 'r1'), '-verify']);
    assert.equal(full.code, 0, full.err);
    assert.match(full.out, new RegExp(`Replayed ${applied} events of dc2 into .* events/s\\); hash chain verified`));
    assert.match(full.out, new RegExp(`Verified: the live view's tables equal the replay's at event ${applied}`));
    assert.match(full.err, new RegExp(`replayed ${applied}/${applied} events \\(\\d+ events/s, ETA 0s\\)`), 'plain progress lines when not a terminal');

    const partial = await run(['-data-dir', dataDir, '-from-datacenter', 'dc2', '-nats-url', nats, '-nats-creds', creds, '-out', join(makeTempDir(), 'r2'), '-to', '10']);
    assert.equal(partial.code, 0, partial.err);
    assert.match(partial.out, /^Replayed 10 events/);
    const mismatch = await run(['-data-dir', dataDir, '-from-datacenter', 'dc2', '-nats-url', nats, '-nats-creds', creds, '-out', join(makeTempDir(), 'r3'), '-to', '10', '-verify']);
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.err, new RegExp(`the live view is at event ${applied}, the replay at 10`));
    assert.equal((await run(['-from-datacenter', 'dc2'])).code, 1, 'a data directory is required');
    await cluster.startAgentFor('dc2');
  });

  it('names the first differing key', () => {
    const row = (table: string, key: string, value: string) => ({ table, key, value: Buffer.from(value) });
    assert.equal(firstDifference([row('intentions', 'a', 'x')], [row('intentions', 'a', 'x')]), undefined);
    assert.equal(firstDifference([row('intentions', 'a', 'x'), row('intentions', 'b', 'y')], [row('intentions', 'a', 'x'), row('intentions', 'b', 'z')]), 'intentions/b (different value)');
    assert.equal(firstDifference([row('intentions', 'a', 'x')], []), 'intentions/a (missing from the live view)');
  });
});
