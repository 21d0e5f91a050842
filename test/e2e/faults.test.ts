import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runFaults, summarize } from '../faults/run.js';
import { FAULTS } from '../faults/nemesis.js';

/** The short form of `npm run test:faults`: one round of every kind of fault, and the checker. */
describe('fault suite, short form (npm run test:faults runs the long one)', () => {
  it('one round of each fault: nothing acknowledged lost, nothing applied twice, same order everywhere, views equal replays', async () => {
    const lines: string[] = [];
    const report = await runFaults({ rounds: FAULTS.length, seed: 20261130, datacenters: 3, roundMs: 1500, faultMs: 1500, clients: 3, log: (l) => lines.push(l) });
    const summary = summarize(report);
    process.stdout.write(`${lines.join('\n')}\n${summary}`);
    assert.ok(report.acked > 0, 'the workload wrote');
    assert.equal(report.lostTotal, 0, summary);
    assert.deepEqual(report.duplicated, [], summary);
    assert.equal(report.reorderedTotal, 0, summary);
    assert.deepEqual(report.divergent, {}, summary);
    assert.ok(report.passed);
  });
});
