// `npm run bench [-- --quick] [-- --json FILE] [-- --only NAME,…]`: every figure with the raw
// baseline measured in the same run and their ratio.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatTable, type BenchContext, type BenchResult } from './lib.js';
import { benchAppend } from './cases/append.js';
import { benchProjection } from './cases/projection.js';
import { benchReplication } from './cases/replication.js';
import { benchApi } from './cases/api.js';
import { benchAuthorize } from './cases/authorize.js';
import { benchLeafSign } from './cases/leaf-sign.js';
import { benchCsrSign } from './cases/csr-sign.js';
import { benchProxy } from './cases/proxy.js';
import { benchBootstrap } from './cases/bootstrap.js';

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
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string' },
    seconds: { type: 'string' },
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
for (const name of selected) {
  const run = CASES[name];
  if (!run) continue;
  process.stderr.write(`[bench] ${name}…\n`);
  const ctx: BenchContext = { quick, seconds, log: (m) => process.stderr.write(`[bench] ${name}: ${m}\n`) };
  results.push(...(await run(ctx)));
}

console.log(formatTable(results));
if (values.json) {
  writeFileSync(values.json, `${JSON.stringify({ results: results.map(({ name, value, unit, baseline, ratio }) => ({ name, value, unit, baseline, ratio })) }, null, 2)}\n`);
  console.log(`wrote ${values.json}`);
}
process.exit(0);
