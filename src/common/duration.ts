import { TrellisError } from './errors.js';

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration string as Consul accepts them (`10s`, `1m30s`, `250ms`, `72h`).
 * Like Go's time.ParseDuration, a number needs a unit (only "0" may stand alone).
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  if (trimmed.length === 0) throw new TrellisError('E_VALIDATION', `invalid duration "${text}"`);
  while (pos < trimmed.length) {
    re.lastIndex = pos;
    const m = re.exec(trimmed);
    if (!m) throw new TrellisError('E_VALIDATION', `invalid duration "${text}"`);
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
    pos = re.lastIndex;
  }
  return total;
}

/** Formats milliseconds the way Go prints a time.Duration (`72h0m0s`, `1m30s`, `500ms`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const totalSeconds = ms / 1000;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds - h * 3600) / 60);
  const s = totalSeconds - h * 3600 - m * 60;
  const sText = `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')}s`;
  if (h > 0) return `${h}h${m}m${sText}`;
  if (m > 0) return `${m}m${sText}`;
  return sText;
}
