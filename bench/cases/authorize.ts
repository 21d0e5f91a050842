import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { open } from 'lmdb';
import { openView } from '../../src/view/index.js';
import { authorize, intentionPrecedence, matchIntentions } from '../../src/intentions/index.js';
import { silentLogger } from '../../src/common/index.js';
import type { StoredEvent } from '../../src/events/index.js';
import { opsPerSecond, result, type BenchContext, type BenchResult } from '../lib.js';

/**
 * authorize.ops_per_s: POST /v1/agent/connect/authorize's decision in-process (SPIFFE URI parse,
 * precedence lookups, reason text) against 100,000 intentions over 10,000 destination services in
 * a real view (issue 9's scale). Baseline: raw LMDB gets from a store of the same size.
 * match.ops_per_s: GET /v1/connect/intentions/match's answer for one name, through the view's name
 * index; baseline: the same answer by scanning every intention (how it was computed before).
 */
export async function benchAuthorize(ctx: BenchContext): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-authz-'));
  try {
    const count = 100_000;
    const services = 10_000;
    const view = openView({ path: join(dir, 'view'), logger: silentLogger() });
    const events: StoredEvent[] = [];
    for (let i = 0; i < count; i++) {
      const pair = { SourceNS: 'default', SourceName: i % 10 === 0 ? '*' : `web-${i}`, DestinationNS: 'default', DestinationName: `svc-${i % services}` };
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
    const targets = Array.from({ length: 1024 }, (_, i) => `svc-${(i * 104729) % services}`);
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

    let matched = 0;
    let m = 0;
    const matchRate = await opsPerSecond(ctx.seconds, () => {
      for (let j = 0; j < 100; j++, m++) matched += matchIntentions(view, 'destination', targets[m & 1023]!).length;
      return 100;
    });
    const scanRate = await opsPerSecond(Math.min(ctx.seconds, 2), () => {
      matched += matchIntentions(view.intentions(), 'destination', targets[m++ & 1023]!).length;
      return 1;
    });
    ctx.log(`match: ${matched} rows matched`);
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
    return [
      result('authorize.ops_per_s', rate, 'ops/s', raw, { target: '>= 500,000', note: '100,000 intentions, 10,000 services; baseline raw LMDB get' }),
      result('match.ops_per_s', matchRate, 'ops/s', scanRate, { note: '100,000 intentions; baseline: a scan of every intention (before the name index)' }),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
