import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { open } from 'lmdb';
import { openView } from '../../src/view/index.js';
import { authorize, intentionPrecedence } from '../../src/intentions/index.js';
import { silentLogger } from '../../src/common/index.js';
import type { StoredEvent } from '../../src/events/index.js';
import { opsPerSecond, result, type BenchContext, type BenchResult } from '../lib.js';

/**
 * authorize.ops_per_s: POST /v1/agent/connect/authorize's decision in-process (SPIFFE URI parse,
 * precedence lookups, reason text) against 10,000 intentions in a real view. Baseline: raw LMDB
 * gets of the same number of keys from the same kind of store.
 */
export async function benchAuthorize(ctx: BenchContext): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-authz-'));
  try {
    const count = 10_000;
    const view = openView({ path: join(dir, 'view'), logger: silentLogger() });
    const events: StoredEvent[] = [];
    for (let i = 0; i < count; i++) {
      const pair = { SourceNS: 'default', SourceName: i % 10 === 0 ? '*' : `web-${i}`, DestinationNS: 'default', DestinationName: `svc-${i % 2000}` };
      events.push({
        seq: i + 1,
        event: {
          v: 1,
          type: 'IntentionCreated',
          at: 0,
          by: 'bench',
          data: {
            intention: {
              ID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
              ...pair,
              SourceType: 'consul',
              Action: i % 3 ? 'allow' : 'deny',
              Description: '',
              Meta: {},
              Precedence: intentionPrecedence(pair),
              CreatedAt: 0,
              UpdatedAt: 0,
            },
          },
        },
      });
    }
    await view.applyBatch(events);
    const uris = Array.from({ length: 1024 }, (_, i) => `spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web-${(i * 7919) % count}`);
    const targets = Array.from({ length: 1024 }, (_, i) => `svc-${(i * 104729) % 2000}`);
    let k = 0;
    let allowed = 0;
    const rate = await opsPerSecond(ctx.seconds, () => {
      for (let j = 0; j < 1000; j++, k++) {
        const r = authorize(view, { Target: targets[k & 1023], ClientCertURI: uris[(k >> 3) & 1023] }, { defaultAllow: false });
        if (r.Authorized) allowed++;
      }
      return 1000;
    });
    ctx.log(`authorize: ${allowed} allowed of ${k}`);
    await view.close();

    // Baseline: raw LMDB reads of small values from a store of the same size.
    const env = open({ path: join(dir, 'raw'), encoding: 'msgpack' });
    await env.transaction(() => {
      for (let i = 0; i < count; i++) void env.put(`k${i}`, { a: i, b: 'allow' });
    });
    let sum = 0;
    let n = 0;
    const raw = await opsPerSecond(ctx.seconds, () => {
      for (let j = 0; j < 1000; j++, n++) sum += (env.get(`k${(n * 7919) % count}`) as { a: number } | undefined)?.a ?? 0;
      return 1000;
    });
    ctx.log(`lmdb checksum ${sum}`);
    await env.close();
    return [result('authorize.ops_per_s', rate, 'ops/s', raw, { target: '>= 500,000' })];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
