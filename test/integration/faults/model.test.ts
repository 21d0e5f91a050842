import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

/** The model: what the intentions of one run's names should be, pair → action. */
type Model = Map<string, 'allow' | 'deny'>;
interface Real {
  cluster: TestCluster;
  prefix: string;
}

const numRuns = Number(process.env.MODEL_RUNS ?? Math.max(5, Math.round(Number(process.env.FUZZ_RUNS ?? 300) / 60)));

/** The run's intentions as a datacenter's view has them. */
async function actual(r: Real, dc: string): Promise<Model> {
  const list = (await http(r.cluster.agent(dc).httpUrl, 'GET', '/v1/connect/intentions')).body as Array<{ SourceName: string; DestinationName: string; Action: 'allow' | 'deny' }>;
  return new Map(list.filter((i) => i.SourceName.startsWith(r.prefix)).map((i) => [`${i.SourceName}>${i.DestinationName}`, i.Action]));
}

const trace = (c: { toString(): string }) => {
  if (process.env.MODEL_DEBUG) process.stderr.write(`  ${c.toString()}\n`);
};

const sorted = (m: Model) => [...m].sort(([a], [b]) => a.localeCompare(b));

class Create implements fc.AsyncCommand<Model, Real> {
  constructor(readonly dc: string, readonly src: string, readonly dst: string, readonly action: 'allow' | 'deny') {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    trace(this);
    const res = await http(r.cluster.agent(this.dc).httpUrl, 'POST', '/v1/connect/intentions', { SourceName: r.prefix + this.src, DestinationName: this.dst, Action: this.action });
    const key = `${r.prefix + this.src}>${this.dst}`;
    if (m.has(key)) assert.equal(res.status, 409, res.text);
    else {
      assert.equal(res.status, 200, res.text);
      m.set(key, this.action);
    }
    if (this.dc === 'dc1') assert.deepEqual(sorted(await actual(r, 'dc1')), sorted(m), 'read-your-writes at the primary');
  }
  toString = () => `create@${this.dc}(${this.src}>${this.dst} ${this.action})`;
}

class Upsert implements fc.AsyncCommand<Model, Real> {
  constructor(readonly dc: string, readonly src: string, readonly dst: string, readonly action: 'allow' | 'deny') {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    trace(this);
    const res = await http(r.cluster.agent(this.dc).httpUrl, 'PUT', `/v1/connect/intentions/exact?source=${r.prefix + this.src}&destination=${this.dst}`, { Action: this.action });
    assert.equal(res.status, 200, res.text);
    m.set(`${r.prefix + this.src}>${this.dst}`, this.action);
  }
  toString = () => `upsert@${this.dc}(${this.src}>${this.dst} ${this.action})`;
}

class Delete implements fc.AsyncCommand<Model, Real> {
  constructor(readonly dc: string, readonly src: string, readonly dst: string) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    trace(this);
    const res = await http(r.cluster.agent(this.dc).httpUrl, 'DELETE', `/v1/connect/intentions/exact?source=${r.prefix + this.src}&destination=${this.dst}`);
    assert.equal(res.status, 200, res.text);
    m.delete(`${r.prefix + this.src}>${this.dst}`);
  }
  toString = () => `delete@${this.dc}(${this.src}>${this.dst})`;
}

/** Replication: the secondary catches up and holds exactly the model. */
class Replicate implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    trace(this);
    const primary = r.cluster.agent('dc1').view.appliedSeq();
    await waitFor(() => r.cluster.agent('dc2').view.appliedSeq() >= primary || undefined);
    assert.deepEqual(sorted(await actual(r, 'dc2')), sorted(m));
  }
  toString = () => 'replicate';
}

/** An agent restart (on the same data directory): nothing acknowledged is lost. */
class Restart implements fc.AsyncCommand<Model, Real> {
  constructor(readonly dc: string) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    trace(this);
    await r.cluster.restartAgent(this.dc);
    if (this.dc === 'dc1') assert.deepEqual(sorted(await actual(r, 'dc1')), sorted(m));
  }
  toString = () => `restart(${this.dc})`;
}

describe('model-based: the intention store against an in-memory model (create, update, delete, replicate, restart)', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
  });
  after(async () => {
    await cluster.stop();
  });

  it('every random sequence of commands leaves every datacenter equal to the model', async () => {
    const dc = fc.constantFrom('dc1', 'dc2');
    const src = fc.constantFrom('a', 'b', 'c');
    const dst = fc.constantFrom('x', 'y');
    const action = fc.constantFrom<'allow' | 'deny'>('allow', 'deny');
    const commands = [
      fc.tuple(dc, src, dst, action).map(([d, s, t, a]) => new Create(d, s, t, a)),
      fc.tuple(dc, src, dst, action).map(([d, s, t, a]) => new Upsert(d, s, t, a)),
      fc.tuple(dc, src, dst).map(([d, s, t]) => new Delete(d, s, t)),
      fc.constant(new Replicate()),
      fc.constantFrom('dc1', 'dc2').map((d) => new Restart(d)),
    ];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 14 }), async (cmds) => {
        const real: Real = { cluster, prefix: `m${++run}-` };
        const model: Model = new Map();
        if (process.env.MODEL_DEBUG) process.stderr.write(`run ${run}\n`);
        await fc.asyncModelRun(() => ({ model, real }), [...cmds, new Replicate()]);
      }),
      // No shrinking: every run restarts agents; the failing sequence is printed as it ran.
      { numRuns, endOnFailure: true },
    );
  });
});
