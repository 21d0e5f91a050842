/** One figure of `npm run bench`: the measured value, the raw baseline measured in the same run, their ratio. */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The raw NATS / LMDB / crypto figure this one is compared with (null when there is none). */
  readonly baseline: number | null;
  /** value / baseline (for latencies, higher means slower than raw). */
  readonly ratio: number | null;
  /** The target, as text, for the table. */
  readonly target?: string;
  readonly note?: string;
}

export interface BenchContext {
  readonly quick: boolean;
  /** Seconds each measurement runs for. */
  readonly seconds: number;
  log(message: string): void;
}

export function result(name: string, value: number, unit: string, baseline: number | null, extra: { target?: string; note?: string } = {}): BenchResult {
  const ratio = baseline && baseline !== 0 ? value / baseline : null;
  return { name, value, unit, baseline, ratio, ...extra };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

/** Runs `step` repeatedly for `seconds` (at least `minOps` times); returns operations per second. */
export async function opsPerSecond(seconds: number, step: () => Promise<number> | number, minOps = 1): Promise<number> {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let ops = 0;
  while (performance.now() < deadline || ops < minOps) ops += await step();
  return ops / ((performance.now() - start) / 1000);
}

function fmt(n: number | null): string {
  if (n === null || Number.isNaN(n)) return '-';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(3);
}

export function formatTable(results: readonly BenchResult[]): string {
  const rows = [['figure', 'value', 'unit', 'baseline', 'ratio', 'target'], ...results.map((r) => [r.name, fmt(r.value), r.unit, fmt(r.baseline), r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`, r.target ?? ''])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  return rows.map((row) => row.map((cell, c) => (c === 0 || c === 2 || c === 5 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}
