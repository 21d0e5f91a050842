import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findNatsServer } from '../../../src/natsd/index.js';
import { packageRoot } from '../../../src/common/index.js';

describe('the nats-server configurations in deploy/', () => {
  const dir = join(packageRoot(), 'deploy', 'nats');
  const files = readdirSync(dir).filter((f) => f.endsWith('.conf'));

  it('exist for the hub and a leaf', () => {
    assert.deepEqual(files.sort(), ['hub.conf', 'leaf.conf']);
  });

  for (const file of files) {
    it(`${file} passes nats-server -t and names its JetStream domain and ping interval`, () => {
      const check = spawnSync(findNatsServer(process.env), ['-c', join(dir, file), '-t'], { encoding: 'utf8' });
      assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
      assert.match(`${check.stdout}${check.stderr}`, /is valid/);
      const text = readFileSync(join(dir, file), 'utf8');
      assert.match(text, /^\s*domain: "dc\d"/m, 'JetStream domain = datacenter name');
      assert.match(text, /^ping_interval: "10s"/m, 'a dead WAN link noticed in ~30 s, not ~6 min');
    });
  }
});
