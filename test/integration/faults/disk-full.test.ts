import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { startCluster, http, type TestCluster } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { makeTempDir } from '../../helpers/temp.js';
import { openView, type View } from '../../../src/view/index.js';
import { createProjector } from '../../../src/projector/index.js';
import { silentLogger } from '../../../src/common/index.js';

/**
 * Fault "a secondary's data directory is full" (found by npm run test:faults once the view began
 * committing synchronously): the write error halted the projector for good, and the secondary
 * never converged after the disk was freed. A storage error now applies nothing and the projector
 * takes the events again from its checkpoint until the disk takes the write. The disk here is a
 * real LMDB view whose writes fail as a full disk fails them (the fault suite fills a real tmpfs).
 */
describe('fault: the disk refuses the view\'s writes for a while', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ datacenters: ['dc1', 'dc2'] });
    for (let i = 0; i < 10; i++) await http(cluster.agent('dc1').httpUrl, 'PUT', `/v1/connect/intentions/exact?source=full-${i}&destination=db`, { Action: 'allow' });
  });
  after(async () => {
    await cluster.stop();
  });

  it('nothing is applied while writes fail, the projector does not halt, and it catches up once they succeed', async () => {
    const real = openView({ path: join(makeTempDir(), 'view'), logger: silentLogger() });
    let full = true;
    let refused = 0;
    const disk: View = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'applyBatch') {
          return (events: Parameters<View['applyBatch']>[0]) => {
            if (full) {
              refused++;
              return Promise.reject(Object.assign(new Error('No space left on device: Attempting to write page'), { code: 'ENOSPC' }));
            }
            return target.applyBatch(events);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const projector = createProjector({ js: jetstream(cluster.agent('dc2').nc, { domain: 'dc2' }), view: disk, logger: silentLogger(), retryDelayMs: 50 });
    projector.start();
    await waitFor(() => refused >= 3 || undefined);
    assert.equal(real.appliedSeq(), 0, 'nothing applied while the disk is full');
    assert.equal(projector.status().halted, false, 'a full disk is not a reason to halt');
    full = false;
    const head = cluster.agent('dc1').view.appliedSeq();
    await waitFor(() => real.appliedSeq() >= head || undefined);
    assert.deepEqual(real.tableDigests(), cluster.agent('dc2').view.tableDigests(), 'the same view as the agent\'s');
    await projector.stop();
    await real.close();
  });
});
