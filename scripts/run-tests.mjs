// Runs node's test runner over every *.test.ts below the given folders (Node 20's runner takes no globs).
// Usage: node scripts/run-tests.mjs [--serial] DIR...
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const serial = args.includes('--serial');
const dirs = args.filter((a) => !a.startsWith('--'));

function collect(dir) {
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) return dir.endsWith('.test.ts') ? [dir] : [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const files = dirs.flatMap(collect);
if (files.length === 0) {
  console.error(`no test files under ${dirs.join(', ')}`);
  process.exit(1);
}
// A hung test fails after 4 minutes, and a file whose tests are done exits even if something it
// started is still open: CI reports a failure instead of waiting forever.
const nodeArgs = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=240000', '--test-force-exit'];
if (serial) nodeArgs.push('--test-concurrency=1');
const r = spawnSync(process.execPath, [...nodeArgs, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
