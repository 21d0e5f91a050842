// `npm run bench [-- --quick] [-- --json FILE] [-- --only NAME,…]`: every figure with the raw
// baseline measured in the same run and their ratio.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { formatTable, renderReport, type BenchContext, type BenchResult } from './lib.js';
import { plotSvg, type BenchSeries } from './plot.js';
import { findNatsServer } from '../src/natsd/index.js';
import { packageRoot } from '../src/common/index.js';
import { benchAppend } from './cases/append.js';
import { benchProjection } from './cases/projection.js';
import { benchReplication } from './cases/replication.js';
import { benchApi } from './cases/api.js';
import { benchAuthorize } from './cases/authorize.js';
import { benchLeafSign } from './cases/leaf-sign.js';
import { benchCsrSign } from './cases/csr-sign.js';
import { benchProxy } from './cases/proxy.js';
import { benchBootstrap } from './cases/bootstrap.js';
import { benchScale } from './cases/scale.js';

const CASES: Record<string, (ctx: BenchContext) => Promise<BenchResult[]>> = {
  append: benchAppend,
  projection: benchProjection,
  replication: benchReplication,
  api: benchApi,
  authorize: benchAuthorize,
  'leaf-sign': benchLeafSign,
  'csr-sign': benchCsrSign,
  proxy: benchProxy,
  bootstrap: benchBootstrap,
  scale: benchScale,
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string' },
    seconds: { type: 'string' },
    report: { type: 'boolean', default: false },
  },
});

const quick = values.quick ?? false;
const seconds = values.seconds ? Number(values.seconds) : quick ? 2 : 8;
const selected = values.only ? values.only.split(',') : Object.keys(CASES);
const unknown = selected.filter((name) => !(name in CASES));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}: choose from ${Object.keys(CASES).join(', ')}`);
  process.exit(2);
}

const results: BenchResult[] = [];
const plots: BenchSeries[] = [];
for (const name of selected) {
  const run = CASES[name];
  if (!run) continue;
  process.stderr.write(`[bench] ${name}…\n`);
  const ctx: BenchContext = { quick, seconds, log: (m) => process.stderr.write(`[bench] ${name}: ${m}\n`), series: (s) => plots.push(s) };
  results.push(...(await run(ctx)));
}

console.log(formatTable(results));
if (values.json) {
  writeFileSync(values.json, `${JSON.stringify({ results: results.map(({ name, value, unit, baseline, ratio }) => ({ name, value, unit, baseline, ratio })) }, null, 2)}\n`);
  console.log(`wrote ${values.json}`);
}
if (values.report) {
  let natsServer = 'unknown';
  try {
    natsServer = execFileSync(findNatsServer(process.env), ['--version'], { encoding: 'utf8' }).trim().replace(/^nats-server:\s*/, '');
  } catch {
    // reported as unknown
  }
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, natsServer };
  const path = join(packageRoot(), 'docs', 'BENCHMARKS.md');
  const plotDir = join(packageRoot(), 'docs', 'bench');
  mkdirSync(plotDir, { recursive: true });
  for (const p of plots) writeFileSync(join(plotDir, `${p.name}.svg`), await plotSvg(p));
  writeFileSync(path, renderReport(results, machine, new Date(), quick, plots));
  console.log(`wrote ${path}`);
}
process.exit(0);
