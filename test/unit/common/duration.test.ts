import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration, isTrellisError } from '../../../src/common/index.js';

describe('Go durations', () => {
  it('parses the forms Consul accepts', () => {
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('72h'), 72 * 3_600_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('0'), 0);
  });

  it('refuses what Go would refuse', () => {
    for (const bad of ['', 'abc', '10', '10x', 's', '-5s', '1m 2s']) {
      assert.throws(() => parseDuration(bad), (err) => isTrellisError(err, 'E_VALIDATION'), bad);
    }
  });

  it('formats as Go prints a time.Duration', () => {
    assert.equal(formatDuration(72 * 3_600_000), '72h0m0s');
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(500), '500ms');
    assert.equal(formatDuration(0), '0s');
  });
});
