import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startFaultCluster } from './cluster.js';
import { FAULTS } from './nemesis.js';
import { check, waitForConvergence, type CheckResult } from './checker.js';
import { runWorkload, type CaRecord, type WriteRecord } from './workload.js';

export interface FaultRunOptions {
  readonly rounds: number;
  readonly seed: number;
  readonly datacenters: number;
  /** How long writes are started in each round. */
  readonly roundMs: number;
  /** How long a fault lasts. */
  readonly faultMs: number;
  readonly clients: number;
  readonly log: (line: string) => void;
}

export interface RoundReport {
  readonly round: number;
  readonly fault: string;
  readonly target: string;
  readonly writes: number;
  readonly acked: number;
  readonly convergeMs: number;
}

export interface FaultReport extends CheckResult {
  readonly machine: { readonly cpus: number; readonly node: string };
  readonly options: Omit<FaultRunOptions, 'log'>;
  readonly rounds: readonly RoundReport[];
  readonly convergeMs: { readonly p50: number; readonly max: number };
  readonly lostTotal: number;
  readonly reorderedTotal: number;
  readonly passed: boolean;
}

/** mulberry32: a small seeded generator, so a failing run can be replayed with its --seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs the workload against real processes while the nemesis injects one fault per round, heals,
 * measures convergence, and finally checks every datacenter: nothing acknowledged lost, nothing
 * applied twice, every log in the primary's order, every view equal to a replay of its stream.
 */
export async function runFaults(o: FaultRunOptions): Promise<FaultReport> {
  const random = seeded(o.seed);
  const dir = mkdtempSync(join(tmpdir(), 'trellis-faults-'));
  const datacenters = Array.from({ length: o.datacenters }, (_, i) => `dc${i + 1}`);
  const cluster = await startFaultCluster({ datacenters, dir, tmpfsFor: datacenters.slice(-1) });
  const writes: WriteRecord[] = [];
  const ca: CaRecord[] = [];
  const rounds: RoundReport[] = [];
  try {
    const applicable = FAULTS.filter((f) => f.applicable(cluster));
    o.log(`${datacenters.join(', ')} up (${dir}); ${applicable.length} kinds of fault${cluster.tmpfs.size === 0 ? ' (no tmpfs here: the full-disk fault is skipped)' : ''}`);
    const urls = new Map(datacenters.map((dc) => [dc, cluster.url(dc)]));
    for (let round = 1; round <= o.rounds; round++) {
      const fault = applicable[(round - 1) % applicable.length]!;
      const secondaries = datacenters.slice(1);
      const picked = secondaries[Math.floor(random() * secondaries.length)] ?? cluster.primary;
      const target = fault.target ? fault.target(cluster) : picked;
      const load = runWorkload({ urls, primary: cluster.primary, round, clients: o.clients, durationMs: o.roundMs, giveUpMs: o.roundMs + o.faultMs + 20_000, random });
      await new Promise((r) => setTimeout(r, Math.floor(o.roundMs / 4)));
      const heal = await fault.inject(cluster, target);
      await new Promise((r) => setTimeout(r, o.faultMs));
      await heal();
      const done = await load;
      // Measured once every write of the round settled: the time the datacenters need to agree.
      const convergeMs = await waitForConvergence(cluster);
      writes.push(...done.writes);
      ca.push(...done.ca);
      const report: RoundReport = { round, fault: fault.name, target, writes: done.writes.length, acked: done.writes.filter((w) => w.acked).length, convergeMs };
      rounds.push(report);
      o.log(`round ${String(round).padStart(2)}: ${fault.name}${fault.target || fault.name.includes('secondary') || fault.name.includes('leaf') ? ` (${target})` : ''}: ${report.acked}/${report.writes} writes acknowledged, converged ${convergeMs} ms after the workload`);
    }
    const result = await check(cluster, writes, ca, join(dir, 'replays'));
    const sorted = rounds.map((r) => r.convergeMs).sort((a, b) => a - b);
    const lostTotal = Object.values(result.lost).reduce((n, l) => n + l.length, 0);
    const reorderedTotal = Object.values(result.reordered).reduce((n, k) => n + k, 0);
    const passed = lostTotal === 0 && result.duplicated.length === 0 && reorderedTotal === 0 && Object.keys(result.divergent).length === 0;
    const { log: _log, ...options } = o;
    return {
      ...result,
      machine: { cpus: cpus().length, node: process.version },
      options,
      rounds,
      convergeMs: { p50: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0, max: sorted[sorted.length - 1] ?? 0 },
      lostTotal,
      reorderedTotal,
      passed,
    };
  } finally {
    await cluster.stop();
  }
}

export function summarize(r: FaultReport): string {
  const lines = [
    `fault rounds:            ${r.rounds.length} (${new Set(r.rounds.map((x) => x.fault)).size} kinds), seed ${r.options.seed}`,
    `writes:                  ${r.writes} (${r.acked} acknowledged), ${r.caChanges} CA changes (${r.caAcked} acknowledged), ${r.events} events in the log`,
    `acknowledged lost:       ${r.lostTotal}${r.lostTotal ? ` ${JSON.stringify(r.lost)}` : ''}`,
    `applied twice:           ${r.duplicated.length}${r.duplicated.length ? ` ${r.duplicated.slice(0, 10).join(', ')}` : ''}`,
    `out of primary's order:  ${r.reorderedTotal}${r.reorderedTotal ? ` ${JSON.stringify(r.reordered)}` : ''}`,
    `view ≠ replay:           ${Object.keys(r.divergent).length}${Object.keys(r.divergent).length ? ` ${JSON.stringify(r.divergent)}` : ''}`,
    `converged after heal:    p50 ${r.convergeMs.p50} ms, max ${r.convergeMs.max} ms`,
    r.passed ? 'PASSED' : 'FAILED',
  ];
  return `${lines.join('\n')}\n`;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('test/faults/run.ts')) {
  const started = Date.now();
  const options = {
    rounds: arg('rounds', 22),
    seed: arg('seed', Math.floor(Math.random() * 1e9)),
    datacenters: arg('datacenters', 3),
    roundMs: arg('round-ms', 3000),
    faultMs: arg('fault-ms', 2000),
    clients: arg('clients', 4),
    log: (line: string) => process.stdout.write(`${line}\n`),
  };
  runFaults(options).then(
    (report) => {
      const out = resolve(process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1]! : 'faults-report.json');
      mkdirSync(join(out, '..'), { recursive: true });
      writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
      const summary = summarize(report);
      writeFileSync(out.replace(/\.json$/, '.txt'), summary);
      process.stdout.write(`\n${summary}report: ${out} (${Math.round((Date.now() - started) / 1000)} s)\n`);
      process.exit(report.passed ? 0 : 1);
    },
    (err: unknown) => {
      process.stderr.write(`fault suite failed to run: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(2);
    },
  );
}
